"""Back office: business partners (search, check manual entries, suspend, reactivate)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import StaffPermission, staff
from ..extensions import db
from ..partners import members as member_services
from ..partners import staff_services as svc
from ..partners.forms import ConfirmForm, ReasonForm
from ..partners.letters import letters_of
from ..partners.models import Partner
from . import bp, register_menu

register_menu("staff.partners", _l("Business partners"), StaffPermission.PARTNERS)


def _partner_or_404(partner_id: int) -> Partner:
    return db.session.get(Partner, partner_id) or abort(404)


@bp.get("/partners")
@staff(StaffPermission.PARTNERS)
def partners():
    q = request.args.get("q", "")[:100]
    status = request.args.get("status", "awaiting_check")
    page = svc.search_partners(q, status, request.args.get("page", 1, type=int))
    return render_template("staff/partners.html", page=page, q=q, status=status)


@bp.get("/partners/<int:partner_id>")
@staff(StaffPermission.PARTNERS)
def partner(partner_id: int):
    partner = _partner_or_404(partner_id)
    return render_template("staff/partners_detail.html", partner=partner, letters=letters_of(partner),
                           members=member_services.members(partner), form=ConfirmForm())


def _act(partner_id: int, action, message):
    partner = _partner_or_404(partner_id)
    try:
        action(partner)
    except svc.StaffError as error:
        db.session.rollback()
        flash(error.message, "warning")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("staff.partner", partner_id=partner_id))


@bp.post("/partners/<int:partner_id>/verify")
@staff(StaffPermission.PARTNERS)
def partner_verify(partner_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _act(partner_id, lambda p: svc.verify_manual_entry(current_user, p),
                _("The entry is confirmed and its verification letter is queued."))


@bp.post("/partners/<int:partner_id>/reactivate")
@staff(StaffPermission.PARTNERS)
def partner_reactivate(partner_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _act(partner_id, lambda p: svc.reactivate(current_user, p), _("The business partner is active again."))


@bp.route("/partners/<int:partner_id>/reject", methods=["GET", "POST"])
@staff(StaffPermission.PARTNERS)
def partner_reject(partner_id: int):
    return _with_reason(partner_id, "reject")


@bp.route("/partners/<int:partner_id>/suspend", methods=["GET", "POST"])
@staff(StaffPermission.PARTNERS)
def partner_suspend(partner_id: int):
    return _with_reason(partner_id, "suspend")


def _with_reason(partner_id: int, what: str):
    partner = _partner_or_404(partner_id)
    form = ReasonForm()
    if form.validate_on_submit():
        if what == "reject":
            return _act(partner_id, lambda p: svc.reject_manual_entry(current_user, p, form.reason.data), _("The entry is rejected."))
        return _act(partner_id, lambda p: svc.suspend(current_user, p, form.reason.data), _("The business partner is suspended."))
    status = 422 if form.errors else 200
    return render_template("staff/partners_reason.html", partner=partner, form=form, what=what), status
