"""Sign-in sessions kept on the server.

The signed cookie carries only a random token; the `user_session` row says
whether it is still alive. Ending the row ends the session on every device,
whatever cookie a thief kept. Idle sessions end after 30 minutes, any session
after 12 hours.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import g, request, session
from flask_login import login_user, logout_user
from sqlalchemy import select, update

from ..account.models import User
from ..db import utcnow
from ..extensions import db, login_manager
from .models import UserSession

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# last_seen_at is written at most this often, so that reading a page costs no write.
TOUCH_INTERVAL = timedelta(seconds=60)
PENDING_TIMEOUT = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> UserSession:
    """Sign `user` in: a new session id, a new row, nothing kept from before."""
    token = secrets.token_urlsafe(32)
    locale = session.get("locale")
    session.clear()  # a fresh cookie content: no fixation, no leftovers
    if locale:
        session["locale"] = locale
    row = UserSession(
        token_hash=_hash(token),
        user_id=user.id,
        ip_address=(request.remote_addr or "")[:45],
        user_agent=(request.user_agent.string or "")[:255],
    )
    db.session.add(row)
    db.session.flush()
    session["sid"] = token
    session.permanent = True
    login_user(user)
    g.user_session = row
    return row


def current_session() -> UserSession | None:
    return g.get("user_session")


def end_session() -> None:
    """Sign out here: the row dies, the cookie is emptied."""
    row = current_session()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
    logout_user()
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def end_all_sessions(user: User, except_current: bool = False) -> int:
    """End every live session of `user` (optionally keeping this one)."""
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    current = current_session()
    if except_current and current is not None:
        stmt = stmt.where(UserSession.id != current.id)
    result = db.session.execute(stmt.values(ended_at=utcnow()))
    return result.rowcount or 0


def session_alive(row: UserSession, now=None) -> bool:
    now = now or utcnow()
    return (
        row.ended_at is None
        and now - row.last_seen_at < IDLE_TIMEOUT
        and now - row.created_at < ABSOLUTE_TIMEOUT
    )


@login_manager.user_loader
def _load_user(user_id: str):
    token = session.get("sid")
    if not token:
        return None
    row = db.session.execute(
        select(UserSession).where(UserSession.token_hash == _hash(token))
    ).scalar_one_or_none()
    if row is None or str(row.user_id) != str(user_id):
        return None
    now = utcnow()
    if not session_alive(row, now):
        if row.ended_at is None:
            row.ended_at = now
            db.session.commit()
        g.session_expired = True
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL and not request.path.startswith("/session/status"):
        row.last_seen_at = now
        db.session.commit()
    g.user_session = row
    return row.user


def set_pending_user(user: User, purpose: str = "second_factor") -> None:
    """Remember a person who passed the password step, for the next step only."""
    session["pending_user_id"] = user.id
    session["pending_purpose"] = purpose
    session["pending_since"] = utcnow().timestamp()


def clear_pending_user() -> None:
    for key in ("pending_user_id", "pending_purpose", "pending_since"):
        session.pop(key, None)


def pending_user() -> User | None:
    user_id = session.get("pending_user_id")
    since = session.get("pending_since")
    if not user_id or since is None:
        return None
    if utcnow().timestamp() - float(since) > PENDING_TIMEOUT.total_seconds():
        clear_pending_user()
        return None
    if "pending_user" not in g:
        g.pending_user = db.session.get(User, user_id)
    return g.pending_user
