"""Links sent by e-mail (confirm an address, reset a password).

The token is `secrets.token_urlsafe(32)` (256 bits); only its SHA-256 is
stored. A new link for the same purpose kills the older ones, and single use
is enforced by the database: `UPDATE … WHERE used_at IS NULL AND expires_at > now`.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from ..account.models import User
from ..db import utcnow
from ..extensions import db
from .models import AccountToken

CONFIRM_EMAIL = "confirm_email"
RESET_PASSWORD = "reset_password"
LIFETIMES = {CONFIRM_EMAIL: timedelta(hours=24), RESET_PASSWORD: timedelta(hours=1)}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def revoke(user: User, purpose: str) -> int:
    """Kill every unused link of `user` for `purpose`."""
    result = db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def issue(user: User, purpose: str) -> str:
    """A new link token for `user` (the older ones for `purpose` die); returns the token itself."""
    revoke(user, purpose)
    token = secrets.token_urlsafe(32)
    db.session.add(AccountToken(
        token_hash=_hash(token), user_id=user.id, purpose=purpose, expires_at=utcnow() + LIFETIMES[purpose],
    ))
    db.session.flush()
    return token


def find(token: str | None, purpose: str) -> AccountToken | None:
    """The row of `token` whatever its state (used, expired), or None."""
    if not token or len(token) > 100 or "\x00" in token:
        return None
    return db.session.execute(
        select(AccountToken).where(AccountToken.token_hash == _hash(token), AccountToken.purpose == purpose)
    ).scalar_one_or_none()


def is_usable(row: AccountToken | None) -> bool:
    return row is not None and row.used_at is None and row.expires_at > utcnow()


def consume(token: str | None, purpose: str) -> User | None:
    """Use `token` once: its account, or None when unknown, used or expired."""
    row = find(token, purpose)
    if row is None:
        return None
    now = utcnow()
    result = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None), AccountToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    row.used_at = now
    return db.session.get(User, row.user_id)
