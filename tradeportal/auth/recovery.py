"""Recovery codes: ten single-use codes that replace a lost second factor.

A code is 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L,
no U), about 59 bits, shown as XXXX-XXXX-XXXX. Only an HMAC-SHA256 keyed with
the app's SECRET_KEY is stored: a stolen database alone does not let anyone
test guesses offline. Single use is enforced by a conditional UPDATE.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..account.models import User
from ..db import utcnow
from ..extensions import db
from .models import RecoveryCode

COUNT = 10
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
_SEPARATORS = re.compile(r"[\s\-_.]")


def normalise(code: str | None) -> str:
    return _SEPARATORS.sub("", code or "").upper()


def looks_like_recovery_code(code: str | None) -> bool:
    cleaned = normalise(code)
    return len(cleaned) == LENGTH and all(ch in ALPHABET for ch in cleaned)


def code_hash(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"recovery-code:" + normalise(code).encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def replace_codes(user: User) -> list[str]:
    """Ten new codes for `user`; the old ones stop working. Returns the codes, to show once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_code() for _ in range(COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=code_hash(code)) for code in codes)
    db.session.flush()
    return codes


def _find_unused(user: User, hashed: str) -> int | None:
    return db.session.execute(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == hashed, RecoveryCode.used_at.is_(None)
        )
    ).scalar_one_or_none()


def consume(user: User, code: str) -> bool:
    """True when `code` is one of `user`'s unused codes; it never works again."""
    if not looks_like_recovery_code(code):
        return False
    code_id = _find_unused(user, code_hash(code))
    if code_id is None:
        return False
    # Two parallel requests may both have found the row: only one UPDATE matches.
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def remaining(user: User) -> int:
    return db.session.execute(
        select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).scalar_one()
