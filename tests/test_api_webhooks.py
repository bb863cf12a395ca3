"""Webhooks: setting the address (secrets shown once), signed deliveries by the worker, retries, the deliveries list."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD
from tests.test_api_support import issue_keys, team  # noqa: F401 - fixture
from tradeportal.api import webhooks
from tradeportal.api.models import WebhookDelivery
from tradeportal.db import utcnow


@pytest.fixture
def receiver():
    class Handler(BaseHTTPRequestHandler):
        received: list = []
        status = 204

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            Handler.received.append((dict(self.headers), body))
            self.send_response(Handler.status)
            self.end_headers()

        def log_message(self, *args):
            pass

    Handler.received = []
    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Handler, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def _notify(db, team, subject="Role approved"):
    from tradeportal.notifications.services import create_notifications

    create_notifications([team.admin], "role_decision", subject, "", partner_id=team.partner.id)
    db.session.commit()


def test_webhook_secrets_once_signed_delivery_and_retries(client, db, login_as, team, receiver):
    handler, url = receiver
    keys = issue_keys(db, team)
    login_as(team.admin)
    page = f"/partners/{team.partner.id}/api/{keys['id']}/webhook"
    refused = client.post_form(page, {"url": "http://example.com/hook", "password": TEST_PASSWORD}, token_from=page)
    assert refused.status_code == 422 and "starting with https://" in refused.get_data(as_text=True)
    done = client.post_form(page, {"url": url, "password": TEST_PASSWORD}, token_from=page)
    assert done.status_code == 303
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    bearer_token = re.search(r'id="webhook-bearer" type="text" value="([^"]+)"', shown).group(1)
    signing = re.search(r'id="webhook-signing" type="text" value="([^"]+)"', shown).group(1)
    assert client.get(done.headers["Location"]).status_code == 410  # once

    _notify(db, team)
    line = webhooks.worker_task()
    assert line == "webhooks: queued 1, delivered 1, failed attempts 0"
    headers, body = handler.received[0]
    assert headers["Authorization"] == f"Bearer {bearer_token}"
    t, v1 = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers["Tradeportal-Signature"]).groups()
    assert hmac.compare_digest(v1, hmac.new(signing.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest())
    assert json.loads(body)["data"]["subject"] == "Role approved"
    assert webhooks.worker_task() is None  # never sent twice

    # The receiver fails: retried with back-off, then given up after the last attempt.
    handler.status = 500
    _notify(db, team, "Second")
    webhooks.worker_task()
    delivery = db.session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).scalars().first()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
    assert webhooks.send_due() == (0, 0)  # not due yet
    for step in range(1, webhooks.MAX_ATTEMPTS):
        with time_machine.travel(utcnow() + sum(webhooks.BACKOFF[:step], timedelta()) + timedelta(minutes=11)):
            webhooks.send_due()
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, delivery.id)
    assert delivery.status == "failed" and delivery.attempts == webhooks.MAX_ATTEMPTS

    body = client.get(f"/partners/{team.partner.id}/api/{keys['id']}").get_data(as_text=True)
    assert "Delivered" in body and "Failed" in body and url in body


def test_https_only_outside_development(app):
    with app.app_context():
        assert webhooks.url_problem("https://vendor.example/hook") is None
        assert webhooks.url_problem("http://127.0.0.1:8000/hook") is None  # testing
        assert webhooks.url_problem("http://vendor.example/hook") == "https"
        assert webhooks.url_problem("https://user:pw@vendor.example/") == "invalid"
        saved = app.config["ENVIRONMENT"]
        app.config["ENVIRONMENT"] = "production"
        try:
            assert webhooks.url_problem("http://127.0.0.1:8000/hook") == "https"
            assert webhooks._private_target("127.0.0.1") and webhooks._private_target("10.1.2.3")
        finally:
            app.config["ENVIRONMENT"] = saved


def test_a_redirect_is_a_failed_attempt_not_followed(db, team, receiver):
    handler, url = receiver
    handler.status = 302
    keys = issue_keys(db, team)
    from tradeportal.api.models import ApiApplication

    application = db.session.get(ApiApplication, keys["id"])
    application.webhook_url, application.webhook_nonce = url, "n" * 32
    db.session.commit()
    _notify(db, team)
    webhooks.worker_task()
    delivery = db.session.execute(select(WebhookDelivery)).scalar_one()
    assert delivery.status == "pending" and delivery.last_status_code == 302 and len(handler.received) == 1
