"""The fan-out of agency notices, run by `flask tp send-mail` on every pass.

Each batch is one transaction: claim the next users by moving the notice's
cursor with a conditional UPDATE (a second worker finds the cursor moved and
stops), create their notifications and e-mails, commit. A crash loses at most
the batch in flight, which the next pass redoes; the unique
(notice_id, user_id) makes a double delivery impossible anyway.
"""
from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select, update

from ..account.models import User
from ..audit import record
from ..db import utcnow
from ..extensions import db
from .models import AgencyNotice
from .notices import audience_select
from .services import create_notifications

log = logging.getLogger(__name__)

BATCH_SIZE = 500
MAX_BATCHES_PER_PASS = 20


def fan_out_batch(notice_id: int, batch_size: int = BATCH_SIZE) -> str:
    """One batch of one notice: 'sent', 'done', 'busy' (another worker) or 'stuck'."""
    notice = db.session.get(AgencyNotice, notice_id)
    db.session.refresh(notice)
    if notice.status == "done":
        return "done"
    audience = audience_select(notice.audience, notice.audience_value)
    if audience is None:
        db.session.rollback()
        return "stuck"  # its resolver is not registered (yet): the next pass tries again
    cursor = notice.cursor_user_id
    users = list(db.session.execute(
        select(User).where(User.id.in_(audience), User.id > cursor).order_by(User.id).limit(batch_size)
    ).scalars())
    if not users:
        claimed = db.session.execute(
            update(AgencyNotice).where(AgencyNotice.id == notice_id, AgencyNotice.cursor_user_id == cursor,
                                       AgencyNotice.status != "done")
            .values(status="done", completed_at=utcnow())
        ).rowcount
        if claimed:
            record("notice.sent", actor=None, object_type="agency_notice", object_id=notice_id)
            db.session.commit()
            return "done"
        db.session.rollback()
        return "busy"
    claimed = db.session.execute(
        update(AgencyNotice).where(AgencyNotice.id == notice_id, AgencyNotice.cursor_user_id == cursor)
        .values(cursor_user_id=users[-1].id, status="sending")
    ).rowcount
    if not claimed:
        db.session.rollback()
        return "busy"
    create_notifications(
        users, "agency_notice",
        render=lambda locale: (notice.localized("subject", locale), notice.localized("body", locale)),
        urgent=notice.urgent, notice_id=notice.id,
    )
    db.session.commit()
    return "sent"


def fan_out_notices(batch_size: int | None = None, max_batches: int | None = None) -> str | None:
    """Worker task: advance every queued notice by a few batches; a line for the log."""
    config = current_app.config
    batch_size = batch_size or config.get("NOTICE_BATCH_SIZE", BATCH_SIZE)
    budget = max_batches or config.get("NOTICE_BATCHES_PER_PASS", MAX_BATCHES_PER_PASS)
    ids = list(db.session.execute(
        select(AgencyNotice.id).where(AgencyNotice.status.in_(("queued", "sending"))).order_by(AgencyNotice.id)
    ).scalars())
    if not ids:
        return None
    batches, finished = 0, 0
    for notice_id in ids:
        while batches < budget:
            try:
                outcome = fan_out_batch(notice_id, batch_size)
            except Exception:  # noqa: BLE001 - the batch is redone on the next pass
                db.session.rollback()
                log.exception("fan-out of notice %s failed; retried on the next pass", notice_id)
                break
            if outcome == "sent":
                batches += 1
                continue
            finished += outcome == "done"
            break
    return f"notices: {batches} batch(es) sent, {finished} notice(s) finished, {len(ids) - finished} in progress"
