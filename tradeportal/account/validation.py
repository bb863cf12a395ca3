"""Rules for what a person types into their profile: passwords and phone numbers."""
from __future__ import annotations

import re

from ..auth import passwords

_PHONE_JUNK = re.compile(r"[\s.\-/()]")
_PHONE = re.compile(r"\+[1-9]\d{6,14}")
_EXTENSION = re.compile(r"\d{1,6}")


def validate_new_password(password: str, email: str) -> str | None:
    """An error message naming what is wrong with a new password, or None.

    The same rules as sign-up and password reset (`auth.passwords.password_problem`:
    12–128 characters, not the address's first part, not on the blocklist).
    """
    problem = passwords.password_problem(password or "", email)
    return None if problem is None else str(problem)


def normalise_phone(value: str | None) -> str | None:
    """An international number as '+41 44 123 45 67' → '+41441234567'; None when implausible.

    Only international numbers are accepted: the agency serves people in
    several countries and cannot guess a country from a national number.
    """
    compact = _PHONE_JUNK.sub("", value or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _PHONE.fullmatch(compact) else None


def display_phone(value: str | None) -> str:
    """Keep what the person typed, only with `00` turned into `+` and spaces tidied."""
    text = " ".join((value or "").split())
    return "+" + text[2:].lstrip() if text.startswith("00") else text


def valid_extension(value: str | None) -> bool:
    return bool(_EXTENSION.fullmatch((value or "").strip()))
