"""Rate limits on every POST that takes a secret or sends an e-mail, per client and per address."""
from __future__ import annotations

import uuid

import pytest

from tradeportal import create_app

PASSWORD = "Correct-Horse-Battery-42"


@pytest.fixture
def limited(app, db, tmp_path):
    """An app with rate limits on (in memory), on the same database; CSRF off to keep the loops short."""
    from tradeportal.extensions import limiter

    enabled = limiter.enabled
    limited_app = create_app({
        "ENVIRONMENT": "testing", "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path),
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SMTP_HOST": None,
        "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", "WTF_CSRF_ENABLED": False,
    })
    yield limited_app
    limiter.enabled = enabled


def _from(app, ip):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_sign_in_failures_are_limited_per_address_whatever_the_client(limited, make_user):
    user = make_user()
    for address in (user.email, "nobody@example.com"):  # the same for known and unknown addresses
        statuses = [
            _from(limited, f"10.0.{i}.1").post("/sign-in", data={"email": address, "password": "Wrong-password-1"}).status_code
            for i in range(11)
        ]
        assert statuses == [422] * 10 + [429], (address, statuses)
    # Another address from the same client is not affected.
    other = _from(limited, "10.0.10.1").post("/sign-in", data={"email": "third@example.com", "password": "Wrong-password-1"})
    assert other.status_code == 422


def test_forgot_password_is_limited_per_address(limited, make_user):
    user = make_user()
    statuses = [_from(limited, f"10.1.{i}.1").post("/forgot-password", data={"email": user.email}).status_code
                for i in range(4)]
    assert statuses == [302, 302, 302, 429]


def test_sign_up_is_limited_per_address(limited):
    data = {"email": "new@example.com", "first_name": "A", "last_name": "B",
            "password": "mauve lettuce tractor glacier", "locale": "en", "accept_terms": "y"}
    statuses = [_from(limited, f"10.2.{i}.1").post("/sign-up", data=data).status_code for i in range(4)]
    assert statuses == [302, 302, 302, 429]


def test_sending_the_confirmation_again_is_limited_per_account(limited, make_user, db):
    user = make_user()
    user.email_confirmed_at = None
    db.session.commit()
    statuses = []
    for i in range(4):
        client = _from(limited, f"10.3.{i}.1")
        assert client.post("/sign-in", data={"email": user.email, "password": PASSWORD}).headers["Location"] == "/confirm-email"
        statuses.append(client.post("/confirm-email/send-again").status_code)
    assert statuses == [302, 302, 302, 429]


def test_sign_in_is_limited_per_client_across_addresses(limited):
    client = _from(limited, "10.4.0.1")
    # Every POST counts here, even one refused by the form (no argon2: the test stays quick).
    statuses = [client.post("/sign-in", data={"email": f"p{i}@example.com", "password": ""}).status_code
                for i in range(31)]
    assert statuses == [422] * 30 + [429]
