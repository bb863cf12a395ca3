"""Sign-in sessions kept on the server.

The signed cookie carries only a random token; the `user_session` row says
whether it is still alive. Ending the row ends the session on every device,
whatever cookie a thief kept. Idle sessions end after 30 minutes, any session
after 12 hours.

Between the password and a full session a person is "pending": the session
remembers who they are and which step is next (give the code, confirm the
address, enrol the authenticator, save the recovery codes).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request, session
from flask_login import login_user, logout_user
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import reads
from ..account.models import User
from ..db import utcnow
from ..extensions import db, login_manager
from .models import UserSession

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# last_seen_at is written at most this often, so that reading a page costs no write.
TOUCH_INTERVAL = timedelta(seconds=60)
PENDING_TIMEOUT = timedelta(minutes=10)
# Installing an authenticator app may take longer than typing a code.
PENDING_TIMEOUTS = {"second_factor": PENDING_TIMEOUT, "confirm": timedelta(minutes=30),
                    "enrol": timedelta(minutes=30), "codes": timedelta(minutes=30)}
# Requests that ask about the session without counting as activity.
PASSIVE_PATHS = ("/session/status", "/session/warning")
# Kept across sign-in: the language and a form whose sending the session's end interrupted.
_KEPT_KEYS = ("locale", "form_stash")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> UserSession:
    """Sign `user` in: a new session id, a new row, nothing kept from before."""
    token = secrets.token_urlsafe(32)
    kept = {key: session[key] for key in _KEPT_KEYS if key in session}
    session.clear()  # a fresh cookie content: no fixation, no leftovers
    session.update(kept)
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


_statements: dict = {}


def _session_statement(membership: bool):
    """The session row, its person, the bell's unread count and what the header says of the
    partners acted for: one statement, as every signed-in page needs them (the count is kept for
    notifications.services.badge, the partners for partners.resolver.header_context). With
    `membership` (pages that act for a partner, `_acting_page`), also the person's membership of
    the partner acted for, with that partner and the services of its roles: the resolver then
    loads no memberships, the roles' gate no services. Core columns built once and run by
    `reads.rows` (no joinedload or cache key per run); `reads.attach` makes the entities."""
    stmt = _statements.get(membership)
    if stmt is None:
        from ..notifications.services import unread_count_subquery
        from ..partners.resolver import header_parts
        from ..roles.services import services_subquery

        sessions, users = UserSession.__table__, User.__table__
        session_keys, session_columns = reads.entity_columns(UserSession)
        user_keys, user_columns = reads.entity_columns(User)
        _statements["columns"] = (session_keys, user_keys)
        joins, acting_partner, header_columns = header_parts(users, bindparam("user_id"), bindparam("acting_id"),
                                                             membership)
        joined = sessions.join(users, users.c.id == sessions.c.user_id)
        for table, onclause in joins:
            joined = joined.outerjoin(table, onclause)
        extra = [services_subquery(acting_partner).label("acting_services")] if membership else []
        stmt = _statements[membership] = (
            select(*session_columns, *(column.label(f"account_{column.key}") for column in user_columns),
                   unread_count_subquery(bindparam("user_id")).label("unread"), *extra, *header_columns)
            .select_from(joined)
            .where(sessions.c.token_hash == bindparam("token_hash"))
        )
    return stmt


def _acting_page() -> bool:
    """Whether this request's view acts for a partner (`access.acts_for_partner`)."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "acts_for_partner", False)


@login_manager.user_loader
def _load_user(user_id: str):
    token = session.get("sid")
    if not token:
        return None
    try:
        claimed = int(user_id)
    except (TypeError, ValueError):
        return None
    from ..notifications.services import remember_badge  # notifications imports this module

    from ..partners.resolver import ACTING_KEY, remember_header
    from ..roles.services import remember_services_text

    acting = session.get(ACTING_KEY)
    acting = acting if isinstance(acting, int) else None
    membership = _acting_page()
    found = reads.rows(_session_statement(membership), {
        "token_hash": _hash(token), "user_id": claimed, "acting_id": acting,
    })
    if not found or found[0].user_id != claimed:
        return None
    session_keys, user_keys = _statements["columns"]
    row, user, rest = reads.split(found[0], (UserSession, session_keys), (User, user_keys))
    set_committed_value(row, "user", user)
    unread = rest[0]
    now = utcnow()
    if not session_alive(row, now):
        if row.ended_at is None:
            row.ended_at = now
            db.session.commit()
        g.session_expired = True
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL and not request.path.startswith(PASSIVE_PATHS):
        row.last_seen_at = now
        db.session.commit()
    g.user_session = row
    remember_badge(row.user_id, unread)
    acting_partner = remember_header(rest[2:] if membership else rest[1:], acting, membership)
    if acting_partner is not None:
        remember_services_text(acting_partner, rest[1])
    return user


def seconds_left(row: UserSession, now=None) -> tuple[int, bool]:
    """Seconds before `row` ends, and whether activity can push that back
    (False when the 12-hour limit comes first)."""
    now = now or utcnow()
    idle = IDLE_TIMEOUT - (now - row.last_seen_at)
    absolute = ABSOLUTE_TIMEOUT - (now - row.created_at)
    return max(0, int(min(idle, absolute).total_seconds())), idle <= absolute


def touch(row: UserSession) -> None:
    """The person is active: the idle time starts again."""
    row.last_seen_at = utcnow()


def set_pending_user(user: User, purpose: str = "second_factor") -> None:
    """Remember a person who passed the password step, for the next step only."""
    session["pending_user_id"] = user.id
    session["pending_purpose"] = purpose
    session["pending_since"] = utcnow().timestamp()


def clear_pending_user() -> None:
    for key in ("pending_user_id", "pending_purpose", "pending_since", "recovery_codes"):
        session.pop(key, None)


def pending_purpose() -> str | None:
    return session.get("pending_purpose") if pending_user() is not None else None


def pending_user() -> User | None:
    user_id = session.get("pending_user_id")
    since = session.get("pending_since")
    if not user_id or since is None:
        return None
    timeout = PENDING_TIMEOUTS.get(session.get("pending_purpose"), PENDING_TIMEOUT)
    if utcnow().timestamp() - float(since) > timeout.total_seconds():
        clear_pending_user()
        return None
    if "pending_user" not in g:
        g.pending_user = db.session.get(User, user_id)
    return g.pending_user
