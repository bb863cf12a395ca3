"""Time-based one-time passwords (RFC 6238) with replay protection.

A code is accepted within ±1 time step, and a step once accepted is never
accepted again: the last accepted step is stored, and moved forward only by a
conditional UPDATE, so two parallel requests with the same code cannot both win.
"""
from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import or_, update

from ..account.models import User
from ..extensions import db

STEP = 30
_NOT_DIGIT = re.compile(r"[\s-]")


def new_secret() -> str:
    return pyotp.random_base32(32)


def clean_code(code: str | None) -> str:
    """Spaces and dashes are ignored, so pasted or grouped codes work."""
    return _NOT_DIGIT.sub("", code or "")


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (±1 around now) whose code is `code`, or None."""
    code = clean_code(code)
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    now = time.time() if now is None else now
    current = int(now // STEP)
    for step in (current - 1, current, current + 1):
        if pyotp.utils.strings_equal(totp.at(step * STEP), code):
            return step
    return None


def consume_code(user: User, code: str, secret: str | None = None) -> bool:
    """True when `code` is valid for `user` and its step was not used before."""
    secret = secret or user.totp_secret
    if not secret:
        return False
    step = matching_step(secret, code)
    if step is None:
        return False
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret, interval=STEP).provisioning_uri(name=email, issuer_name=issuer)


def grouped(secret: str) -> str:
    """The secret in groups of four, for people who type it instead of scanning."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def enrol(user: User, secret: str, code: str) -> bool:
    """Store `secret` as `user`'s authenticator when `code` is right for it.

    The accepted step is kept, so the same code cannot then sign in; the
    conditional UPDATE makes a double submission enrol once.
    """
    from ..db import utcnow

    step = matching_step(secret, code)
    if step is None:
        return False
    now = utcnow()
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, User.totp_enrolled_at.is_(None))
        .values(totp_secret=secret, totp_enrolled_at=now, totp_last_step=step, totp_candidate_secret=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(user, ["totp_secret", "totp_enrolled_at", "totp_last_step", "totp_candidate_secret"])
    return True
