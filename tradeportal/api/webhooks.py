"""Webhooks: the worker POSTs each new API notification to the application's callback address.

Secrets: the bearer token we send and the HMAC signing key are derived from the
portal's secret key and a random nonce of the application (nothing secret is stored;
changing TRADEPORTAL_SECRET_KEY or setting the address again gives new ones).
Signature: `Tradeportal-Signature: t=<unix time>,v1=<hex HMAC-SHA256(key, "<t>." + body)>`.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from ..db import utcnow
from ..extensions import db
from .models import ApiApplication, ApiNotification, WebhookDelivery

log = logging.getLogger(__name__)

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1
BATCH = 50
TIMEOUT = 5


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: it could lead to an address we refuse."""

    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _derive(application: ApiApplication, label: str, prefix: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"webhook:{label}:{application.id}:{application.webhook_nonce}".encode()
    return prefix + hmac.new(key, message, hashlib.sha256).hexdigest()


def bearer_secret(application: ApiApplication) -> str:
    return _derive(application, "bearer", "tpwb_")


def signing_secret(application: ApiApplication) -> str:
    return _derive(application, "signing", "tpws_")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def local_allowed() -> bool:
    return current_app.config["ENVIRONMENT"] in ("development", "testing")


def url_problem(url: str) -> str | None:
    """None when the address may be used; else a short reason code."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "invalid"
    if not parts.hostname or parts.username or parts.password or len(url) > 500:
        return "invalid"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost") and local_allowed():
        return None
    return "https"


def _private_target(host: str) -> bool:
    """Refuse addresses inside the agency's network (outside development and tests)."""
    if local_allowed():
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return True
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            return True
    return False


def queue_deliveries() -> int:
    """One delivery per new notification and application with an address; returns how many."""
    created = 0
    applications = db.session.execute(
        select(ApiApplication).where(ApiApplication.webhook_url.is_not(None), ApiApplication.revoked_at.is_(None))
    ).scalars().all()
    for application in applications:
        rows = db.session.execute(
            select(ApiNotification.id).where(ApiNotification.partner_id == application.partner_id,
                                             ApiNotification.is_test == application.is_test,
                                             ApiNotification.id > application.webhook_cursor)
            .order_by(ApiNotification.id).limit(500)
        ).scalars().all()
        for notification_id in rows:
            db.session.add(WebhookDelivery(application_id=application.id, notification_id=notification_id))
        if rows:
            application.webhook_cursor = rows[-1]
            created += len(rows)
    db.session.commit()
    return created


def payload(notification: ApiNotification) -> dict:
    from .serialise import notification_json

    return {"type": "notification.created", "data": notification_json(notification)}


def send_due() -> tuple[int, int]:
    """Send deliveries that are due; returns (delivered, failed attempts)."""
    now = utcnow()
    due = db.session.execute(
        select(WebhookDelivery.id).where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at).limit(BATCH)
    ).scalars().all()
    delivered = failed = 0
    for delivery_id in due:
        # Claim: push the next attempt into the future first, so a parallel worker skips it.
        claimed = db.session.execute(
            update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
                                          WebhookDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + timedelta(minutes=10)).execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if claimed != 1:
            continue
        delivery = db.session.get(WebhookDelivery, delivery_id)
        application = db.session.get(ApiApplication, delivery.application_id)
        notification = db.session.get(ApiNotification, delivery.notification_id)
        ok = _attempt(delivery, application, notification)
        delivered += ok
        failed += not ok
        db.session.commit()
    return delivered, failed


def _attempt(delivery: WebhookDelivery, application: ApiApplication, notification: ApiNotification) -> bool:
    delivery.attempts += 1
    url = application.webhook_url
    if not url or application.revoked_at is not None:
        delivery.status, delivery.last_error = "failed", "no address"
        return False
    status, error = None, None
    if url_problem(url) or _private_target(urlsplit(url).hostname or ""):
        error = "address refused"
    else:
        body = json.dumps(payload(notification), separators=(",", ":")).encode()
        timestamp = int(time.time())
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "tradeportal-webhooks/1",
            "Authorization": f"Bearer {bearer_secret(application)}",
            "Tradeportal-Signature": signature(signing_secret(application), timestamp, body),
            "Tradeportal-Delivery": str(delivery.id),
        })
        try:
            with _OPENER.open(request, timeout=TIMEOUT) as response:  # the scheme and host are checked above
                status = response.status
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            error = type(exc).__name__
    delivery.last_status_code = status
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", utcnow(), None
        return True
    delivery.last_error = (error or f"HTTP {status}")[:200]
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = utcnow() + BACKOFF[delivery.attempts - 1]
    log.info("webhook delivery %s failed (attempt %s): %s", delivery.id, delivery.attempts, delivery.last_error)
    return False


def worker_task() -> str | None:
    """Run by `flask tp send-mail` on each pass."""
    queued = queue_deliveries()
    delivered, failed = send_due()
    if queued or delivered or failed:
        return f"webhooks: queued {queued}, delivered {delivered}, failed attempts {failed}"
    return None


def deliveries_of(application: ApiApplication, limit: int = 20) -> list[WebhookDelivery]:
    return list(db.session.execute(
        select(WebhookDelivery).where(WebhookDelivery.application_id == application.id)
        .order_by(WebhookDelivery.id.desc()).limit(limit)
    ).scalars())
