"""Second factor, recovery codes and sessions, seen from the person's security page.

Recovery codes are made and kept by the auth area (`auth.recovery`: ten codes
of ~59 bits, stored as HMAC-SHA256 keyed with SECRET_KEY), so that the codes
made here are the ones sign-in accepts. `qr_svg` draws an inline SVG without
`style` attributes (the CSP forbids them); the auth area's enrolment page may
use it too.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

import segno
from flask import current_app, session
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..account.models import User
from ..auth import recovery, totp
from ..auth.models import UserSession
from ..auth.sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT, current_session
from ..db import utcnow
from ..extensions import db

REENROL_TIMEOUT = timedelta(minutes=10)
SESSION_LIST_LIMIT = 50


# --- recovery codes -------------------------------------------------------------
# One implementation for the whole portal: the auth area's (sign-in consumes them).

RECOVERY_CODE_COUNT = recovery.COUNT
RECOVERY_ALPHABET = recovery.ALPHABET
RECOVERY_LENGTH = recovery.LENGTH


def normalise_recovery_code(code: str | None) -> str:
    return recovery.normalise(code)


def format_recovery_code(code: str) -> str:
    code = normalise_recovery_code(code)
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def replace_recovery_codes(user: User) -> list[str]:
    """Delete every code of `user` (used or not) and store ten new ones; returns them once."""
    return recovery.replace_codes(user)


def unused_recovery_codes(user: User) -> int:
    return recovery.remaining(user)


def is_recovery_code_shaped(code: str) -> bool:
    return recovery.looks_like_recovery_code(code)


# --- replacing the authenticator ----------------------------------------------

def start_reenrolment() -> None:
    """Remember in the cookie only a random nonce; the secret is derived on the server."""
    session["reenrol_nonce"] = secrets.token_hex(16)
    session["reenrol_since"] = utcnow().timestamp()


def cancel_reenrolment() -> None:
    session.pop("reenrol_nonce", None)
    session.pop("reenrol_since", None)


def pending_secret() -> str | None:
    """The new TOTP secret being set up, or None when there is none (or it is too old).

    HMAC(SECRET_KEY, session row + nonce): the cookie never carries the secret
    itself, and the secret only works in the session that asked for it.
    """
    nonce = session.get("reenrol_nonce")
    since = session.get("reenrol_since")
    row = current_session()
    if not nonce or since is None or row is None:
        return None
    if utcnow().timestamp() - float(since) > REENROL_TIMEOUT.total_seconds():
        cancel_reenrolment()
        return None
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"totp-reenrol:{row.id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()  # 160 bits, 32 base32 characters


def group_secret(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def qr_svg(data: str) -> str:
    """An inline SVG QR code, hidden from screen readers (the secret is also shown as text)."""
    svg = segno.make(data, error="m").svg_inline(scale=1, border=4, omitsize=True, light="#fff", svgclass="qr-code")
    return svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)


def confirm_reenrolment(user: User, code: str) -> bool:
    """Store the pending secret when `code` comes from the new app; the old secret dies."""
    secret = pending_secret()
    if secret is None:
        return False
    step = totp.matching_step(secret, code)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_enrolled_at = utcnow()
    # A new secret starts a new replay guard: the step just used is spent.
    user.totp_last_step = step
    cancel_reenrolment()
    return True


# --- sessions -----------------------------------------------------------------

def live_sessions(user: User) -> list[UserSession]:
    """The person's sessions that are still alive, most recently used first (bounded)."""
    now = utcnow()
    return list(
        db.session.execute(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.last_seen_at > now - IDLE_TIMEOUT,
                UserSession.created_at > now - ABSOLUTE_TIMEOUT,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
            .limit(SESSION_LIST_LIMIT)
        ).scalars()
    )


def end_one_session(user: User, session_id: int) -> bool:
    """End one of the person's own sessions; False when there is no such live session."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


_BROWSERS = (
    ("Edg", "Microsoft Edge"), ("OPR", "Opera"), ("SamsungBrowser", "Samsung Internet"),
    ("Firefox", "Firefox"), ("FxiOS", "Firefox"), ("CriOS", "Chrome"), ("Chromium", "Chromium"),
    ("Chrome", "Chrome"), ("Safari", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("CrOS", "ChromeOS"),
    ("Windows", "Windows"), ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"),
)


def describe_device(user_agent: str | None) -> str:
    """'Firefox on Windows' from a user-agent string, in plain words."""
    ua = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in ua), None)
    system = next((name for token, name in _SYSTEMS if token in ua), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser:
        return browser
    if system:
        return _("A browser on %(system)s", system=system)
    return _("Unknown device")
