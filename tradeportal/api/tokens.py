"""OAuth 2.0 tokens (RFC 6749): client credentials, refresh rotation with reuse detection, bearer checks."""
from __future__ import annotations

import base64
import hmac
import logging
import secrets
from datetime import timedelta
from urllib.parse import unquote

from sqlalchemy import select, update

from ..audit import record
from ..db import utcnow
from ..extensions import db
from .models import ApiApplication, ApiToken
from .services import sha256

log = logging.getLogger(__name__)

ACCESS_PREFIX = "tpat_"
REFRESH_PREFIX = "tprt_"
ACCESS_LIFETIME = timedelta(hours=1)
REFRESH_LIFETIME = timedelta(days=30)
LAST_USED_PRECISION = timedelta(minutes=1)


class GrantError(Exception):
    """An RFC 6749 error: `code` is the `error` member, status 400 or 401."""

    def __init__(self, code: str, status: int = 400, commit: bool = False):
        super().__init__(code)
        # commit: the refusal itself changed rows (a reused refresh token ended its family).
        self.code, self.status, self.commit = code, status, commit


def issue_pair(application: ApiApplication, family: str | None = None) -> tuple[str, str, int]:
    now = utcnow()
    family = family or secrets.token_hex(16)
    access = ACCESS_PREFIX + secrets.token_urlsafe(32)
    refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
    db.session.add_all([
        ApiToken(application_id=application.id, kind="access", token_hash=sha256(access), family=family,
                 created_at=now, expires_at=now + ACCESS_LIFETIME),
        ApiToken(application_id=application.id, kind="refresh", token_hash=sha256(refresh), family=family,
                 created_at=now, expires_at=now + REFRESH_LIFETIME),
    ])
    db.session.flush()
    return access, refresh, int(ACCESS_LIFETIME.total_seconds())


def client_from_request(request) -> ApiApplication:
    """The application authenticated by HTTP Basic or by client_id/client_secret in the body."""
    client_id = client_secret = None
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            client_id, _, client_secret = decoded.partition(":")
            client_id, client_secret = unquote(client_id), unquote(client_secret)
        except (ValueError, UnicodeDecodeError):
            raise GrantError("invalid_client", 401) from None
    else:
        client_id = request.form.get("client_id")
        client_secret = request.form.get("client_secret")
    if not client_id or not client_secret or len(client_id) > 40 or len(client_secret) > 200:
        raise GrantError("invalid_client", 401)
    application = db.session.execute(
        select(ApiApplication).where(ApiApplication.client_id == client_id)
    ).scalar_one_or_none()
    expected = application.client_secret_hash if application is not None else None
    # Compare even when the client is unknown, so timing does not tell which ids exist.
    if not hmac.compare_digest(sha256(client_secret), expected or "0" * 64) or expected is None:
        raise GrantError("invalid_client", 401)
    if application.revoked_at is not None:
        raise GrantError("invalid_client", 401)
    return application


def grant_client_credentials(application: ApiApplication) -> tuple[str, str, int]:
    access, refresh, expires_in = issue_pair(application)
    application.last_used_at = utcnow()
    return access, refresh, expires_in


def grant_refresh(application: ApiApplication, refresh_token: str) -> tuple[str, str, int]:
    """Exchange a refresh token once; a second use revokes its whole family."""
    if not refresh_token or len(refresh_token) > 200:
        raise GrantError("invalid_request")
    token_hash = sha256(refresh_token)
    now = utcnow()
    row = db.session.execute(
        select(ApiToken.id, ApiToken.family, ApiToken.application_id, ApiToken.used_at)
        .where(ApiToken.token_hash == token_hash, ApiToken.kind == "refresh")
    ).one_or_none()
    if row is None or row.application_id != application.id:
        raise GrantError("invalid_grant")
    _lock_family(row.family)
    claimed = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == row.id, ApiToken.used_at.is_(None), ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        if row.used_at is not None or _was_used(row.id):
            # A used refresh token came back: someone holds a copy. End the whole chain
            # (once: a second copy arriving after that finds nothing left to end).
            if revoke_family(row.family):
                record("api.refresh_token_reused", partner_id=application.partner_id, object_type="api_application",
                       object_id=application.id)
                raise GrantError("invalid_grant", commit=True)
        raise GrantError("invalid_grant")
    application.last_used_at = now
    return issue_pair(application, family=row.family)


def _was_used(token_id: int) -> bool:
    return db.session.execute(select(ApiToken.used_at).where(ApiToken.id == token_id)).scalar_one_or_none() is not None


def _lock_family(family: str) -> None:
    """Make every exchange and revocation of one chain wait its turn on the chain's first row.

    Without it, parallel uses of one refresh token (a client retrying, or a thief racing
    the owner) each lock the chain's rows in whatever order their UPDATE finds them, and
    PostgreSQL breaks the resulting deadlock with an error: a 500 instead of invalid_grant.
    With it, the first attempt wins and each later one sees the token used. (SQLite
    serialises writers anyway and ignores FOR UPDATE.)"""
    db.session.execute(select(ApiToken.id).where(ApiToken.family == family)
                       .order_by(ApiToken.id).limit(1).with_for_update())


def revoke_family(family: str) -> bool:
    """End every live token of the chain; True when this call ended some (False: already ended)."""
    _lock_family(family)
    ended = db.session.execute(update(ApiToken).where(ApiToken.family == family, ApiToken.revoked_at.is_(None))
                               .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    return ended.rowcount > 0


def application_for_bearer(token: str) -> ApiApplication | None:
    """The live application of a valid access token, or None (one query)."""
    if not token.startswith(ACCESS_PREFIX) or len(token) > 200:
        return None
    now = utcnow()
    application = db.session.execute(
        select(ApiApplication).join(ApiToken, ApiToken.application_id == ApiApplication.id)
        .where(ApiToken.token_hash == sha256(token), ApiToken.kind == "access", ApiToken.revoked_at.is_(None),
               ApiToken.expires_at > now, ApiApplication.revoked_at.is_(None))
    ).scalar_one_or_none()
    if application is not None and (application.last_used_at is None
                                    or application.last_used_at < now - LAST_USED_PRECISION):
        # At most one write a minute per application, and never a lost update.
        db.session.execute(update(ApiApplication).where(ApiApplication.id == application.id)
                           .values(last_used_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    return application
