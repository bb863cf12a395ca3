"""Demo role grants for the demo partner (idempotent): Goods traffic active, Authorised consignor pending."""
from __future__ import annotations

from sqlalchemy import select

from ..account.models import User
from ..db import utcnow
from ..extensions import db
from ..partners.models import MemberRole, Membership, Partner
from .models import GrantStatus, Role, RoleRequest

GRANTS = (("goods_traffic", GrantStatus.ACTIVE), ("authorised_consignor", GrantStatus.PENDING))


def seed() -> None:
    from ..demo import register_rows
    from ..partners.demo import DEMO_ADMIN, DEMO_ENTRY_INDEX

    db.session.flush()
    identifier = register_rows()[DEMO_ENTRY_INDEX]["identifier"]
    # Only the demo partner, administered by the demo account: never a real partner.
    admin = db.session.execute(
        select(Membership).join(Partner, Partner.id == Membership.partner_id).join(User, User.id == Membership.user_id)
        .where(Partner.registration_key == identifier, User.email_normalized == DEMO_ADMIN,
               Membership.role == MemberRole.ADMINISTRATOR)
    ).scalar_one_or_none()
    if admin is None:
        return
    partner_id = admin.partner_id
    if db.session.execute(select(RoleRequest.id).where(RoleRequest.partner_id == partner_id).limit(1)).first():
        return
    user = admin.user
    now = utcnow()
    for code, status in GRANTS:
        role = db.session.execute(select(Role).where(Role.code == code)).scalar_one_or_none()
        if role is None:
            continue
        db.session.add(RoleRequest(
            partner_id=partner_id, role_id=role.id, status=status, requested_by_id=user.id, requested_at=now,
            activated_at=now if status == GrantStatus.ACTIVE else None,
            contact_name=user.full_name if role.needs_contact else None,
            contact_email=user.email if role.needs_contact else None,
            contact_phone="+41 58 000 00 00" if role.needs_contact else None,
        ))
