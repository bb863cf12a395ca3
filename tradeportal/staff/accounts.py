"""Staff accounts, created from the command line."""
from __future__ import annotations

from flask import current_app

from ..access import StaffPermission
from ..account.models import User, normalise_email
from ..audit import record
from ..auth import totp
from ..auth.passwords import hash_password
from ..auth.services import find_user_by_email
from ..db import utcnow
from ..extensions import db


def create_staff_account(email, password, first_name, last_name, permissions=(), locale=None):
    """Create or promote a staff account; returns (user, new TOTP secret or None)."""
    valid = {p.value for p in StaffPermission}
    chosen = set(permissions or valid)
    unknown = chosen - valid
    if unknown:
        raise ValueError(f"unknown permissions: {', '.join(sorted(unknown))}; known: {', '.join(sorted(valid))}")
    user = find_user_by_email(email)
    secret = None
    if user is None:
        secret = totp.new_secret()
        user = User(
            email=email.strip(),
            email_normalized=normalise_email(email),
            password_hash=hash_password(password),
            first_name=first_name,
            last_name=last_name,
            locale=locale or current_app.config["DEFAULT_LOCALE"],
            email_confirmed_at=utcnow(),
            totp_secret=secret,
            totp_enrolled_at=utcnow(),
        )
        db.session.add(user)
    user.is_staff = True
    user.staff_permissions = ",".join(sorted(chosen))
    db.session.flush()
    record("staff.account_created", actor=None, subject_user_id=user.id, details={"permissions": user.staff_permissions})
    return user, secret
