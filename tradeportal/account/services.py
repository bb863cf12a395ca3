"""Account services: profile, e-mail and password changes, security changes, deletion.

Views call one of these, then commit once. Each checks its rule, changes the
rows, writes the audit event and queues the e-mails, and flushes.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Callable

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, null, select, update
from sqlalchemy.exc import IntegrityError

from ..audit import AuditEvent, record
from ..auth import passwords
from ..auth.models import AccountToken, RecoveryCode
from ..auth.sessions import end_all_sessions
from ..db import utcnow
from ..extensions import db
from ..mail import queue_mail
from .models import User, normalise_email
from .security import replace_recovery_codes

EMAIL_CHANGE_VALIDITY = timedelta(hours=24)

# Other areas append callables `(user) -> str | None`: a sentence saying why the
# account cannot be deleted yet (e.g. "only administrator of partner X"), or None.
deletion_blockers: list[Callable] = []


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def notify(user: User, subject, message, closing=None) -> None:
    """A short security or support notice in the person's language (lazy strings)."""
    queue_mail(user.email, "account_notice", user.locale, name=user.full_name,
               subject=subject, message=message, closing=closing)


def password_matches(user: User, password: str) -> bool:
    """Re-asked password for a sensitive change; a wrong one is audited."""
    if passwords.verify_password(user.password_hash, password or ""):
        return True
    record("account.reauthentication_failed", actor=user, subject_user_id=user.id)
    return False


# --- profile --------------------------------------------------------------------

PROFILE_FIELDS = ("first_name", "last_name", "phone", "phone_extension", "locale", "email_notifications")


def update_profile(user: User, **values) -> list[str]:
    """Set the profile fields given; returns the names of those that changed."""
    changed = []
    for name in PROFILE_FIELDS:
        if name in values and getattr(user, name) != values[name]:
            setattr(user, name, values[name])
            changed.append(name)
    if changed:
        record("account.profile_updated", actor=user, subject_user_id=user.id, details={"fields": changed})
    db.session.flush()
    return changed


# --- e-mail address -------------------------------------------------------------

def request_email_change(user: User, new_email: str) -> None:
    """Send a 24-hour link to the new address and tell the old one.

    The answer to the person is the same whether or not another account uses
    the new address, so that this form cannot tell who has an account: when the
    address is taken, its owner gets a message saying so instead of a link.
    """
    new_email = new_email.strip()
    taken = db.session.execute(
        select(User.id).where(User.email_normalized == normalise_email(new_email))
    ).scalar_one_or_none()
    if taken is not None:
        queue_mail(new_email, "account_email_in_use", user.locale)
    else:
        # Only the newest link works: earlier ones for another address die now.
        db.session.execute(
            update(AccountToken)
            .where(AccountToken.user_id == user.id, AccountToken.purpose == "change_email", AccountToken.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        token = secrets.token_urlsafe(32)
        db.session.add(AccountToken(
            token_hash=_token_hash(token), user_id=user.id, purpose="change_email", new_email=new_email,
            expires_at=utcnow() + EMAIL_CHANGE_VALIDITY,
        ))
        queue_mail(new_email, "account_email_change", user.locale, name=user.full_name,
                   link=url_for("account.confirm_email_change", token=token))
    queue_mail(user.email, "account_email_change_requested", user.locale, name=user.full_name, new_email=new_email)
    record("account.email_change_requested", actor=user, subject_user_id=user.id)
    db.session.flush()


def pending_email_change(token: str) -> AccountToken | None:
    """The unused, unexpired change_email token for this link (nothing is consumed)."""
    return db.session.execute(
        select(AccountToken).where(
            AccountToken.token_hash == _token_hash(token or ""),
            AccountToken.purpose == "change_email",
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
    ).scalar_one_or_none()


def confirm_email_change(token: str) -> tuple[User | None, str | None]:
    """Use the link once and change the address: (user, None) or (None, 'invalid' | 'taken')."""
    row = pending_email_change(token)
    if row is None:
        return None, "invalid"
    used = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None), AccountToken.expires_at > utcnow())
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return None, "invalid"  # someone else followed it a moment ago
    user = db.session.get(User, row.user_id)
    normalized = normalise_email(row.new_email)
    other = db.session.execute(
        select(User.id).where(User.email_normalized == normalized, User.id != user.id)
    ).scalar_one_or_none()
    if other is not None:
        return None, "taken"
    user.email = row.new_email
    user.email_normalized = normalized
    user.email_confirmed_at = utcnow()
    record("account.email_changed", actor=user, subject_user_id=user.id)
    try:
        db.session.flush()
    except IntegrityError:  # another account took the address in the same instant
        db.session.rollback()
        return None, "taken"
    return user, None


# --- password and second factor -------------------------------------------------

def change_password(user: User, new_password: str) -> int:
    """Set a new password and end every other session; returns how many ended."""
    user.password_hash = passwords.hash_password(new_password)
    ended = end_all_sessions(user, except_current=True)
    record("account.password_changed", actor=user, subject_user_id=user.id, details={"sessions_ended": ended})
    notify(user, _l("Your password was changed"),
           _l("The password of your user account was changed. Every other session was signed out."))
    db.session.flush()
    return ended


def authenticator_replaced(user: User) -> int:
    """After a new authenticator app was confirmed: other sessions end, the person is told."""
    ended = end_all_sessions(user, except_current=True)
    record("account.authenticator_replaced", actor=user, subject_user_id=user.id, details={"sessions_ended": ended})
    notify(user, _l("Your authenticator app was replaced"),
           _l("A new authenticator app was set up for your user account. The previous one no longer works, and every other session was signed out."))
    db.session.flush()
    return ended


def regenerate_recovery_codes(user: User) -> list[str]:
    """Ten new recovery codes; every earlier code stops working."""
    codes = replace_recovery_codes(user)
    # A change of the second factor, like a new authenticator app: other sessions end (ASVS 5.0 V7.4.3).
    ended = end_all_sessions(user, except_current=True)
    record("account.recovery_codes_regenerated", actor=user, subject_user_id=user.id, details={"sessions_ended": ended})
    notify(user, _l("You have new recovery codes"),
           _l("New recovery codes were made for your user account. The earlier ones no longer work, and every other session was signed out."))
    db.session.flush()
    return codes


def session_ended(user: User, session_id: int) -> None:
    record("account.session_ended", actor=user, subject_user_id=user.id, object_type="user_session", object_id=session_id)


def sign_out_everywhere(user: User) -> int:
    """End every session of the person, this one included."""
    ended = end_all_sessions(user)
    record("account.signed_out_everywhere", actor=user, subject_user_id=user.id, details={"sessions_ended": ended})
    db.session.flush()
    return ended


# --- deletion -------------------------------------------------------------------

def deletion_blocked_reasons(user: User) -> list[str]:
    return [reason for blocker in deletion_blockers if (reason := blocker(user))]


def pseudonymise_audit_events(user_id: int, pseudonym: str) -> None:
    """Erase a deleted person from the audit trail, keeping the events themselves.

    The one documented exception to "audit events are append-only": a Core
    UPDATE (which the ORM's before_update guard does not see, and which no other
    code path uses). Events the person did: `actor_user_id` becomes NULL,
    `actor_label` the pseudonym, and the IP address and details go. Events about
    the person done by someone else (e.g. a staff member): `subject_user_id`
    becomes NULL and the details keep only the pseudonym, so that the events of
    one deleted person stay linkable without naming them; the actor is kept.
    """
    table = AuditEvent.__table__
    db.session.execute(
        update(table).where(table.c.actor_user_id == user_id)
        .values(actor_user_id=None, actor_label=pseudonym, ip_address=None, details=None,
                subject_user_id=case((table.c.subject_user_id == user_id, null()), else_=table.c.subject_user_id))
    )
    db.session.execute(
        update(table).where(table.c.subject_user_id == user_id)
        .values(subject_user_id=None, details={"subject": pseudonym})
    )


def delete_account(user: User) -> str:
    """Erase the account and its personal data; returns the pseudonym used in the audit trail.

    Sessions, tokens, recovery codes and terms acceptances go with the row
    (ON DELETE CASCADE); feedback keeps no user id (SET NULL). The caller must
    have checked `deletion_blocked_reasons` and signs the person out.
    """
    pseudonym = f"deleted-user-{secrets.token_hex(6)}"
    queue_mail(user.email, "account_deleted", user.locale, name=user.full_name)
    user_id = user.id
    pseudonymise_audit_events(user_id, pseudonym)
    db.session.delete(user)
    db.session.flush()
    # Inserted directly: `record` would name the (now deleted) person and their address.
    db.session.add(AuditEvent(action="account.deleted", actor_label=pseudonym))
    db.session.flush()
    return pseudonym


# --- staff support ---------------------------------------------------------------

def unlock_account(actor: User, user: User, reason: str) -> None:
    """Clear a lockout after failed sign-ins."""
    user.failed_attempts = 0
    user.locked_until = None
    record("support.account_unlocked", actor=actor, subject_user_id=user.id, object_type="user", object_id=user.id,
           details={"reason": reason})
    notify(user, _l("Your user account was unlocked"),
           _l("The agency unlocked your user account. You can sign in again."),
           closing=_l("If you did not ask for this, contact the agency."))
    db.session.flush()


def reset_second_factor(actor: User, user: User, reason: str) -> None:
    """Remove the authenticator and recovery codes; the person enrols again at next sign-in."""
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    ended = end_all_sessions(user)
    record("support.second_factor_reset", actor=actor, subject_user_id=user.id, object_type="user", object_id=user.id,
           details={"reason": reason, "sessions_ended": ended})
    notify(user, _l("Your two-factor authentication was reset"),
           _l("The agency removed the authenticator app and the recovery codes of your user account, and signed out every session. At your next sign-in you will set up an authenticator app again."),
           closing=_l("If you did not ask for this, contact the agency."))
    db.session.flush()
