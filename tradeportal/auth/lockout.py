"""Wrong passwords and wrong codes, counted per account.

After 10 consecutive failures the account is locked for 15 minutes: even the
right password does not sign in meanwhile. The counter is moved by SQL
(`failed_attempts = failed_attempts + 1`), never read-then-written, so that
parallel guesses are all counted; the lock is set by a conditional UPDATE, so
exactly one request locks the account and sends the e-mail.
"""
from __future__ import annotations

from datetime import timedelta

from flask import url_for
from sqlalchemy import update

from ..account.models import User
from ..audit import record
from ..db import utcnow
from ..extensions import db
from ..mail import queue_mail

MAX_FAILURES = 10
LOCK_DURATION = timedelta(minutes=15)


def is_locked(user: User, now=None) -> bool:
    return user.locked_until is not None and user.locked_until > (now or utcnow())


def register_failure(user: User) -> bool:
    """Count one failure; True when this failure locked the account."""
    db.session.execute(
        update(User).where(User.id == user.id)
        .values(failed_attempts=User.failed_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    now = utcnow()
    locked = db.session.execute(
        update(User).where(User.id == user.id, User.failed_attempts >= MAX_FAILURES)
        .values(failed_attempts=0, locked_until=now + LOCK_DURATION)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.refresh(user, ["failed_attempts", "locked_until"])
    if locked:
        record("auth.account_locked", actor=user, subject_user_id=user.id,
               details={"minutes": int(LOCK_DURATION.total_seconds() // 60)})
        queue_mail(user.email, "auth_account_locked", user.locale, name=user.full_name,
                   minutes=int(LOCK_DURATION.total_seconds() // 60),
                   reset_link=url_for("auth.forgot_password"))
    return locked


def register_failure_of_nobody() -> None:
    """The statements of `register_failure` for an address without an account: they change no row."""
    db.session.execute(
        update(User).where(User.id == 0).values(failed_attempts=User.failed_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(User).where(User.id == 0, User.failed_attempts >= MAX_FAILURES)
        .values(failed_attempts=0, locked_until=utcnow() + LOCK_DURATION)
        .execution_options(synchronize_session=False)
    )


def reset_failures(user: User) -> None:
    """After a complete sign-in: the count starts again from zero."""
    if user.failed_attempts or user.locked_until is not None:
        db.session.execute(
            update(User).where(User.id == user.id).values(failed_attempts=0, locked_until=None)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(user, ["failed_attempts", "locked_until"])
