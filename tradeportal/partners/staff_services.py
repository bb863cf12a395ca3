"""What the agency does with partners: check manual entries, suspend, reactivate."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from .. import audit
from ..db import utcnow
from ..pagination import Page, paginate
from .identifiers import accepted_schemes, normalise
from .letters import LetterError, queue_letter
from .models import Partner, PartnerStatus
from .notify import notify_managers, notify_user
from .services import _prefix, search_key


class StaffError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def search_partners(q: str, status: str, number: int) -> Page:
    stmt = select(Partner)
    q = (q or "").strip()
    if q:
        found = normalise(q, accepted_schemes())
        if found:
            stmt = stmt.where(Partner.identifier == found[1])
        else:
            stmt = stmt.where(or_(_prefix(Partner.name_search, search_key(q)), _prefix(Partner.identifier, q.upper())))
    if status == "suspended":
        stmt = stmt.where(Partner.suspended_at.is_not(None))
    elif status in PartnerStatus.ALL:
        stmt = stmt.where(Partner.status == status)
    return paginate(stmt.order_by(Partner.created_at.desc(), Partner.id.desc()), number)


def _registrant_notice(partner: Partner, kind: str, subject, body) -> None:
    if partner.registered_by is not None:
        notify_user(partner.registered_by, kind, subject, body, f"/partners/{partner.id}/registration",
                    partner_id=partner.id)


def verify_manual_entry(staff_user, partner: Partner) -> None:
    """The agency confirms a manual entry: its letter is queued."""
    if partner.status != PartnerStatus.AWAITING_CHECK:
        raise StaffError(_l("This business partner is not waiting for a check."))
    partner.status = PartnerStatus.LETTER_PENDING
    partner.checked_at = utcnow()
    partner.checked_by_id = staff_user.id
    try:
        queue_letter(partner, staff_user, reason="checked_by_agency")
    except LetterError:
        raise StaffError(_l("The letter cannot be queued: the head office of this branch is unknown.")) from None
    audit.record("partners.manual_entry_verified", actor=staff_user, partner_id=partner.id, object_type="partner", object_id=partner.id)
    _registrant_notice(partner, "partner_verified", _l("%(partner)s was checked by the agency", partner=partner.name),
                       _l("The agency confirmed your entry of %(partner)s. A verification letter with a one-time code is on its way by post.",
                          partner=partner.name))


def reject_manual_entry(staff_user, partner: Partner, reason: str) -> None:
    if partner.status != PartnerStatus.AWAITING_CHECK:
        raise StaffError(_l("This business partner is not waiting for a check."))
    partner.status = PartnerStatus.REJECTED
    partner.rejection_reason = reason.strip()
    partner.checked_at = utcnow()
    partner.checked_by_id = staff_user.id
    partner.registration_key = None  # the identifier may be registered again, correctly
    audit.record("partners.manual_entry_rejected", actor=staff_user, partner_id=partner.id, object_type="partner",
                 object_id=partner.id, details={"reason": partner.rejection_reason})
    _registrant_notice(partner, "partner_rejected", _l("%(partner)s was rejected by the agency", partner=partner.name),
                       _l("The agency rejected your entry of %(partner)s. Reason: %(reason)s", partner=partner.name,
                          reason=partner.rejection_reason))


def suspend(staff_user, partner: Partner, reason: str) -> None:
    if partner.is_suspended or partner.status == PartnerStatus.REJECTED:
        raise StaffError(_l("This business partner cannot be suspended."))
    partner.suspended_at = utcnow()
    partner.suspension_reason = reason.strip()
    audit.record("partners.suspended", actor=staff_user, partner_id=partner.id, object_type="partner",
                 object_id=partner.id, details={"reason": partner.suspension_reason})
    notify_managers(partner, "partner_suspended", _l("%(partner)s is suspended", partner=partner.name),
                    _l("The agency suspended %(partner)s. Reason: %(reason)s", partner=partner.name, reason=partner.suspension_reason))


def reactivate(staff_user, partner: Partner) -> None:
    if not partner.is_suspended:
        raise StaffError(_l("This business partner is not suspended."))
    partner.suspended_at = None
    partner.suspension_reason = None
    audit.record("partners.reactivated", actor=staff_user, partner_id=partner.id, object_type="partner", object_id=partner.id)
    notify_managers(partner, "partner_reactivated", _l("%(partner)s is active again", partner=partner.name),
                    _l("The agency lifted the suspension of %(partner)s.", partner=partner.name), f"/partners/{partner.id}")
