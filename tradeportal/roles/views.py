"""A partner's roles (list, request, details, withdraw) and the rights of its members."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import partner_admin
from ..extensions import db
from ..htmx import is_partial, render_page_or_partial
from ..partners.models import Membership
from ..partners.resolver import RIGHT_LABELS, get_for_partner_or_404
from . import bp
from . import grants as svc
from .dashboard import steps_only
from .forms import ConfirmForm, RightsForm, RoleRequestForm
from .models import Role, RoleRequest
from .rights import members_with_rights, set_rights
from .services import RIGHT_SERVICE, partner_services, roles_opening


def _list_context(partner) -> dict:
    return {"partner": partner, "catalogue": svc.catalogue_for(partner), "form": None, "confirm_form": ConfirmForm()}


@bp.get("/partners/<int:partner_id>/roles")
@partner_admin
def index(partner_id: int):
    return render_page_or_partial("roles/index.html", "roles/_list.html", **_list_context(g.partner))


def _role_or_404(role_id: int) -> Role:
    return db.session.get(Role, role_id) or abort(404)


@bp.route("/partners/<int:partner_id>/roles/<int:role_id>/request", methods=["GET", "POST"])
@partner_admin
def request_role(partner_id: int, role_id: int):
    role = _role_or_404(role_id)
    partner = g.partner
    if not role.active:
        return render_template("roles/unavailable.html", partner=partner, role=role, reason="retired"), 409
    if svc.has_open_request(partner.id, role.id):
        return render_template("roles/unavailable.html", partner=partner, role=role, reason="open"), 409
    form = RoleRequestForm(needs_contact=role.needs_contact)
    if request.method == "GET" and role.needs_contact:
        form.contact_name.data = current_user.full_name
        form.contact_email.data = current_user.email
        form.contact_phone.data = getattr(current_user, "phone", None) or ""
    if form.validate_on_submit():
        try:
            row = svc.request_role(current_user, partner, role, form.contact())
        except svc.RoleError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            name = role.localized("name")
            if row.status == "active":
                flash(_("The role %(role)s is active. The services it opens are available now.", role=name), "success")
            else:
                flash(_("Your request for the role %(role)s is sent. The agency reviews it; you will be notified of its decision.",
                        role=name), "success")
            return redirect(url_for("roles.index", partner_id=partner.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("roles/request.html", partner=partner, role=role, form=form), status


@bp.get("/partners/<int:partner_id>/roles/requests/<int:request_id>")
@partner_admin
def detail(partner_id: int, request_id: int):
    row = get_for_partner_or_404(RoleRequest, request_id)
    return render_template("roles/detail.html", partner=g.partner, row=row, history=svc.history(row),
                           confirm_form=ConfirmForm())


@bp.post("/partners/<int:partner_id>/roles/requests/<int:request_id>/withdraw")
@partner_admin
def withdraw(partner_id: int, request_id: int):
    row = get_for_partner_or_404(RoleRequest, request_id)
    ConfirmForm().validate_on_submit()  # the CSRF token is checked for every POST already
    try:
        svc.withdraw(current_user, row)
    except svc.RoleError as error:
        db.session.rollback()
        message, category = str(error.message), "warning"
    else:
        db.session.commit()
        message = _("Your request for the role %(role)s is withdrawn.", role=row.role.localized("name"))
        category = "success"
    back = request.form.get("back")
    if is_partial():
        # htmx: only the list that held the button is sent back, and the change announced.
        # The fragments carry the announcement themselves (`live_announce`): htmx.render_page_or_partial's
        # `announce` escapes the fragment it is appended to (str + Markup), reported to the lead.
        if back == "dashboard":
            return render_page_or_partial("dashboard/index.html", "dashboard/_steps.html", live_announce=message,
                                          overview=steps_only(current_user, g.membership))
        return render_page_or_partial("roles/index.html", "roles/_list.html", live_announce=message,
                                      **_list_context(g.partner))
    flash(message, category)
    if back == "dashboard":
        return redirect(url_for("dashboard.index"))
    return redirect(url_for("roles.index", partner_id=partner_id))


# --- rights of members ------------------------------------------------------------------

def _right_service() -> dict:
    return {right.value: service for right, service in RIGHT_SERVICE.items()}


def _services_state(partner) -> dict:
    """For each service, in the order of the rights: opened by an active role, or the roles that would open it."""
    opened = partner_services(partner.id)
    catalogue = roles_opening(None)
    order = list(dict.fromkeys(RIGHT_SERVICE.values()))
    return {service: (service in opened, [r for r in catalogue if service in r.service_set()]) for service in order}


@bp.get("/partners/<int:partner_id>/rights")
@partner_admin
def rights_index(partner_id: int):
    return render_template("roles/rights_index.html", partner=g.partner, members=members_with_rights(g.partner),
                           right_labels={r.value: label for r, label in RIGHT_LABELS.items()},
                           right_service=_right_service(), opened=partner_services(g.partner.id))


@bp.route("/partners/<int:partner_id>/members/<int:membership_id>/rights", methods=["GET", "POST"])
@partner_admin
def member_rights(partner_id: int, membership_id: int):
    membership = get_for_partner_or_404(Membership, membership_id)
    form = RightsForm()
    if request.method == "GET":
        form.rights.data = sorted(membership.right_set())
    if not membership.is_manager and form.validate_on_submit():
        try:
            changed = set_rights(current_user, membership, form.rights.data or [])
        except svc.RoleError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            if changed:
                flash(_("The rights of %(name)s are saved. They have been notified.", name=membership.user.full_name), "success")
            else:
                flash(_("The rights of %(name)s are unchanged.", name=membership.user.full_name), "info")
            return redirect(url_for("roles.rights_index", partner_id=partner_id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("roles/rights.html", partner=g.partner, membership=membership, form=form,
                           right_service=_right_service(), services_state=_services_state(g.partner)), status
