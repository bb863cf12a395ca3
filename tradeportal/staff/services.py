"""Back-office services."""
from __future__ import annotations

from sqlalchemy import select, update

from ..audit import record
from ..db import utcnow
from ..extensions import db
from ..pagination import Page, paginate
from ..public.models import Feedback


def feedback_page(number: int, unread_only: bool = False) -> Page:
    stmt = select(Feedback).order_by(Feedback.created_at.desc(), Feedback.id.desc())
    if unread_only:
        stmt = stmt.where(Feedback.read_at.is_(None))
    return paginate(stmt, number)


def mark_feedback_read(feedback_id: int) -> bool:
    result = db.session.execute(
        update(Feedback).where(Feedback.id == feedback_id, Feedback.read_at.is_(None)).values(read_at=utcnow())
    )
    if db.session.get(Feedback, feedback_id) is None:
        return False
    if result.rowcount:
        record("feedback.read", object_type="feedback", object_id=feedback_id)
    return True
