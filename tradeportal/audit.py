"""Append-only audit events: who, acting for which partner, did what, on what, when, from where.

Rows are only ever inserted (`record`). When an account is deleted its events
keep a pseudonym instead of the person's id and name.
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from .db import utcnow
from .extensions import db

# Keys whose values must never reach the audit trail, whatever a caller passes.
_SECRET_KEYS = re.compile(r"pass|secret|token|code|otp|totp", re.IGNORECASE)


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor_label: Mapped[str | None] = mapped_column(String(120))
    partner_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    subject_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    details: Mapped[dict | None] = mapped_column(JSON)


@event.listens_for(AuditEvent, "before_update")
def _append_only(_mapper, _connection, _target):
    raise RuntimeError("audit events are append-only")


def _clean(details: dict | None) -> dict | None:
    if not details:
        return None
    cleaned = {}
    for key, value in details.items():
        if _SECRET_KEYS.search(key):
            continue
        if isinstance(value, str):
            # Control characters could forge lines in an export or a log.
            value = "".join(ch if ch.isprintable() else "\ufffd" for ch in value)[:500]
        cleaned[key] = value
    return cleaned


def record(
    action: str,
    *,
    actor=None,
    partner_id: int | None = None,
    object_type: str | None = None,
    object_id=None,
    subject_user_id: int | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (committed with the action)."""
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    event_row = AuditEvent(
        action=action,
        actor_user_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None),
        partner_id=partner_id,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        subject_user_id=subject_user_id,
        ip_address=(request.remote_addr if has_request_context() else None),
        details=_clean(details),
    )
    db.session.add(event_row)
    return event_row
