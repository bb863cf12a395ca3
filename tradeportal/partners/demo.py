"""Demo business partner: Ben Fischer administers one company of the demo register (idempotent)."""
from __future__ import annotations

from sqlalchemy import select

from ..account.models import User
from ..db import utcnow
from ..extensions import db
from .models import MemberRole, Membership, Partner, PartnerKind, PartnerStatus, RegisterEntry
from .services import search_key

DEMO_ADMIN = "ben.fischer@example.com"
DEMO_ENTRY_INDEX = 1  # a company of demo.register_rows(), not a branch


def seed() -> None:
    from ..demo import register_rows

    identifier = register_rows()[DEMO_ENTRY_INDEX]["identifier"]
    entry = db.session.execute(select(RegisterEntry).where(RegisterEntry.identifier == identifier)).scalar_one_or_none()
    admin = db.session.execute(select(User).where(User.email_normalized == DEMO_ADMIN)).scalar_one_or_none()
    if entry is None or admin is None:
        return
    if db.session.execute(select(Partner.id).where(Partner.registration_key == identifier)).first():
        return
    db.session.flush()
    now = utcnow()
    partner = Partner(
        kind=PartnerKind.LEGAL_ENTITY, status=PartnerStatus.ACTIVE, source="register", identifier=identifier,
        registration_key=identifier, name=entry.name, name_search=search_key(entry.name), legal_form=entry.legal_form,
        address_line1=entry.address_line1, address_line2=entry.address_line2, postcode=entry.postcode, town=entry.town,
        country=entry.country, locale="de", register_entry_id=entry.id, registered_by_id=admin.id, activated_at=now,
    )
    db.session.add(partner)
    db.session.flush()
    db.session.add(Membership(partner_id=partner.id, user_id=admin.id, role=MemberRole.ADMINISTRATOR, rights=""))
