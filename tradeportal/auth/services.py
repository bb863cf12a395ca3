"""Sign-in: the password step, the second-factor step, sign-out."""
from __future__ import annotations

from sqlalchemy import select

from ..account.models import User, normalise_email
from ..audit import record
from ..extensions import db
from . import passwords, totp


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email_normalized == normalise_email(email))
    ).scalar_one_or_none()


def check_password(email: str, password: str) -> User | None:
    """The account when the password is right, else None (same cost either way)."""
    user = find_user_by_email(email)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None:
        return None
    if not ok:
        record("auth.password_failed", actor=user, subject_user_id=user.id)
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def check_second_factor(user: User, code: str) -> bool:
    """A TOTP code, once; records the outcome as an audit event."""
    if totp.consume_code(user, code):
        record("auth.signed_in", actor=user, subject_user_id=user.id, details={"method": "totp"})
        return True
    record("auth.second_factor_failed", actor=user, subject_user_id=user.id)
    return False
