"""Who receives what is addressed to a partner: members for notifications, and the
"one partner" audience of agency notices. Registered with the notifications area."""
from __future__ import annotations

from sqlalchemy import Integer, bindparam, or_, select

from .. import reads
from ..account.models import User
from ..extensions import db
from ..pagination import PAGE_SIZE
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


# The inbox asks on every page: built once, Core columns run by reads.rows. A fixed list of
# NAMES_AT_ONCE parameters (unused ones NULL, which matches nothing) rather than an expanding one,
# which SQLAlchemy re-renders on every run: a page of the inbox names at most PAGE_SIZE partners.
NAMES_AT_ONCE = PAGE_SIZE
_NAMES = select(Partner.__table__.c.id, Partner.__table__.c.name).where(
    Partner.__table__.c.id.in_([bindparam(f"id{n}", type_=Integer) for n in range(NAMES_AT_ONCE)]))


def partner_names(ids: set[int]) -> dict[int, str]:
    """{id: name} of these partners: those the request read already (the one acted for, mostly:
    a person's notifications are of their own partners) without a query, the others in one."""
    from .resolver import known_partner_names

    known = known_partner_names()
    names = {i: known[i] for i in ids if i in known}
    wanted = sorted(i for i in ids if i not in known)
    for start in range(0, len(wanted), NAMES_AT_ONCE):
        chunk = wanted[start:start + NAMES_AT_ONCE]
        params = {f"id{n}": chunk[n] if n < len(chunk) else None for n in range(NAMES_AT_ONCE)}
        names.update((row.id, row.name) for row in reads.rows(_NAMES, params))
    return names


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
