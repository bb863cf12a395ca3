"""Pages of one partner (profile, activity, members) and accepting an invitation."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..access import partner_admin, partner_member, public, signed_in
from ..audit import AuditEvent
from ..extensions import db
from ..pagination import paginate
from . import bp, members as svc
from .forms import ConfirmForm, DecisionForm, InviteForm, RoleForm
from .models import AccessRequest, Invitation, Membership, Partner, PartnerStatus
from .resolver import get_for_partner_or_404, set_acting_for


# What the activity history says for the events of this area; other areas' events show their code.
ACTIVITY_LABELS = {
    "partners.registered": _l("Business partner registered"),
    "partners.letter_queued": _l("Verification letter requested"),
    "partners.letter_posted": _l("Verification letter posted"),
    "partners.code_wrong": _l("Wrong one-time code entered"),
    "partners.code_redeemed": _l("One-time code used: administrator named"),
    "partners.manual_entry_changed": _l("Manual entry changed"),
    "partners.manual_entry_verified": _l("Manual entry confirmed by the agency"),
    "partners.manual_entry_rejected": _l("Manual entry rejected by the agency"),
    "partners.suspended": _l("Suspended by the agency"),
    "partners.reactivated": _l("Suspension lifted by the agency"),
    "partners.member_role_changed": _l("Role of a member changed"),
    "partners.member_removed": _l("Member removed"),
    "partners.member_left": _l("Member left"),
    "partners.invitation_sent": _l("Invitation sent"),
    "partners.invitation_withdrawn": _l("Invitation withdrawn"),
    "partners.invitation_accepted": _l("Invitation accepted"),
    "partners.access_requested": _l("Access requested"),
    "partners.access_request_approved": _l("Access request approved"),
    "partners.access_request_refused": _l("Access request refused"),
    "partners.access_request_withdrawn": _l("Access request withdrawn"),
}


@bp.get("/partners/<int:partner_id>")
@partner_member()
def profile(partner_id: int):
    partner = g.partner
    branches = []
    if partner.identifier:
        branches = list(db.session.execute(
            select(Partner).where(Partner.head_office_identifier == partner.identifier,
                                  Partner.status != PartnerStatus.REJECTED).order_by(Partner.name_search).limit(50)
        ).scalars())
    return render_template("partners/profile.html", partner=partner, membership=g.membership,
                           members=svc.members(partner), branches=branches)


@bp.get("/partners/<int:partner_id>/activity")
@partner_admin
def activity(partner_id: int):
    stmt = select(AuditEvent).where(AuditEvent.partner_id == g.partner.id).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    page = paginate(stmt, request.args.get("page", 1, type=int))
    return render_template("partners/activity.html", partner=g.partner, page=page, labels=ACTIVITY_LABELS)


@bp.get("/partners/<int:partner_id>/members")
@partner_admin
def members(partner_id: int):
    partner = g.partner
    return render_template("partners/members.html", partner=partner, members=svc.members(partner),
                           invitations=svc.pending_invitations(partner), requests=svc.pending_requests(partner),
                           role_form=RoleForm(), confirm_form=ConfirmForm())


@bp.post("/partners/<int:partner_id>/members/<int:membership_id>/role")
@partner_admin
def member_role(partner_id: int, membership_id: int):
    membership = get_for_partner_or_404(Membership, membership_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            svc.set_role(current_user, membership, form.role.data)
        except svc.MemberError as error:
            db.session.rollback()
            flash(error.message, "warning")
        else:
            db.session.commit()
            flash(_("The role of %(name)s is changed.", name=membership.user.full_name), "success")
    return redirect(url_for("partners.members", partner_id=partner_id))


@bp.route("/partners/<int:partner_id>/members/<int:membership_id>/remove", methods=["GET", "POST"])
@partner_admin
def member_remove(partner_id: int, membership_id: int):
    membership = get_for_partner_or_404(Membership, membership_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = membership.user.full_name
        try:
            svc.remove_member(current_user, membership)
        except svc.MemberError as error:
            db.session.rollback()
            flash(error.message, "warning")
            return redirect(url_for("partners.members", partner_id=partner_id))
        db.session.commit()
        flash(_("%(name)s is no longer a member.", name=name), "success")
        if membership.user_id == current_user.id:
            return redirect(url_for("dashboard.index"))
        return redirect(url_for("partners.members", partner_id=partner_id))
    return render_template("partners/confirm_remove.html", partner=g.partner, membership=membership, form=form)


@bp.route("/partners/<int:partner_id>/leave", methods=["GET", "POST"])
@partner_member()
def leave(partner_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            svc.remove_member(current_user, g.membership)
        except svc.MemberError as error:
            db.session.rollback()
            flash(error.message, "warning")
            return redirect(url_for("partners.profile", partner_id=partner_id))
        db.session.commit()
        flash(_("You no longer work for %(partner)s.", partner=g.partner.name), "success")
        return redirect(url_for("dashboard.index"))
    return render_template("partners/confirm_leave.html", partner=g.partner, form=form)


@bp.route("/partners/<int:partner_id>/invitations/new", methods=["GET", "POST"])
@partner_admin
def invite(partner_id: int):
    form = InviteForm()
    if form.validate_on_submit():
        try:
            svc.invite(current_user, g.partner, form.email.data, form.role.data, str(get_locale() or "fr"))
        except svc.MemberError as error:
            db.session.rollback()
            form.email.errors.append(error.message)
        else:
            db.session.commit()
            flash(_("The invitation is sent to %(email)s. It is valid for 14 days.", email=form.email.data), "success")
            return redirect(url_for("partners.members", partner_id=partner_id))
    status = 422 if form.errors else 200
    return render_template("partners/invite.html", partner=g.partner, form=form), status


@bp.post("/partners/<int:partner_id>/invitations/<int:invitation_id>/withdraw")
@partner_admin
def invitation_withdraw(partner_id: int, invitation_id: int):
    invitation = get_for_partner_or_404(Invitation, invitation_id)
    if ConfirmForm().validate_on_submit() and svc.withdraw_invitation(current_user, invitation):
        db.session.commit()
        flash(_("The invitation to %(email)s is withdrawn.", email=invitation.email), "success")
    return redirect(url_for("partners.members", partner_id=partner_id))


@bp.route("/partners/<int:partner_id>/access-requests/<int:request_id>", methods=["GET", "POST"])
@partner_admin
def access_request(partner_id: int, request_id: int):
    request_row = get_for_partner_or_404(AccessRequest, request_id)
    if request_row.status != "pending":
        flash(_("This access request has already been answered."), "info")
        return redirect(url_for("partners.members", partner_id=partner_id))
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            svc.decide_access_request(current_user, request_row, form.decision.data == "approve", form.message.data)
        except svc.MemberError as error:
            db.session.rollback()
            flash(error.message, "warning")
        else:
            db.session.commit()
            if form.decision.data == "approve":
                flash(_("%(name)s is now a member.", name=request_row.user.full_name), "success")
            else:
                flash(_("The request of %(name)s is refused.", name=request_row.user.full_name), "success")
        return redirect(url_for("partners.members", partner_id=partner_id))
    status = 422 if form.errors else 200
    return render_template("partners/access_request.html", partner=g.partner, request_row=request_row, form=form), status


# --- invitations, from the e-mail's link ------------------------------------------------------------

@bp.get("/invitations/<token>")
@public
def invitation(token: str):
    invitation = svc.invitation_by_token(token)
    user = current_user if current_user.is_authenticated else None
    problem = svc.invitation_problem(invitation, user)
    status = 404 if invitation is None else 200
    return render_template("partners/invitation.html", invitation=invitation, problem=problem, token=token,
                           form=ConfirmForm()), status


@bp.post("/invitations/<token>/accept")
@signed_in
def invitation_accept(token: str):
    invitation = svc.invitation_by_token(token)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("partners.invitation", token=token))
    try:
        membership = svc.accept_invitation(current_user, invitation)
    except svc.MemberError:
        db.session.rollback()
        return redirect(url_for("partners.invitation", token=token))
    db.session.commit()
    set_acting_for(membership.partner_id)
    flash(_("Welcome: you now work for %(partner)s.", partner=membership.partner.name), "success")
    return redirect(url_for("partners.profile", partner_id=membership.partner_id))
