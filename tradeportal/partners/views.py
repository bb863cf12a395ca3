"""Registering a partner, its letter and code, joining one, choosing the partner acted for."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..access import signed_in
from ..auth.views import safe_next
from ..extensions import db, limiter
from ..htmx import is_partial, render_page_or_partial
from . import bp
from . import services as svc
from .forms import AccessRequestForm, ChooseForm, ConfirmForm, JoinSearchForm, ManualEntryForm, RedeemForm, SearchForm, TakeOverForm
from .letters import LetterError, letters_left, live_letter, redeem_code, request_new_letter
from .models import Partner, PartnerKind, PartnerStatus, RegisterEntry
from .resolver import active_memberships, acting_membership, set_acting_for


def _locale() -> str:
    return str(get_locale() or "fr")


@bp.get("/partners")
@signed_in
def index():
    return render_template(
        "partners/index.html", memberships=svc.memberships_of(current_user),
        registrations=svc.registrations_of(current_user), requests=svc.access_requests_of(current_user),
    )


@bp.route("/partners/choose", methods=["GET", "POST"])
@signed_in
def choose():
    memberships = active_memberships(current_user)
    form = ChooseForm()
    form.partner.choices = [(m.partner_id, m.partner.name) for m in memberships]
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        current = acting_membership(current_user)
        form.partner.data = current.partner_id if current else None
    if form.validate_on_submit():
        set_acting_for(form.partner.data)
        name = dict(form.partner.choices)[form.partner.data]
        flash(_("You now act for %(partner)s.", partner=name), "success")
        return redirect(safe_next(form.next.data) or url_for("dashboard.index"))
    status = 422 if form.errors else 200
    return render_template("partners/choose.html", form=form, memberships=memberships), status


# --- registration --------------------------------------------------------------------------------

@bp.get("/partners/register")
@signed_in
def register():
    form = SearchForm(request.args)
    result = svc.SearchResult()
    if form.validate():
        result = svc.search_register(form.q.data, form.legal_form.data, form.postcode.data, form.town.data)
    announce = None
    if result.searched:
        if result.more:
            announce = _("More than %(count)s companies found. Refine your search.", count=len(result.entries))
        elif result.entries:
            announce = _("Companies found: %(count)s.", count=len(result.entries))
        else:
            announce = _("No company found.")
    advanced = bool(form.legal_form.data or form.postcode.data or form.town.data or request.args.get("advanced"))
    # The fragment puts `live_announce` into the live region itself (render_page_or_partial's
    # `announce` escapes the fragment it is added to; reported to the lead).
    return render_page_or_partial("partners/register.html", "partners/_search_results.html", live_announce=announce,
                                  partial=is_partial(), form=form, result=result, advanced=advanced)


def _already_registered(partner: Partner | None):
    return render_template("partners/already_registered.html", partner=partner), 409


@bp.route("/partners/register/take-over/<int:entry_id>", methods=["GET", "POST"])
@signed_in
def take_over(entry_id: int):
    entry = db.session.get(RegisterEntry, entry_id) or abort(404)
    existing = db.session.execute(select(Partner).where(Partner.registration_key == entry.identifier)).scalar_one_or_none()
    if existing is not None:
        return _already_registered(existing)
    head = None
    if entry.is_branch:
        head = db.session.execute(select(RegisterEntry).where(RegisterEntry.identifier == entry.head_office_identifier)).scalar_one_or_none()
    form = TakeOverForm()
    if request.method == "GET":
        form.locale.data = _locale()
    if form.validate_on_submit():
        try:
            partner = svc.register_from_entry(current_user, entry, form.locale.data)
        except svc.RegistrationError as error:
            db.session.rollback()
            return _already_registered(error.partner)
        except LetterError:
            db.session.rollback()
            form.form_errors.append(_("The head office of this branch is not in the company register. Contact us."))
        else:
            db.session.commit()
            flash(_("%(partner)s is registered. A verification letter with a one-time code will be sent by post.",
                    partner=partner.name), "success")
            return redirect(url_for("partners.registration", partner_id=partner.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("partners/take_over.html", form=form, entry=entry, head=head), status


@bp.route("/partners/register/manual", methods=["GET", "POST"])
@signed_in
def manual():
    form = ManualEntryForm()
    if request.method == "GET":
        form.locale.data = _locale()
        form.name.data = request.args.get("name", "")[:200]
        if request.args.get("kind") in PartnerKind.ALL:
            form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            partner = svc.register_manual(current_user, form.data_for_service())
        except svc.RegistrationError as error:
            db.session.rollback()
            if error.partner is not None:
                return _already_registered(error.partner)
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Thank you. The agency checks your entry before it sends the verification letter."), "success")
            return redirect(url_for("partners.registration", partner_id=partner.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("partners/manual.html", form=form), status


@bp.get("/partners/<int:partner_id>/registration")
@signed_in
def registration(partner_id: int):
    partner = svc.claimable_partner_or_404(current_user, partner_id)
    if partner.status == PartnerStatus.ACTIVE and svc.is_member(current_user, partner):
        return redirect(url_for("partners.profile", partner_id=partner.id))
    return render_template(
        "partners/registration.html", partner=partner, letter=live_letter(partner),
        letters_left=letters_left(partner), form=ConfirmForm(), is_registrant=partner.registered_by_id == current_user.id,
    )


@bp.route("/partners/<int:partner_id>/registration/edit", methods=["GET", "POST"])
@signed_in
def edit_registration(partner_id: int):
    partner = svc.claimable_partner_or_404(current_user, partner_id)
    if not (partner.is_manual and partner.status == PartnerStatus.AWAITING_CHECK and partner.registered_by_id == current_user.id):
        abort(404)
    form = ManualEntryForm(obj=partner)
    if request.method == "GET":
        form.attest.data = False
    if form.validate_on_submit():
        try:
            svc.update_manual_entry(current_user, partner, form.data_for_service())
        except svc.RegistrationError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("partners.registration", partner_id=partner.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("partners/manual.html", form=form, partner=partner), status


@bp.post("/partners/<int:partner_id>/letters")
@signed_in
@limiter.limit("5/hour", methods=["POST"])
def new_letter(partner_id: int):
    partner = svc.claimable_partner_or_404(current_user, partner_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            request_new_letter(current_user, partner)
        except LetterError as error:
            db.session.rollback()
            if str(error) == "limit":
                flash(_("At most 3 letters can be sent in 30 days. Contact us if you need another one."), "warning")
            else:
                flash(_("No letter can be requested for this business partner now."), "warning")
        else:
            db.session.commit()
            flash(_("A new verification letter will be sent by post. The code of the previous letter no longer works."), "success")
    return redirect(url_for("partners.registration", partner_id=partner.id))


@bp.route("/partners/<int:partner_id>/code", methods=["GET", "POST"])
@signed_in
@limiter.limit("10/minute;30/hour", methods=["POST"])
def redeem(partner_id: int):
    partner = svc.claimable_partner_or_404(current_user, partner_id)
    if partner.status != PartnerStatus.LETTER_PENDING or partner.is_suspended:
        return redirect(url_for("partners.registration", partner_id=partner.id))
    form = RedeemForm()
    if form.validate_on_submit():
        outcome = redeem_code(current_user, partner, form.code.data)
        db.session.commit()  # a wrong code counts even though the page shows an error
        if outcome.outcome == "redeemed":
            set_acting_for(partner.id)
            flash(_("You are now the administrator of %(partner)s.", partner=partner.name), "success")
            return redirect(url_for("partners.profile", partner_id=partner.id))
        if outcome.outcome == "wrong" and outcome.attempts_left:
            form.code.errors.append(_("The code is not right. Check it against the letter. Attempts left: %(count)s.",
                                      count=outcome.attempts_left))
        elif outcome.outcome == "used":
            form.form_errors.append(_("This code has already been used."))
        else:
            form.form_errors.append(_("No valid one-time code exists for this business partner any more. Request a new letter."))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("partners/redeem.html", form=form, partner=partner), status


# --- joining an employer ------------------------------------------------------------------------

@bp.get("/partners/join")
@signed_in
def join():
    form = JoinSearchForm(request.args)
    results = svc.search_partners_to_join(form.q.data) if form.validate() and form.q.data else []
    announce = None
    if form.q.data:
        announce = _("Business partners found: %(count)s.", count=len(results)) if results else _("No business partner found.")
    return render_page_or_partial("partners/join.html", "partners/_join_results.html", live_announce=announce,
                                  partial=is_partial(), form=form, results=results)


@bp.route("/partners/join/ask", methods=["GET", "POST"])
@signed_in
def join_ask():
    partner = svc.joinable_partner_or_404(request.values.get("partner", type=int))
    form = AccessRequestForm()
    form.partner.data = str(partner.id)
    if form.validate_on_submit():
        try:
            svc.ask_to_join(current_user, partner, form.reason.data)
        except svc.RegistrationError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Your request to join %(partner)s is sent. You will get an e-mail with the answer.",
                    partner=partner.name), "success")
            return redirect(url_for("partners.index"))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("partners/join_ask.html", form=form, partner=partner), status


@bp.post("/partners/requests/<int:request_id>/withdraw")
@signed_in
def withdraw_request(request_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        svc.withdraw_access_request(current_user, request_id)
        db.session.commit()
        flash(_("Your access request is withdrawn."), "success")
    return redirect(url_for("partners.index"))
