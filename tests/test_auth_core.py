"""Sign-in with password and authenticator code; server-side sessions."""
from __future__ import annotations

import re
import time

import time_machine

from tradeportal.auth.models import UserSession
from tradeportal.audit import AuditEvent


def _sign_in(client, user, password="Correct-Horse-Battery-42", code=None):
    response = client.post_form("/sign-in", {"email": user.email.upper(), "password": password}, token_from="/sign-in")
    if response.status_code != 302:
        return response
    return client.post_form("/sign-in/code", {"code": code or user.totp.now()}, token_from="/sign-in/code")


def test_sign_in_with_password_then_code_creates_a_server_session(client, make_user, db):
    user = make_user()
    client.get("/")
    before = client.get_cookie("tp_session")
    response = _sign_in(client, user)
    assert response.status_code == 302
    assert db.session.query(UserSession).filter_by(user_id=user.id).count() == 1
    assert client.get_cookie("tp_session").value != (before.value if before else None)
    page = client.get("/?lang=en")
    assert user.full_name in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"


def test_code_with_spaces_is_accepted_and_replay_is_refused(client, make_user, app):
    user = make_user()
    code = user.totp.now()
    assert _sign_in(client, user, code=f"{code[:3]} {code[3:]}").status_code == 302
    other = app.test_client()
    response = _sign_in(other, user, code=code)
    assert response.status_code == 422  # the same time step is never accepted twice


def test_wrong_password_gives_one_message_whether_or_not_the_address_exists(client, make_user):
    user = make_user()
    wrong = client.post_form("/sign-in?lang=en", {"email": user.email, "password": "wrong-password-123"}, token_from="/sign-in")
    unknown = client.post_form("/sign-in?lang=en", {"email": "nobody@example.com", "password": "wrong-password-123"}, token_from="/sign-in")
    assert wrong.status_code == unknown.status_code == 422
    strip = lambda r: re.sub(r'content="[^"]+"|value="[^"]*"', "", r.get_data(as_text=True))
    assert strip(wrong) == strip(unknown)


def test_sign_out_ends_the_session_on_the_server(client, make_user, db, app):
    user = make_user()
    _sign_in(client, user)
    stolen = client.get_cookie("tp_session").value
    client.post_form("/sign-out")
    assert db.session.query(UserSession).filter(UserSession.ended_at.is_(None)).count() == 0
    thief = app.test_client()
    thief.set_cookie("tp_session", stolen)
    assert user.full_name not in thief.get("/").get_data(as_text=True)
    assert thief.get("/staff/").status_code == 302


def test_next_url_is_kept_but_never_foreign(client, make_user):
    user = make_user(staff_permissions=["feedback"])
    client.get("/sign-in?next=/staff/feedback")
    assert _sign_in(client, user).headers["Location"] == "/staff/feedback"
    client.post_form("/sign-out")
    client.get("/sign-in?next=//evil.example/x")
    with time_machine.travel(time.time() + 60):  # the next time step: a new code
        assert _sign_in(client, user).headers["Location"] == "/dashboard"


def test_failures_are_audited_without_secrets(client, make_user, db):
    user = make_user()
    client.post_form("/sign-in", {"email": user.email, "password": "Wrong-password-999"}, token_from="/sign-in")
    event = db.session.query(AuditEvent).filter_by(action="auth.password_failed").one()
    assert event.subject_user_id == user.id
    assert "Wrong-password-999" not in str(event.details)
