"""Password hashing with argon2id, and the rules a new password must follow.

Rules after NIST SP 800-63B and OWASP ASVS 5: 12 to 128 characters, any
characters (spaces, emoji, pasted text), no composition rules, refused when it
is a common password or contains the first part of the person's e-mail address.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from . import blocklist

MIN_LENGTH = 12
MAX_LENGTH = 128

_hasher = PasswordHasher()
# Verified against when the address is unknown, so that both answers take as long.
_DUMMY_HASH = _hasher.hash("not a real password, only for equal timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, email: str | None = None):
    """What is wrong with `password` as a new password (a lazy message), or None."""
    if len(password) < MIN_LENGTH:
        return _l("Your password must be at least 12 characters long")
    if len(password) > MAX_LENGTH:
        return _l("Your password must be 128 characters or fewer")
    local_part = (email or "").strip().rpartition("@")[0].lower()
    if len(local_part) >= 3 and local_part in password.lower():
        return _l("Your password must not contain your e-mail address or its first part")
    if blocklist.is_blocked(password):
        return _l("This password is too common and easy to guess. Choose another one")
    return None


class PasswordRules:
    """WTForms validator: the rules above. The address comes from the field
    `email_field` of the form, or from `form.account_email` (password reset)."""

    def __init__(self, email_field: str | None = None):
        self.email_field = email_field

    def __call__(self, form, field):
        if self.email_field:
            email = form[self.email_field].data
        else:
            email = getattr(form, "account_email", None)
        problem = password_problem(field.data or "", email)
        if problem is not None:
            raise ValidationError(str(problem))
