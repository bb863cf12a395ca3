"""Role requests: a partner asks for a role, the agency decides, the role opens services.

A role that needs no review is active at once; one that does waits for staff. The
database refuses a second open (pending or active) request of a partner for the
same role (`uq_role_request_open`); the check here only gives the nicer message.
Status changes are conditional UPDATEs (`… WHERE status = 'pending'`), so two
people deciding at once cannot both succeed.
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit
from ..db import utcnow
from ..extensions import db
from ..partners.models import Partner, PartnerStatus
from .models import GrantStatus, Role, RoleRequest
from .notify import ROLE_DECISION, notify_managers
from .services import forget_services

HISTORY_LIMIT = 20


class RoleError(Exception):
    """A rule refused the action; `message` is for the person."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def has_open_request(partner_id: int, role_id: int) -> bool:
    return bool(db.session.execute(select(exists().where(
        RoleRequest.partner_id == partner_id, RoleRequest.role_id == role_id,
        RoleRequest.status.in_(GrantStatus.OPEN)))).scalar())


def request_role(actor, partner: Partner, role: Role, contact: dict | None = None) -> RoleRequest:
    """Request `role` for `partner`: active at once, or pending when the agency reviews it."""
    if not role.active:
        raise RoleError(_l("This role is retired: it can no longer be requested."))
    if partner.status != PartnerStatus.ACTIVE or partner.is_suspended:
        raise RoleError(_l("This business partner cannot request roles at the moment."))
    if role.needs_contact and not (contact and contact.get("name") and contact.get("email") and contact.get("phone")):
        raise RoleError(_l("This role needs a contact person: enter their name, e-mail address and phone number."))
    if has_open_request(partner.id, role.id):
        raise RoleError(_l("Your business partner already holds this role or has a pending request for it."))
    now = utcnow()
    contact = contact if role.needs_contact else None
    row = RoleRequest(
        partner_id=partner.id, role_id=role.id, requested_by_id=actor.id, requested_at=now,
        status=GrantStatus.PENDING if role.needs_review else GrantStatus.ACTIVE,
        activated_at=None if role.needs_review else now,
        contact_name=contact and contact["name"], contact_email=contact and contact["email"],
        contact_phone=contact and contact["phone"],
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        # Someone else's request for the same role won the race.
        raise RoleError(_l("Your business partner already holds this role or has a pending request for it.")) from None
    audit.record("roles.requested", actor=actor, partner_id=partner.id, object_type="role_request", object_id=row.id,
                 details={"role": role.code, "status": row.status, "contact_person": bool(contact)})
    forget_services()
    return row


def _transition(row: RoleRequest, from_status: str, to_status: str, actor, reason: str | None = None,
                activate: bool = False) -> None:
    now = utcnow()
    values = {"status": to_status, "decided_by_id": actor.id, "decided_at": now, "reason": reason}
    if activate:
        values["activated_at"] = now
    result = db.session.execute(
        update(RoleRequest).where(RoleRequest.id == row.id, RoleRequest.status == from_status).values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise RoleError(_l("This request has changed in the meantime. Look at its current status."))
    db.session.refresh(row)
    forget_services()


def withdraw(actor, row: RoleRequest) -> None:
    """The partner withdraws its pending request."""
    _transition(row, GrantStatus.PENDING, GrantStatus.WITHDRAWN, actor)
    audit.record("roles.request_withdrawn", actor=actor, partner_id=row.partner_id, object_type="role_request",
                 object_id=row.id, details={"role": row.role.code})


def _tell_managers(row: RoleRequest, texts: tuple) -> None:
    role, partner = row.role, row.partner

    def render(locale):
        # The role's name comes from its column in the recipient's language.
        params = {"role": role.localized("name", locale), "partner": partner.name, "reason": row.reason or ""}
        with force_locale(locale):
            return tuple(str(text) % params for text in texts)

    notify_managers(row.partner, ROLE_DECISION, render, f"/partners/{row.partner_id}/roles/requests/{row.id}")


# Translated in each recipient's language, then formatted (see _tell_managers).
APPROVED = (_l("Role %(role)s approved"),
            _l("The agency approved the role %(role)s for %(partner)s. The services it opens are available now."))
REJECTED = (_l("Role %(role)s rejected"),
            _l("The agency rejected the request for the role %(role)s for %(partner)s. Reason: %(reason)s"))
REVOKED = (_l("Role %(role)s revoked"),
           _l("The agency revoked the role %(role)s of %(partner)s. Reason: %(reason)s"))


def approve(staff_user, row: RoleRequest) -> None:
    """Staff approve a pending request: the role is active; the administrators and deputies are told."""
    _transition(row, GrantStatus.PENDING, GrantStatus.ACTIVE, staff_user, activate=True)
    audit.record("roles.request_approved", actor=staff_user, partner_id=row.partner_id, object_type="role_request",
                 object_id=row.id, details={"role": row.role.code})
    _tell_managers(row, APPROVED)


def reject(staff_user, row: RoleRequest, reason: str) -> None:
    """Staff reject a pending request with a reason the partner sees."""
    reason = (reason or "").strip()
    if not reason:
        raise RoleError(_l("Enter the reason for the rejection"))
    _transition(row, GrantStatus.PENDING, GrantStatus.REJECTED, staff_user, reason=reason)
    audit.record("roles.request_rejected", actor=staff_user, partner_id=row.partner_id, object_type="role_request",
                 object_id=row.id, details={"role": row.role.code, "reason": reason})
    _tell_managers(row, REJECTED)


def revoke(staff_user, row: RoleRequest, reason: str) -> None:
    """Staff take an active role back, with a reason; its services close at once."""
    reason = (reason or "").strip()
    if not reason:
        raise RoleError(_l("Enter the reason for the revocation"))
    _transition(row, GrantStatus.ACTIVE, GrantStatus.REVOKED, staff_user, reason=reason)
    audit.record("roles.revoked", actor=staff_user, partner_id=row.partner_id, object_type="role_request",
                 object_id=row.id, details={"role": row.role.code, "reason": reason})
    _tell_managers(row, REVOKED)


# --- what the partner sees ------------------------------------------------------------

def catalogue_for(partner: Partner) -> list[tuple[Role, RoleRequest | None]]:
    """Every active role of the catalogue (and retired ones the partner asked for) with its latest request.

    Two queries whatever the number of roles and requests.
    """
    latest = (select(func.max(RoleRequest.id)).where(RoleRequest.partner_id == partner.id)
              .group_by(RoleRequest.role_id))
    requests = {row.role_id: row for row in db.session.execute(
        select(RoleRequest).where(RoleRequest.id.in_(latest))
        .options(joinedload(RoleRequest.requested_by), joinedload(RoleRequest.decided_by))
    ).scalars()}
    roles = db.session.execute(select(Role)).scalars()
    listed = [(role, requests.get(role.id)) for role in roles if role.active or role.id in requests]
    return sorted(listed, key=lambda pair: pair[0].localized("name").lower())


def history(row: RoleRequest) -> list[RoleRequest]:
    """The partner's other requests for the same role, newest first."""
    return list(db.session.execute(
        select(RoleRequest).where(RoleRequest.partner_id == row.partner_id, RoleRequest.role_id == row.role_id,
                                  RoleRequest.id != row.id)
        .options(joinedload(RoleRequest.requested_by))
        .order_by(RoleRequest.id.desc()).limit(HISTORY_LIMIT)
    ).scalars())
