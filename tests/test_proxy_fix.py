"""Behind a trusted reverse proxy the client's address comes from X-Forwarded-For; without one it is ignored."""
from __future__ import annotations

import pytest
from flask import request

from tradeportal import create_app
from tradeportal.access import public


def _address_seen(tmp_path, proxies: int, headers: dict) -> dict:
    app = create_app({"ENVIRONMENT": "testing", "TESTING": True, "SECRET_KEY": "test", "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxy.db'}", "TRUSTED_PROXIES": proxies})
    seen = {}

    @app.get("/_test/address")
    @public
    def address():
        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    app.test_client().get("/_test/address", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    return seen


@pytest.mark.parametrize(("proxies", "expected"), [
    (1, {"addr": "203.0.113.7", "scheme": "https"}),  # the proxy's header is believed
    (0, {"addr": "10.0.0.2", "scheme": "http"}),  # reached directly: a forged header changes nothing
])
def test_the_client_address_comes_from_a_trusted_proxy_only(tmp_path, proxies, expected):
    seen = _address_seen(tmp_path, proxies, {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert seen == expected
