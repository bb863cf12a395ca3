"""Flask-Limiter with the configured storage: in memory by default, Redis when set."""
from __future__ import annotations

import os
import socket
import uuid

import pytest

from tradeportal import create_app

REDIS_URL = os.environ.get("TRADEPORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _storages():
    yield "memory://"
    if _redis_answers():
        yield REDIS_URL
    elif os.environ.get("CI"):
        pytest.fail("CI must run the rate-limit test against Redis on 127.0.0.1:6379", pytrace=False)


@pytest.mark.parametrize("storage", list(_storages()))
def test_feedback_post_is_rate_limited_per_client(app, storage, tmp_path):
    limited = create_app({
        "ENVIRONMENT": "testing", "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path),
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}", "WTF_CSRF_ENABLED": False,
    })
    client = limited.test_client()
    statuses = [client.post("/feedback", data={"text": "", "page": "/"}).status_code for _ in range(21)]
    assert statuses[:20] == [422] * 20
    assert statuses[20] == 429
    response = client.post("/feedback?lang=en", data={"text": "", "page": "/"})
    assert "Too many attempts" in response.get_data(as_text=True)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
