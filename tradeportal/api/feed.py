"""The partner's API notification feed, filled from the notifications the portal creates.

The notifications area writes one row per member; an API application needs one per
event. A `before_flush` hook turns each batch of new partner notifications (same
partner, kind and creation time) into one `ApiNotification`, in the same transaction.
"""
from __future__ import annotations

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .models import ApiNotification


# Notices for the people who manage the applications, not for the software.
PEOPLE_ONLY = {"api_application", "security"}


def _before_flush(session: Session, _context, _instances) -> None:
    from ..notifications.models import Notification

    batches = {}
    for obj in session.new:
        if isinstance(obj, Notification) and obj.partner_id is not None and obj.kind not in PEOPLE_ONLY:
            key = (obj.partner_id, obj.kind, obj.created_at, obj.notice_id)
            batches.setdefault(key, obj)
    for (partner_id, kind, created_at, notice_id), row in batches.items():
        if notice_id is not None and _notice_already_in_feed(session, partner_id, notice_id):
            continue  # an agency notice fanned out in several worker passes
        session.add(ApiNotification(partner_id=partner_id, kind=kind, subject=row.subject, body=row.body or "",
                                    link=row.link, notice_id=notice_id, created_at=row.created_at, is_test=False))


def _notice_already_in_feed(session: Session, partner_id: int, notice_id: int) -> bool:
    with session.no_autoflush:
        return session.execute(select(ApiNotification.id).where(
            ApiNotification.partner_id == partner_id, ApiNotification.notice_id == notice_id).limit(1)
        ).first() is not None


def install() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
