"""Part 6 of the battery: sessions (OWASP ASVS 5.0 V7, NIST SP 800-63B §7).

- sign-in gives a new session: the cookie from before no longer matters;
- sign-out kills the cookie: replayed by a thief it opens nothing;
- a password change, a password reset, a new authenticator app, new recovery codes
  and the agency's reset of the second factor end the other sessions (the reset and
  the agency's action end all of them);
- 30 minutes idle or 12 hours in all end a session, with the clock controlled;
- the cookies are HttpOnly, SameSite=Lax, Secure in production (over HTTPS), and
  carry no Domain (host-only).

Each check that passes adds one to the figures ("session checks").
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from http.cookies import SimpleCookie

import pytest
import time_machine
from sqlalchemy import select, update

from tests.conftest import TEST_PASSWORD
from tradeportal.account.models import User
from tradeportal.auth.models import UserSession

from . import figures

COOKIE = "tp_session"
CHECKS: dict[str, int] = {}


@pytest.fixture(autouse=True, scope="module")
def _record():
    yield
    figures.record("6 sessions", checks=sum(CHECKS.values()), tests=len(CHECKS),
                   idle_timeout_minutes=30, absolute_timeout_hours=12)


def check(name: str, condition: bool, message: str = "") -> None:
    assert condition, f"{name}: {message}"
    CHECKS[name] = CHECKS.get(name, 0) + 1


def sign_in(client, user, db=None):
    if db is not None:  # the same TOTP step is refused twice: as if 30 s had passed
        db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
        db.session.commit()
    first = client.post_form("/sign-in", {"email": user.email, "password": TEST_PASSWORD}, token_from="/sign-in")
    assert first.status_code == 302, first.status_code
    second = client.post_form("/sign-in/code", {"code": user.totp.now()}, token_from="/sign-in/code")
    assert second.status_code == 302, second.status_code
    return client


def signed_in(client) -> bool:
    response = client.get("/account")
    return response.status_code == 200


def replay(app, cookie_value: str):
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie_value)
    return thief


def session_data(app, cookie_value: str) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(cookie_value)


def test_sign_in_gives_a_new_session(app, client, make_user, db):
    user = make_user()
    client.get("/sign-in")
    before = client.get_cookie(COOKIE).value  # e.g. planted by an attacker (fixation)
    sign_in(client, user)
    after = client.get_cookie(COOKIE).value
    check("new session at sign-in", after != before)
    check("no session id before sign-in", "sid" not in session_data(app, before))
    check("the old cookie is not signed in", not signed_in(replay(app, before)))
    other = sign_in(app.test_client(), user, db)
    sid1, sid2 = session_data(app, after)["sid"], session_data(app, other.get_cookie(COOKIE).value)["sid"]
    check("each sign-in its own random id", sid1 != sid2 and len(sid1) >= 40)
    rows = db.session.execute(select(UserSession.token_hash).where(UserSession.user_id == user.id)).scalars().all()
    check("only hashes of session ids stored", len(rows) == 2 and sid1 not in rows and sid2 not in rows)


def test_sign_out_kills_the_cookie(app, client, make_user, db):
    user = make_user()
    sign_in(client, user)
    stolen = client.get_cookie(COOKIE).value
    check("a copied cookie works while signed in", signed_in(replay(app, stolen)))
    response = client.post_form("/sign-out", {}, token_from="/account")
    check("sign-out answers with a redirect", response.status_code == 302)
    check("signed out here", not signed_in(client))
    check("the copied cookie is dead", not signed_in(replay(app, stolen)))
    row = db.session.execute(select(UserSession).where(UserSession.user_id == user.id)).scalar_one()
    check("the session row is ended", row.ended_at is not None)


def _three_sessions(app, user, db):
    here = sign_in(app.test_client(), user)
    others = [sign_in(app.test_client(), user, db) for _ in range(2)]
    assert all(signed_in(c) for c in (here, *others))
    return here, others


def test_password_change_ends_the_other_sessions(app, make_user, db):
    user = make_user()
    here, others = _three_sessions(app, user, db)
    response = here.post_form("/account/password", {"password": TEST_PASSWORD, "new_password": "Another-Long-Password-77"},
                              token_from="/account/password")
    assert response.status_code == 302
    check("password change: other sessions end", not any(signed_in(c) for c in others))
    check("password change: this session goes on", signed_in(here))


def test_password_reset_ends_every_session(app, client, make_user, db):
    from tradeportal.auth import tokens

    user = make_user()
    here, others = _three_sessions(app, user, db)
    with app.test_request_context():
        token = tokens.issue(user, tokens.RESET_PASSWORD)
        db.session.commit()
    client.get(f"/reset-password/{token}")
    response = client.post_form("/reset-password", {"password": "Another-Long-Password-77"},
                                token_from="/reset-password")
    assert response.status_code in (200, 302), response.status_code
    check("password reset: every session ends", not any(signed_in(c) for c in (here, *others)))


def _secret_from(body):
    return re.search(r'<code class="secret" id="secret">([A-Z2-7 ]+)</code>', body).group(1).replace(" ", "")


def test_new_authenticator_ends_the_other_sessions(app, make_user, db):
    import pyotp

    user = make_user()
    here, others = _three_sessions(app, user, db)
    body = here.post_form("/account/security/authenticator", {"password": TEST_PASSWORD},
                          token_from="/account/security/authenticator").get_data(as_text=True)
    response = here.post_form("/account/security/authenticator",
                              {"step": "confirm", "code": pyotp.TOTP(_secret_from(body)).now()},
                              token_from="/account/security")
    assert response.status_code == 302
    check("new authenticator: other sessions end", not any(signed_in(c) for c in others))
    check("new authenticator: this session goes on", signed_in(here))


def test_new_recovery_codes_end_the_other_sessions(app, make_user, db):
    user = make_user()
    here, others = _three_sessions(app, user, db)
    response = here.post_form("/account/security/recovery-codes", {"password": TEST_PASSWORD},
                              token_from="/account/security/recovery-codes")
    assert response.status_code == 200
    check("new recovery codes: other sessions end", not any(signed_in(c) for c in others))
    check("new recovery codes: this session goes on", signed_in(here))


def test_agency_reset_of_the_second_factor_ends_every_session(app, make_user, login_as, client, db):
    from tradeportal.access import StaffPermission

    user = make_user()
    here, others = _three_sessions(app, user, db)
    agent = make_user(staff_permissions=[StaffPermission.SUPPORT])
    login_as(agent)
    response = client.post_form(f"/staff/users/{user.id}/reset-second-factor",
                                {"reset-reason": "Lost phone, identity checked by phone call"},
                                token_from=f"/staff/users/{user.id}")
    assert response.status_code == 302, response.status_code
    check("second factor reset: every session ends", not any(signed_in(c) for c in (here, *others)))


def test_sign_out_everywhere(app, make_user, db):
    user = make_user()
    here, others = _three_sessions(app, user, db)
    here.post_form("/account/sessions/end-all", {}, token_from="/account/sessions")
    check("sign out everywhere: every session ends", not any(signed_in(c) for c in (here, *others)))


# --- time-outs, with the clock in our hands -------------------------------------------

START = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)


def test_idle_timeout(app, make_user, db):
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        client = sign_in(app.test_client(), user)
        clock.shift(timedelta(minutes=29))
        check("29 idle minutes: still signed in", signed_in(client))
        clock.shift(timedelta(minutes=29))
        check("activity pushes the idle limit back", signed_in(client))
        clock.shift(timedelta(minutes=30, seconds=1))
        check("30 idle minutes: signed out", not signed_in(client))
        clock.shift(timedelta(minutes=-1))  # even if the clock went back, the row is ended for good
        check("an ended session stays ended", not signed_in(client))


def test_passive_requests_do_not_keep_a_session_alive(app, make_user, db):
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        client = sign_in(app.test_client(), user)
        for _ in range(3):
            clock.shift(timedelta(minutes=10))
            client.get("/session/status")
        clock.shift(timedelta(minutes=1))
        check("the session-status poll is not activity", not signed_in(client))


def test_absolute_timeout(app, make_user, db):
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        client = sign_in(app.test_client(), user)
        for _ in range(28):  # active every 25 minutes for 11 h 40 min
            clock.shift(timedelta(minutes=25))
            assert signed_in(client)
        check("active for 11 h 40: still signed in", True)
        clock.shift(timedelta(minutes=21))  # 12 h 01 after sign-in
        check("12 hours after sign-in: signed out however active", not signed_in(client))


def test_half_signed_in_state_expires(app, make_user, db):
    user = make_user()
    with time_machine.travel(START, tick=False) as clock:
        client = app.test_client()
        client.post_form("/sign-in", {"email": user.email, "password": TEST_PASSWORD}, token_from="/sign-in")
        clock.shift(timedelta(minutes=11))
        response = client.post_form("/sign-in/code", {"code": user.totp.now()}, token_from="/sign-in")
        check("password step older than 10 minutes: the code opens nothing",
              response.status_code == 302 and not signed_in(client))


# --- cookie flags --------------------------------------------------------------------

def _set_cookies(response) -> dict[str, str]:
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        found[name] = header
    return found


def _flags(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else True) for p in parts}


def test_cookie_flags(app, client, make_user, db):
    user = make_user()
    client.post_form("/sign-in", {"email": user.email, "password": TEST_PASSWORD}, token_from="/sign-in")
    response = client.post_form("/sign-in/code?lang=en", {"code": user.totp.now()}, token_from="/sign-in/code")
    cookies = _set_cookies(response)
    check("the sign-in answer sets the session cookie", COOKIE in cookies, str(cookies))
    for name, header in cookies.items():
        flags = _flags(header)
        check(f"{name}: HttpOnly", flags.get("httponly") is True, header)
        check(f"{name}: SameSite=Lax or Strict", str(flags.get("samesite", "")).lower() in ("lax", "strict"), header)
        check(f"{name}: host-only (no Domain)", "domain" not in flags, header)
        check(f"{name}: Path=/", flags.get("path") == "/", header)
    session_flags = _flags(cookies[COOKIE])
    check("session cookie ends with the 12-hour limit", "expires" in session_flags)


def test_cookies_are_secure_in_production(app, tmp_path):
    from tests.conftest import PortalClient
    from tradeportal import create_app

    prod = create_app({"ENVIRONMENT": "production", "SECRET_KEY": "production-like-secret-key-for-the-test",
                       "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "RATELIMIT_ENABLED": False, "SMTP_HOST": None, "BASE_URL": "https://portal.example"})
    prod.test_client_class = PortalClient
    client = prod.test_client()
    response = client.get("/sign-in?lang=de", base_url="https://portal.example")
    cookies = _set_cookies(response)
    check("production: a session cookie is set before sign-in (CSRF)", COOKIE in cookies, str(cookies))
    for name, header in cookies.items():
        check(f"production {name}: Secure", _flags(header).get("secure") is True, header)
    check("production: HSTS over HTTPS", "max-age=" in response.headers.get("Strict-Transport-Security", ""))
    check("production: the session cookie config is Secure", prod.config["SESSION_COOKIE_SECURE"] is True)
    assert SimpleCookie  # parsed by hand above: SimpleCookie drops the flags
