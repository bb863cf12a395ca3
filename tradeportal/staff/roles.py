"""Back office: the role catalogue, and the review of role requests (approve, reject, revoke)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..access import StaffPermission, staff
from ..extensions import db
from ..roles import catalogue
from ..roles import grants as svc
from ..roles import queue
from ..roles.forms import DecisionForm, RevokeForm, RoleForm
from ..roles.models import GrantStatus, Role, RoleRequest
from ..roles.services import SERVICE_LABELS
from . import bp, register_menu

register_menu("staff.role_requests", _l("Role requests"), StaffPermission.ROLES)
register_menu("staff.roles", _l("Business partner roles"), StaffPermission.ROLES)

QUEUE_FILTERS = queue.FILTERS


# --- the catalogue ------------------------------------------------------------------

@bp.get("/roles")
@staff(StaffPermission.ROLES)
def roles():
    page = catalogue.catalogue_page(request.args.get("page", 1, type=int))
    return render_template("staff/roles.html", page=page, service_labels=SERVICE_LABELS)


@bp.route("/roles/new", methods=["GET", "POST"])
@staff(StaffPermission.ROLES)
def role_new():
    form = RoleForm()
    if form.validate_on_submit():
        try:
            role = catalogue.create_role(current_user, form.data_for_service())
        except svc.RoleError as error:
            db.session.rollback()
            form.code.errors.append(error.message)
        else:
            db.session.commit()
            flash(_("The role %(role)s is added to the catalogue.", role=role.localized("name")), "success")
            return redirect(url_for("staff.roles"))
    status = 422 if form.errors else 200
    return render_template("staff/roles_form.html", form=form, role=None), status


@bp.route("/roles/<int:role_id>/edit", methods=["GET", "POST"])
@staff(StaffPermission.ROLES)
def role_edit(role_id: int):
    role = db.session.get(Role, role_id) or abort(404)
    form = RoleForm(obj=role)
    del form.code  # the code never changes
    if request.method == "GET":
        form.services.data = sorted(role.service_set())
    if form.validate_on_submit():
        changed = catalogue.update_role(current_user, role, form.data_for_service())
        db.session.commit()
        if changed:
            flash(_("The role %(role)s is saved.", role=role.localized("name")), "success")
        else:
            flash(_("Nothing was changed."), "info")
        return redirect(url_for("staff.roles"))
    status = 422 if form.errors else 200
    return render_template("staff/roles_form.html", form=form, role=role), status


# --- the review queue ---------------------------------------------------------------

@bp.get("/role-requests")
@staff(StaffPermission.ROLES)
def role_requests():
    status = request.args.get("status", "pending")
    if status not in QUEUE_FILTERS:
        status = "pending"
    q = request.args.get("q", "")[:100]
    page, rows_html = queue.queue_page(db.session, status, q, request.args.get("page", 1, type=int))
    return render_template("staff/role_requests.html", page=page, rows_html=rows_html, status=status, q=q)


def _request_or_404(request_id: int) -> RoleRequest:
    row = db.session.execute(
        select(RoleRequest).where(RoleRequest.id == request_id)
        .options(joinedload(RoleRequest.partner), joinedload(RoleRequest.role), joinedload(RoleRequest.requested_by))
    ).scalar_one_or_none()
    return row or abort(404)


@bp.route("/role-requests/<int:request_id>", methods=["GET", "POST"])
@staff(StaffPermission.ROLES)
def role_request(request_id: int):
    row = _request_or_404(request_id)
    form = DecisionForm()
    if row.status == GrantStatus.PENDING and form.validate_on_submit():
        try:
            if form.decision.data == "approve":
                svc.approve(current_user, row)
            else:
                svc.reject(current_user, row, form.reason.data)
        except svc.RoleError as error:
            db.session.rollback()
            flash(error.message, "warning")
            return redirect(url_for("staff.role_request", request_id=request_id))
        db.session.commit()
        name = row.role.localized("name")
        if row.status == GrantStatus.ACTIVE:
            flash(_("The role %(role)s of %(partner)s is approved.", role=name, partner=row.partner.name), "success")
        else:
            flash(_("The request for the role %(role)s of %(partner)s is rejected.", role=name, partner=row.partner.name), "success")
        return redirect(url_for("staff.role_requests"))
    status = 422 if form.errors else 200
    return render_template("staff/role_requests_detail.html", row=row, form=form, history=svc.history(row)), status


@bp.route("/role-requests/<int:request_id>/revoke", methods=["GET", "POST"])
@staff(StaffPermission.ROLES)
def role_revoke(request_id: int):
    row = _request_or_404(request_id)
    if row.status != GrantStatus.ACTIVE:
        flash(_("Only an active role can be revoked."), "warning")
        return redirect(url_for("staff.role_request", request_id=request_id))
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            svc.revoke(current_user, row, form.reason.data)
        except svc.RoleError as error:
            db.session.rollback()
            flash(error.message, "warning")
        else:
            db.session.commit()
            flash(_("The role %(role)s of %(partner)s is revoked.", role=row.role.localized("name"), partner=row.partner.name),
                  "success")
        return redirect(url_for("staff.role_request", request_id=request_id))
    status = 422 if form.errors else 200
    return render_template("staff/role_requests_revoke.html", row=row, form=form), status
