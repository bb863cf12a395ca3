"""Agency notices: audiences, queueing, and what staff see of their delivery.

An audience is a function ``fn(value) -> Select of user ids`` (or None when
`value` names nothing). "everyone" is built in; the roles and partners areas
register theirs::

    register_notice_audience("role", lambda role_code: select(Membership.user_id)...)
    register_notice_audience("partner", lambda partner_number: select(...) or None)

The staff form only offers the audiences that have a resolver.
"""
from __future__ import annotations

from typing import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from ..account.models import User
from ..audit import record
from ..db import utcnow
from ..extensions import db
from ..pagination import Page, paginate
from .models import AgencyNotice, Notification

LANGUAGES = ("fr", "en", "de")


def everyone() -> Select:
    """Every person with a confirmed e-mail address."""
    return select(User.id).where(User.email_confirmed_at.is_not(None))


_audiences: dict[str, Callable] = {"everyone": lambda _value: everyone()}

AUDIENCE_LABELS = {
    "everyone": _l("Everyone with a user account"),
    "role": _l("The members of business partners holding a business partner role"),
    "partner": _l("The members of one business partner"),
}


def register_notice_audience(name: str, fn: Callable) -> None:
    """`fn(value) -> Select` of user ids, or None when `value` designates nothing."""
    _audiences[name] = fn


def unregister_notice_audience(name: str) -> None:
    if name != "everyone":
        _audiences.pop(name, None)


def available_audiences() -> list[str]:
    return [name for name in ("everyone", "role", "partner") if name in _audiences]


def audience_select(audience: str, value: str | None) -> Select | None:
    fn = _audiences.get(audience)
    if fn is None:
        return None
    return fn(value)


def audience_size(stmt: Select) -> int:
    return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def queue_notice(actor, data: dict) -> AgencyNotice:
    """Store the notice as queued; the worker fans it out. Audited."""
    notice = AgencyNotice(
        urgent=bool(data.get("urgent")),
        audience=data["audience"],
        audience_value=data.get("audience_value") or None,
        status="queued",
        cursor_user_id=0,
        created_by_id=getattr(actor, "id", None),
        queued_at=utcnow(),
    )
    for code in LANGUAGES:
        setattr(notice, f"subject_{code}", " ".join(data[f"subject_{code}"].split()))
        setattr(notice, f"body_{code}", data[f"body_{code}"].strip())
    db.session.add(notice)
    db.session.flush()
    record("notice.queued", actor=actor, object_type="agency_notice", object_id=notice.id,
           details={"audience": notice.audience, "audience_value": notice.audience_value, "urgent": notice.urgent})
    return notice


def notices_page(number: int) -> Page:
    return paginate(select(AgencyNotice).order_by(AgencyNotice.created_at.desc(), AgencyNotice.id.desc()), number)


def delivery_counts(notice_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{notice id: (received, read)} in one aggregate query."""
    if not notice_ids:
        return {}
    rows = db.session.execute(
        select(Notification.notice_id, func.count(), func.count(Notification.read_at))
        .where(Notification.notice_id.in_(notice_ids))
        .group_by(Notification.notice_id)
    )
    counts = {notice_id: (0, 0) for notice_id in notice_ids}
    counts.update({notice_id: (received, read) for notice_id, received, read in rows})
    return counts
