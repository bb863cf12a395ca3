"""Shared fixtures: app, db, client, factories, login_as, a live server and the browser.

The database is SQLite in a temporary folder, or the one named by
TRADEPORTAL_TEST_DATABASE_URL (PostgreSQL in CI). Its schema is built by the
Alembic migrations, once per run; every test starts from empty tables.
"""
from __future__ import annotations

import os
import re
import secrets
import threading
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import text
from flask.globals import _cv_app
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tradeportal import create_app
from tradeportal import extensions as ext

ROOT = Path(__file__).resolve().parent.parent
TEST_PASSWORD = "Correct-Horse-Battery-42"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

# --- argon2id at a small cost -------------------------------------------------------------------
# The portal hashes with argon2id at its production cost (64 MiB, 3 passes, 4 lanes): about 0.2 s
# a hash or a check on these machines. The suite makes and checks thousands of passwords, so
# it uses the same algorithm at a small cost; the hashes are still real argon2id (verified,
# refused, rehashed the same way). Tests marked `real_argon2` (the timing of answers for known
# and unknown accounts, the production parameters) get the production hasher back.
_PRODUCTION_ARGON2: dict = {}


@pytest.fixture(scope="session", autouse=True)
def _argon2_at_a_small_cost():
    from argon2 import PasswordHasher

    from tradeportal.auth import passwords

    production = _PRODUCTION_ARGON2["pair"] = (passwords._hasher, passwords._DUMMY_HASH)
    small = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    passwords._hasher, passwords._DUMMY_HASH = small, small.hash("not a real password, only for equal timing")
    yield
    passwords._hasher, passwords._DUMMY_HASH = production


@pytest.fixture(autouse=True)
def _production_argon2_when_marked(request, _argon2_at_a_small_cost):
    if request.node.get_closest_marker("real_argon2") is None:
        yield
        return
    from tradeportal.auth import passwords

    small = (passwords._hasher, passwords._DUMMY_HASH)
    passwords._hasher, passwords._DUMMY_HASH = _PRODUCTION_ARGON2["pair"]
    try:
        yield
    finally:
        passwords._hasher, passwords._DUMMY_HASH = small



def pytest_sessionstart(session):
    """Compile the catalogues, so that a plain `pytest` tests what `make run` serves."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with open(po, "rb") as fh:
                catalog = read_po(fh)
            with open(mo, "wb") as fh:
                write_mo(fh, catalog)


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TRADEPORTAL_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "ENVIRONMENT": "testing",
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
            "RATELIMIT_ENABLED": False,
            "SMTP_HOST": None,
            "BASE_URL": "http://localhost",
            "UPLOAD_DIR": str(instance / "uploads"),
        }
    )
    app.test_client_class = PortalClient
    with app.app_context():
        _reset_schema(app)
    return app


def _reset_schema(app) -> None:
    """Drop whatever a previous run left, then build the schema with the migrations."""
    from flask_migrate import upgrade

    engine = ext.db.engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            ext.db.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(revision="heads")  # every area's branch


def _empty_tables() -> None:
    session = ext.db.session
    session.rollback()
    tables = list(reversed(ext.db.metadata.sorted_tables))
    if ext.db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            session.execute(table.delete())
    session.commit()


@pytest.fixture
def db(app):
    with app.app_context():
        yield ext.db
        ext.db.session.remove()
        _empty_tables()


class PortalClient(FlaskClient):
    """The Flask test client plus helpers for forms with a CSRF token.

    Each request runs in an application context of its own, as in production,
    even though the test itself holds one (for `db`): nothing in `g` leaks from
    one request to the next.
    """

    def open(self, *args, **kwargs):
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)

    def csrf_token(self, url: str = "/") -> str:
        page = self.get(url)
        match = CSRF_META.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {url} ({page.status_code})"
        return match.group(1)

    def post_form(self, url: str, data: dict | None = None, token_from: str = "/", **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token(token_from))
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def make_user(db):
    """Factory: a confirmed account with an enrolled authenticator; `.totp` gives codes."""
    from tradeportal.account.models import User, normalise_email
    from tradeportal.auth.passwords import hash_password
    from tradeportal.db import utcnow

    counter = iter(range(1, 10_000))

    def factory(email: str | None = None, *, staff_permissions=None, locale="en", password=TEST_PASSWORD, **fields):
        n = next(counter)
        email = email or f"person{n}@example.com"
        secret = pyotp.random_base32(32)
        user = User(
            email=email,
            email_normalized=normalise_email(email),
            password_hash=hash_password(password),
            first_name=fields.pop("first_name", f"First{n}"),
            last_name=fields.pop("last_name", f"Last{n}"),
            locale=locale,
            email_confirmed_at=utcnow(),
            totp_secret=secret,
            totp_enrolled_at=utcnow(),
            **fields,
        )
        if staff_permissions is not None:
            user.is_staff = True
            user.staff_permissions = ",".join(getattr(p, "value", p) for p in staff_permissions)
        db.session.add(user)
        db.session.commit()
        user.totp = pyotp.TOTP(secret)
        return user

    return factory


@pytest.fixture
def login_as(app, client, db):
    """Sign `user` in on the test client through a real server-side session row."""

    def do_login(user, test_client=None):
        return sign_in_client(test_client or client, user)

    return do_login


def sign_in_client(test_client, user, user_agent: str = "pytest"):
    """`test_client` signed in as `user` through a real server-side session row (no password, no code)."""
    from tradeportal.auth.models import UserSession
    from tradeportal.auth.sessions import _hash

    token = secrets.token_urlsafe(32)
    ext.db.session.add(UserSession(token_hash=_hash(token), user_id=user.id, ip_address="127.0.0.1",
                                   user_agent=user_agent))
    ext.db.session.commit()
    with test_client.session_transaction() as sess:
        sess["sid"] = token
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    return test_client


@pytest.fixture
def seeded(db):
    """The demo data set (roles, register, news, terms, demo accounts)."""
    from tradeportal.demo import seed

    seed()
    return db


# --- a real server for the browser ----------------------------------------------

@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def count_queries(app, db):
    """Context manager counting the SQL statements run inside it (all threads, all sessions).

        with count_queries() as counter:
            client.get("/page")
        assert counter.count <= 5
    """
    from contextlib import contextmanager

    from sqlalchemy import event

    class Counter:
        count = 0
        statements: list

    @contextmanager
    def counting():
        counter = Counter()
        counter.statements = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            counter.count += 1
            counter.statements.append(statement)

        event.listen(ext.db.engine, "before_cursor_execute", listener)
        try:
            yield counter
        finally:
            event.remove(ext.db.engine, "before_cursor_execute", listener)

    return counting


class _SmtpInbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server (aiosmtpd) on loopback; the app delivers to it. `.messages` holds envelopes."""
    import socket

    from aiosmtpd.controller import Controller

    inbox = _SmtpInbox()
    with socket.socket() as probe:  # a free port (aiosmtpd cannot start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    yield inbox
    controller.stop()


@pytest.fixture
def no_rate_limits():
    """The limiter off for the test, whatever a test app made earlier in the run switched on
    (modules take it with `pytestmark = pytest.mark.usefixtures("no_rate_limits")`)."""
    from tradeportal.extensions import limiter

    enabled = limiter.enabled
    limiter.enabled = False
    yield
    limiter.enabled = enabled
