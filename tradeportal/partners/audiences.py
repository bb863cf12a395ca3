"""Who receives what is addressed to a partner: members for notifications, and the
"one partner" audience of agency notices. Registered with the notifications area."""
from __future__ import annotations

from sqlalchemy import bindparam, or_, select

from ..account.models import User
from ..extensions import db
from .models import Membership, Partner


def members_with_right(partner_id: int, right) -> list[User]:
    """Members of the partner who hold `right` (administrators and deputies hold all)."""
    memberships = db.session.execute(
        select(Membership).where(Membership.partner_id == partner_id)
    ).scalars().all()
    users = [m for m in memberships if m.has_right(right)]
    ids = [m.user_id for m in users]
    if not ids:
        return []
    return list(db.session.execute(select(User).where(User.id.in_(ids))).scalars())


# The inbox asks on every page: built once, Core columns run on the session's connection.
_NAMES = select(Partner.__table__.c.id, Partner.__table__.c.name).where(
    Partner.__table__.c.id.in_(bindparam("ids", expanding=True)))


def partner_names(ids: set[int]) -> dict[int, str]:
    rows = db.session.connection().execute(_NAMES, {"ids": list(ids)})
    return {row.id: row.name for row in rows}


def one_partner(value: str | None):
    """Agency notice audience: the members of the partner with this number or identifier."""
    value = (value or "").strip()
    if not value:
        return None
    condition = Partner.identifier == value
    if value.isdigit():
        condition = or_(condition, Partner.id == int(value))
    partner_id = db.session.execute(select(Partner.id).where(condition).limit(1)).scalar_one_or_none()
    if partner_id is None:
        return None
    return select(Membership.user_id).where(Membership.partner_id == partner_id)


def register() -> None:
    from ..notifications import notices, services

    services.register_partner_audience(members_with_right)
    services.register_partner_names(partner_names)
    notices.register_notice_audience("partner", one_partner)
