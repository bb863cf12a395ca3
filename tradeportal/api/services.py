"""API applications: create, show the keys once, rotate the secret, revoke, webhook address.

Views call one of these, then commit once. Secrets are random (256 bits), carry a
prefix that secret scanners recognise, and only their SHA-256 is stored.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..audit import record
from ..db import utcnow
from ..extensions import db
from .models import ApiApplication, ApiToken, DownloadTicket

CLIENT_ID_PREFIX = "tpci_"
SECRET_PREFIX = "tpcs_"
REVEAL_WINDOW = timedelta(minutes=10)

SCOPES = {
    "partner:read": _l("Read the business partner's profile and roles"),
    "notifications:read": _l("Read notifications"),
    "notifications:write": _l("Mark notifications as read"),
    "documents:read": _l("List and download documents"),
    "documents:write": _l("Upload documents"),
}


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def applications_of(partner_id: int) -> list[ApiApplication]:
    """The partner's applications, active first, newest first (one query; a partner has few)."""
    return list(db.session.execute(
        select(ApiApplication).where(ApiApplication.partner_id == partner_id)
        .order_by(ApiApplication.revoked_at.is_not(None), ApiApplication.created_at.desc(), ApiApplication.id.desc())
    ).scalars())


def get_application(partner_id: int, application_id: int) -> ApiApplication | None:
    return db.session.execute(
        select(ApiApplication).where(ApiApplication.id == application_id, ApiApplication.partner_id == partner_id)
    ).scalar_one_or_none()


def _tell_other_managers(partner, actor, subject, body, application) -> None:
    from ..partners.notify import notify_managers

    notify_managers(partner, "api_application", subject, body,
                    link=f"/partners/{partner.id}/api/{application.id}", except_user=actor)


def _allow_reveal(application: ApiApplication, actor, kind: str) -> None:
    application.reveal_kind = kind
    application.reveal_user_id = actor.id
    application.reveal_until = utcnow() + REVEAL_WINDOW


def create_application(actor, partner, *, name: str, description: str, scopes: list[str], environment: str) -> ApiApplication:
    """A new application whose keys are issued when its keys page is first shown."""
    application = ApiApplication(
        partner_id=partner.id, name=name.strip(), description=(description or "").strip(), environment=environment,
        scopes=" ".join(s for s in SCOPES if s in scopes), client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
        created_by_id=actor.id, created_at=utcnow(),
    )
    _allow_reveal(application, actor, "credentials")
    db.session.add(application)
    db.session.flush()
    record("api.application_created", actor=actor, partner_id=partner.id, object_type="api_application",
           object_id=application.id, details={"name": application.name, "environment": environment,
                                              "scopes": application.scopes})
    _tell_other_managers(partner, actor, _l("API application %(name)s created", name=application.name),
                         _l("%(person)s created the API application %(name)s for %(partner)s.",
                            person=actor.full_name, name=application.name, partner=partner.name), application)
    return application


def rotate_secret(actor, partner, application: ApiApplication) -> None:
    """The current secret stops working now; the new one is issued on the keys page."""
    application.client_secret_hash = None
    application.secret_created_at = None
    _allow_reveal(application, actor, "credentials")
    record("api.secret_rotated", actor=actor, partner_id=partner.id, object_type="api_application",
           object_id=application.id, details={"name": application.name})
    _tell_other_managers(partner, actor, _l("Secret of the API application %(name)s replaced", name=application.name),
                         _l("%(person)s replaced the client secret of the API application %(name)s. The software using it needs the new secret.",
                            person=actor.full_name, name=application.name), application)
    db.session.flush()


def revoke_application(actor, partner, application: ApiApplication) -> None:
    """The application and every token of it stop working at once."""
    now = utcnow()
    application.revoked_at = now
    application.client_secret_hash = None
    application.reveal_kind = application.reveal_user_id = application.reveal_until = None
    application.webhook_url = application.webhook_nonce = None
    db.session.execute(update(ApiToken).where(ApiToken.application_id == application.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))
    record("api.application_revoked", actor=actor, partner_id=partner.id, object_type="api_application",
           object_id=application.id, details={"name": application.name})
    _tell_other_managers(partner, actor, _l("API application %(name)s revoked", name=application.name),
                         _l("%(person)s revoked the API application %(name)s. Its keys no longer work.",
                            person=actor.full_name, name=application.name), application)
    db.session.flush()


def set_webhook(actor, partner, application: ApiApplication, url: str | None) -> None:
    """Register (new signing secret) or remove the callback address."""
    if url:
        application.webhook_url = url
        application.webhook_nonce = secrets.token_hex(16)
        application.webhook_cursor = _latest_notification_id(application)
        _allow_reveal(application, actor, "webhook")
        action = "api.webhook_set"
        subject = _l("Webhook of the API application %(name)s set", name=application.name)
    else:
        application.webhook_url = application.webhook_nonce = None
        action = "api.webhook_removed"
        subject = _l("Webhook of the API application %(name)s removed", name=application.name)
    record(action, actor=actor, partner_id=partner.id, object_type="api_application", object_id=application.id,
           # Only the host: a vendor may have put a credential in the path or the query.
           details={"name": application.name, "host": urlsplit(url).hostname if url else None})
    _tell_other_managers(partner, actor, subject, _l("%(person)s changed the webhook of the API application %(name)s.",
                                                     person=actor.full_name, name=application.name), application)
    db.session.flush()


def _latest_notification_id(application: ApiApplication) -> int:
    from sqlalchemy import func

    from .models import ApiNotification

    # Only notifications created from now on are sent to a new address.
    return db.session.execute(select(func.coalesce(func.max(ApiNotification.id), 0))
                              .where(ApiNotification.partner_id == application.partner_id)).scalar_one()


@dataclass
class Credentials:
    client_id: str
    client_secret: str
    access_token: str
    refresh_token: str
    expires_in: int


def claim_reveal(actor, application: ApiApplication, kind: str) -> bool:
    """True once: the conditional UPDATE lets only one page view show the keys."""
    now = utcnow()
    result = db.session.execute(
        update(ApiApplication)
        .where(ApiApplication.id == application.id, ApiApplication.reveal_kind == kind,
               ApiApplication.reveal_user_id == actor.id, ApiApplication.reveal_until > now,
               ApiApplication.revoked_at.is_(None))
        .values(reveal_kind=None, reveal_user_id=None, reveal_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def issue_credentials(actor, partner, application: ApiApplication) -> Credentials:
    """A new client secret and a first token pair (call after a successful claim_reveal)."""
    from .tokens import issue_pair

    secret = new_secret(SECRET_PREFIX)
    application.client_secret_hash = sha256(secret)
    application.secret_created_at = utcnow()
    access, refresh, expires_in = issue_pair(application)
    record("api.keys_shown", actor=actor, partner_id=partner.id, object_type="api_application", object_id=application.id)
    db.session.flush()
    return Credentials(application.client_id, secret, access, refresh, expires_in)


def new_download_ticket(actor, application: ApiApplication) -> str:
    ticket = secrets.token_urlsafe(24)
    db.session.add(DownloadTicket(application_id=application.id, user_id=actor.id, ticket_hash=sha256(ticket),
                                  expires_at=utcnow() + REVEAL_WINDOW))
    db.session.flush()
    return ticket


def use_download_ticket(actor, application: ApiApplication, ticket: str) -> bool:
    result = db.session.execute(
        update(DownloadTicket)
        .where(DownloadTicket.ticket_hash == sha256(ticket or ""), DownloadTicket.application_id == application.id,
               DownloadTicket.user_id == actor.id, DownloadTicket.used_at.is_(None), DownloadTicket.expires_at > utcnow())
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def credentials_match(application: ApiApplication, client_secret: str, access_token: str, refresh_token: str) -> bool:
    """The values posted back for the download are this application's own keys."""
    if not application.client_secret_hash or sha256(client_secret or "") != application.client_secret_hash:
        return False
    hashes = {sha256(access_token or ""), sha256(refresh_token or "")}
    found = db.session.execute(select(ApiToken.id).where(ApiToken.application_id == application.id,
                                                         ApiToken.token_hash.in_(hashes))).scalars().all()
    return len(found) == 2
