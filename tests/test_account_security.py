"""Security page: replace the authenticator, new recovery codes, sessions, activity history."""
from __future__ import annotations

import hashlib
import hmac
import re

import pyotp
import pytest
from sqlalchemy import event

from tradeportal.audit import AuditEvent, record
from tradeportal.auth.models import RecoveryCode, UserSession
from tradeportal.mail import OutboxMessage

from .conftest import TEST_PASSWORD

CODE_SHAPE = re.compile(r"^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")


def test_security_pages_need_sign_in(client):
    for url in ("/account/security", "/account/sessions", "/account/activity", "/account/security/authenticator",
                "/account/security/recovery-codes", "/account/password", "/account/delete"):
        assert client.get(url).status_code == 302, url


def test_security_overview(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    body = client.get("/account/security?lang=en").get_data(as_text=True)
    assert "Replace authenticator app" in body and "Unused codes: 0" in body and "Active sessions: 1" in body
    assert 'aria-current="page">Security</a>' in body


# --- authenticator --------------------------------------------------------------

def _secret_from(body):
    return re.search(r'<code class="secret" id="secret">([A-Z2-7 ]+)</code>', body).group(1).replace(" ", "")


def test_replace_authenticator(client, app, make_user, login_as, db):
    user = make_user()
    old_secret = user.totp_secret
    other = login_as(user, app.test_client())
    login_as(user)
    response = client.post_form("/account/security/authenticator?lang=en", {"password": TEST_PASSWORD},
                                token_from="/account/security/authenticator")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    svg = re.search(r"<svg.*?</svg>", body, re.S).group(0)
    assert "style" not in svg and 'aria-hidden="true"' in svg
    grouped = re.search(r'<code class="secret" id="secret">([A-Z2-7 ]+)</code>', body).group(1)
    assert all(len(group) == 4 for group in grouped.split(" "))
    secret = _secret_from(body)
    with client.session_transaction() as sess:
        assert secret not in str(dict(sess))  # the cookie never carries the new secret

    # A wrong code keeps the old app working.
    response = client.post_form("/account/security/authenticator?lang=en", {"step": "confirm", "code": "000000"},
                                token_from="/account/security")
    assert response.status_code == 422 and "The code is not right" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.totp_secret == old_secret

    response = client.post_form("/account/security/authenticator", {"step": "confirm", "code": pyotp.TOTP(secret).now()},
                                token_from="/account/security")
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.totp_secret == secret != old_secret
    assert other.get("/account").status_code == 302  # other sessions ended
    assert client.get("/account").status_code == 200
    assert db.session.query(AuditEvent).filter_by(action="account.authenticator_replaced", subject_user_id=user.id).count() == 1
    assert db.session.query(OutboxMessage).filter_by(recipient=user.email, template="account_notice").count() == 1


def test_replace_authenticator_asks_for_the_password(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    response = client.post_form("/account/security/authenticator?lang=en", {"password": "Wrong-password-1234"},
                                token_from="/account/security/authenticator")
    assert response.status_code == 422 and "The password is not right" in response.get_data(as_text=True)
    # Without the password step, a code cannot set a secret.
    response = client.post_form("/account/security/authenticator", {"step": "confirm", "code": "123456"},
                                token_from="/account/security")
    assert response.status_code == 302 and response.headers["Location"] == "/account/security/authenticator"
    secret = user.totp_secret
    db.session.refresh(user)
    assert user.totp_secret == secret


def test_the_pending_secret_is_tied_to_the_session(client, app, make_user, login_as):
    user = make_user()
    login_as(user)
    first = _secret_from(client.post_form("/account/security/authenticator", {"password": TEST_PASSWORD},
                                          token_from="/account/security/authenticator").get_data(as_text=True))
    other = login_as(user, app.test_client())
    second = _secret_from(other.post_form("/account/security/authenticator", {"password": TEST_PASSWORD},
                                          token_from="/account/security/authenticator").get_data(as_text=True))
    assert first != second and len(first) == 32


# --- recovery codes -------------------------------------------------------------

def test_new_recovery_codes(client, app, make_user, login_as, db):
    user = make_user()
    db.session.add(RecoveryCode(user_id=user.id, code_hash="0" * 64))
    db.session.commit()
    login_as(user)
    response = client.post_form("/account/security/recovery-codes?lang=en", {"password": TEST_PASSWORD},
                                token_from="/account/security/recovery-codes")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([^<]+)</code></li>", body)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(CODE_SHAPE.match(code) for code in codes)
    db.session.expire_all()
    stored = [row.code_hash for row in db.session.query(RecoveryCode).filter_by(user_id=user.id)]
    assert len(stored) == 10 and "0" * 64 not in stored  # the old code died
    key = app.config["SECRET_KEY"].encode()
    for code in codes:  # keyed hashes only: neither the code nor its plain SHA-256
        assert code not in str(stored) and code.replace("-", "") not in str(stored)
        assert hashlib.sha256(code.replace("-", "").encode()).hexdigest() not in stored
        assert hmac.new(b"wrong key", code.replace("-", "").encode(), hashlib.sha256).hexdigest() not in stored
    assert key  # the app's SECRET_KEY keys them (auth.recovery.code_hash)
    # The codes made here are the ones sign-in accepts, once each.
    from tradeportal.auth import recovery

    with app.test_request_context():
        assert recovery.consume(user, codes[0].lower()) is True
        assert recovery.consume(user, codes[0]) is False
        db.session.commit()
    assert db.session.query(AuditEvent).filter_by(action="account.recovery_codes_regenerated").count() == 1

    download = client.post_form("/account/security/recovery-codes/download", {"code": codes}, token_from="/account/security")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert "attachment" in download.headers["Content-Disposition"]
    assert all(code in download.get_data(as_text=True) for code in codes)
    assert client.post_form("/account/security/recovery-codes/download", {"code": ["<script>"]},
                            token_from="/account/security").status_code == 400


def test_recovery_codes_need_the_password(client, make_user, login_as, db):
    user = make_user()
    db.session.add(RecoveryCode(user_id=user.id, code_hash="0" * 64))
    db.session.commit()
    login_as(user)
    response = client.post_form("/account/security/recovery-codes?lang=en", {"password": ""},
                                token_from="/account/security/recovery-codes")
    assert response.status_code == 422 and "Enter your current password" in response.get_data(as_text=True)
    response = client.post_form("/account/security/recovery-codes?lang=en", {"password": "Wrong-password-1234"},
                                token_from="/account/security/recovery-codes")
    assert response.status_code == 422
    db.session.expire_all()
    assert [r.code_hash for r in db.session.query(RecoveryCode)] == ["0" * 64]


def test_recovery_codes_carry_at_least_50_bits():
    from tradeportal.account import security

    assert security.format_recovery_code(" abcd-efgh jkmn ") == "ABCD-EFGH-JKMN"
    assert len(security.RECOVERY_ALPHABET) ** security.RECOVERY_LENGTH >= 2 ** 50
    assert not set("01ILOU") & set(security.RECOVERY_ALPHABET)


# --- sessions -------------------------------------------------------------------

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _other_session(db, user, ua=FIREFOX):
    row = UserSession(token_hash=hashlib.sha256(ua.encode() + str(user.id).encode()).hexdigest(), user_id=user.id,
                      ip_address="203.0.113.9", user_agent=ua)
    db.session.add(row)
    db.session.commit()
    return row


def test_sessions_are_listed_with_this_device_marked(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    _other_session(db, user)
    someone = make_user()
    _other_session(db, someone, ua="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1")
    body = client.get("/account/sessions?lang=en").get_data(as_text=True)
    assert "Firefox on Windows" in body and "203.0.113.9" in body
    assert body.count("This device") == 1
    assert "iPhone" not in body  # another person's session


def test_end_one_session(client, app, make_user, login_as, db):
    user = make_user()
    other = login_as(user, app.test_client())
    login_as(user)
    other_row = db.session.query(UserSession).filter_by(user_id=user.id).order_by(UserSession.id).first()
    response = client.post_form(f"/account/sessions/{other_row.id}/end", {}, token_from="/account/sessions")
    assert response.status_code == 302 and response.headers["Location"] == "/account/sessions"
    assert other.get("/account").status_code == 302
    assert client.get("/account").status_code == 200
    assert db.session.query(AuditEvent).filter_by(action="account.session_ended").count() == 1
    # Somebody else's session is not found, whatever its number.
    stranger = make_user()
    row = _other_session(db, stranger)
    assert client.post_form(f"/account/sessions/{row.id}/end", {}, token_from="/account/sessions").status_code == 404
    db.session.refresh(row)
    assert row.ended_at is None


def test_ending_this_session_signs_out(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    row = db.session.query(UserSession).filter_by(user_id=user.id).one()
    response = client.post_form(f"/account/sessions/{row.id}/end", {}, token_from="/account/sessions")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert client.get("/account").status_code == 302


def test_sign_out_everywhere_kills_a_copied_cookie(client, app, make_user, login_as, db):
    user = make_user()
    login_as(user)
    other = login_as(user, app.test_client())
    thief = app.test_client()
    thief.set_cookie("tp_session", client.get_cookie("tp_session").value)
    assert thief.get("/account").status_code == 200  # the copied cookie works … until
    response = client.post_form("/account/sessions/end-all", {}, token_from="/account/sessions")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert thief.get("/account").status_code == 302
    assert client.get("/account").status_code == 302
    assert other.get("/account").status_code == 302
    assert db.session.query(UserSession).filter(UserSession.ended_at.is_(None)).count() == 0


# --- activity history -----------------------------------------------------------

def _events(db, user, n, action="auth.signed_in"):
    for _ in range(n):
        record(action, actor=user, subject_user_id=user.id)
    db.session.commit()


def test_activity_history_shows_only_own_events_in_plain_words(client, make_user, login_as, db):
    user, other = make_user(), make_user()
    _events(db, user, 1, "auth.password_failed")
    _events(db, user, 1, "auth.locked")
    _events(db, user, 1, "area.something_new")
    staff = make_user(staff_permissions=["support"])
    record("support.account_unlocked", actor=staff, subject_user_id=user.id, details={"reason": "phoned"})
    _events(db, other, 1, "account.password_changed")
    login_as(user)
    body = client.get("/account/activity?lang=en").get_data(as_text=True)
    assert "Sign-in refused: wrong password" in body
    assert "User account locked after too many failed attempts" in body
    assert "Other activity on your user account" in body  # an unknown code
    assert "User account unlocked by the agency" in body and "A staff member of the agency" in body
    assert staff.email not in body and "phoned" not in body
    assert "Password changed" not in body  # the other person's event


def test_activity_history_is_paginated_with_a_constant_number_of_queries(client, app, make_user, login_as, db):
    user = make_user()
    login_as(user)
    statements = []

    def count(*_args):
        statements.append(1)

    def queries_for(url):
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    _events(db, user, 3)
    few = queries_for("/account/activity?lang=en")
    _events(db, user, 45)
    many = queries_for("/account/activity?lang=en")
    assert many == few
    body = client.get("/account/activity?lang=en").get_data(as_text=True)
    assert body.count("<td>Signed in</td>") == 20 and 'rel="next"' in body
    last = client.get("/account/activity?page=3&lang=en").get_data(as_text=True)
    assert last.count("<td>Signed in</td>") == 8 and 'rel="next"' not in last


@pytest.mark.parametrize("ua, words", [
    (FIREFOX, "Firefox on Windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15", "Safari on macOS"),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36", "Chrome on Android"),
    ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0", "Microsoft Edge on Windows"),
    ("curl/8.0", "Unknown device"),
    (None, "Unknown device"),
])
def test_device_in_plain_words(app, ua, words):
    from tradeportal.account.security import describe_device

    with app.test_request_context("/?lang=en"):
        assert describe_device(ua) == words
