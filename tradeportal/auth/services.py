"""Sign-in (password, then second factor), enrolment of the authenticator, password reset."""
from __future__ import annotations

from datetime import timedelta

from flask import url_for
from sqlalchemy import func, select

from ..account.models import User, normalise_email
from ..audit import record
from ..db import utcnow
from ..extensions import db
from ..mail import queue_mail
from . import lockout, passwords, recovery, tokens, totp
from .sessions import end_all_sessions

# What comes after a right password.
CONFIRM, ENROL, SECOND_FACTOR = "confirm", "enrol", "second_factor"


def _searchable(email: str | None) -> str | None:
    """The normalised address, or None when no account can have it (PostgreSQL refuses NUL in text)."""
    normalised = normalise_email(email or "")
    return normalised if normalised and "\x00" not in normalised else None


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email_normalized == _searchable(email))
    ).scalar_one_or_none()


def _account_id(email: str) -> int | None:
    return db.session.execute(select(User.id).where(User.email_normalized == _searchable(email))).scalar_one_or_none()


def password_step(email: str, password: str) -> tuple[User | None, str | None]:
    """(account, next step) when the password is right and the account not locked, else (None, None).

    Every refusal looks the same to the caller and costs one argon2 verification,
    so that nobody learns whether an address has an account or is locked.
    """
    user = find_user_by_email(email)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None:
        _unknown_address_failed()
        return None, None
    if lockout.is_locked(user):
        record("auth.sign_in_refused_locked", actor=user, subject_user_id=user.id)
        return None, None
    if not ok:
        record("auth.password_failed", actor=user, subject_user_id=user.id)
        lockout.register_failure(user)
        return None, None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    if user.email_confirmed_at is None:
        return user, CONFIRM
    if not user.second_factor_enrolled:
        return user, ENROL
    return user, SECOND_FACTOR


def _unknown_address_failed() -> None:
    """A wrong address costs what a wrong password costs (the failure's audit event, its count),
    so that the time of the answer does not tell whether an account exists."""
    record("auth.password_failed", actor=None, subject_user_id=None)
    lockout.register_failure_of_nobody()


def check_password(email: str, password: str) -> User | None:
    """The account when the password is right (and the account not locked), else None."""
    return password_step(email, password)[0]


def second_factor_step(user: User, code: str) -> str:
    """"totp" or "recovery_code" when signed in; "wrong", or "locked" when the account is locked."""
    if lockout.is_locked(user):
        return "locked"
    cleaned = totp.clean_code(code)
    if len(cleaned) == 6 and cleaned.isdigit():
        if totp.consume_code(user, cleaned):
            return _signed_in(user, "totp")
    elif recovery.consume(user, code):
        left = recovery.remaining(user)
        record("auth.recovery_code_used", actor=user, subject_user_id=user.id, details={"remaining": left})
        queue_mail(user.email, "auth_recovery_code_used", user.locale, name=user.full_name, remaining=left)
        return _signed_in(user, "recovery_code")
    record("auth.second_factor_failed", actor=user, subject_user_id=user.id)
    return "locked" if lockout.register_failure(user) else "wrong"


def _signed_in(user: User, method: str) -> str:
    lockout.reset_failures(user)
    record("auth.signed_in", actor=user, subject_user_id=user.id, details={"method": method})
    return method


def enrolment_signed_in(user: User) -> None:
    """The sign-in that ends with enrolment (codes saved): its own audit event, as every sign-in."""
    _signed_in(user, "enrolment")


def check_second_factor(user: User, code: str) -> bool:
    return second_factor_step(user, code) in ("totp", "recovery_code")


def complete_enrolment(user: User, secret: str, code: str) -> list[str] | None:
    """Keep `secret` when `code` proves the app has it; returns ten new recovery codes, or None."""
    if not totp.enrol(user, secret, code):
        return None
    codes = recovery.replace_codes(user)
    record("auth.second_factor_enrolled", actor=user, subject_user_id=user.id)
    return codes


def request_password_reset(email: str) -> None:
    """Ask for a reset link for `email`: nothing the asker can see tells whether it has an account.

    Known and unknown addresses take the same path in the request: one look-up and one row,
    the audit event (its subject is the account, or none). The link and its e-mail are made
    by the worker (`send_reset_links`, each pass of `flask tp send-mail`), so that the
    answer takes the same time whether or not there is someone to write to.
    """
    record("auth.password_reset_requested", actor=None, subject_user_id=_account_id(email))


RESET_REQUEST_WINDOW = timedelta(hours=1)


def send_reset_links() -> str | None:
    """Worker task: a reset link for each account that asked since its last link (within an hour)."""
    from flask import current_app

    from ..audit import AuditEvent
    from .models import AccountToken

    since = utcnow() - RESET_REQUEST_WINDOW
    asked = db.session.execute(
        select(AuditEvent.subject_user_id, func.max(AuditEvent.occurred_at))
        .where(AuditEvent.action == "auth.password_reset_requested", AuditEvent.subject_user_id.is_not(None),
               AuditEvent.occurred_at >= since)
        .group_by(AuditEvent.subject_user_id)
    ).all()
    sent = 0
    for user_id, asked_at in asked:
        # The account's row is locked (PostgreSQL), so that two workers do not both send a link.
        user = db.session.execute(select(User).where(User.id == user_id).with_for_update()).scalar_one_or_none()
        answered = user is None or db.session.execute(
            select(AccountToken.id).where(AccountToken.user_id == user_id,
                                          AccountToken.purpose == tokens.RESET_PASSWORD,
                                          AccountToken.created_at >= asked_at).limit(1)
        ).first() is not None
        if answered:
            db.session.rollback()
            continue
        token = tokens.issue(user, tokens.RESET_PASSWORD)
        with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):
            link = url_for("auth.reset_password_link", token=token)
        queue_mail(user.email, "auth_reset_password", user.locale, name=user.full_name, link=link)
        db.session.commit()
        sent += 1
    return f"reset links sent: {sent}" if sent else None


def reset_password(token: str, new_password: str) -> User | None:
    """Set a new password with a reset link (once). Every session of the account ends;
    the second factor is still asked at the next sign-in."""
    user = tokens.consume(token, tokens.RESET_PASSWORD)
    if user is None:
        return None
    user.password_hash = passwords.hash_password(new_password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()  # the link reached the mailbox: the address is proven
    user.failed_attempts = 0
    user.locked_until = None
    tokens.revoke(user, tokens.RESET_PASSWORD)
    ended = end_all_sessions(user)
    record("auth.password_reset", actor=user, subject_user_id=user.id, details={"sessions_ended": ended})
    queue_mail(user.email, "auth_password_changed", user.locale, name=user.full_name,
               reset_link=url_for("auth.forgot_password"))
    return user
