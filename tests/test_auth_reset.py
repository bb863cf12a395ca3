"""Password reset: same answer for every address, a single-use link for 1 hour, sessions ended."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from tradeportal.auth.services import send_reset_links
from tradeportal.audit import AuditEvent
from tradeportal.auth.models import UserSession
from tradeportal.db import utcnow
from tradeportal.mail import OutboxMessage

OLD = "Correct-Horse-Battery-42"
NEW = "orange kettle under the bridge"
STRIP = re.compile(r'content="[^"]+"|value="[^"]*"')


pytestmark = pytest.mark.usefixtures("no_rate_limits")


def ask(client, email):
    response = client.post_form("/forgot-password?lang=en", {"email": email}, token_from="/forgot-password")
    send_reset_links()  # the worker's pass: the link and its e-mail are made there
    return response


def reset_link(db):
    db.session.expire_all()
    mail = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.template == "auth_reset_password").order_by(OutboxMessage.id.desc())
    ).scalars().first()
    return re.search(r"http://localhost(/reset-password/\S+)", mail.body_text).group(1)


def choose(client, password=NEW):
    return client.post_form("/reset-password?lang=en", {"password": password}, token_from="/reset-password")


def signs_in(app, user, password, code=None) -> bool:
    c = app.test_client()
    first = c.post_form("/sign-in", {"email": user.email, "password": password}, token_from="/sign-in")
    if first.status_code != 302:
        return False
    assert first.headers["Location"] == "/sign-in/code"  # the second factor is still asked
    return c.post_form("/sign-in/code", {"code": code or user.totp.now()}, token_from="/sign-in/code").status_code == 302


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, make_user, db):
    user = make_user()
    known, unknown = app.test_client(), app.test_client()
    a, b = ask(known, user.email.upper()), ask(unknown, "nobody@example.com")
    assert a.status_code == b.status_code == 302 and a.headers["Location"] == b.headers["Location"]
    page_a = known.get("/forgot-password/sent?lang=en").get_data(as_text=True).replace(user.email.upper(), "X")
    page_b = unknown.get("/forgot-password/sent?lang=en").get_data(as_text=True).replace("nobody@example.com", "X")
    assert STRIP.sub("", page_a) == STRIP.sub("", page_b)
    mails = db.session.execute(select(OutboxMessage)).scalars().all()
    assert [(m.template, m.recipient) for m in mails] == [("auth_reset_password", user.email)]


def test_form_errors(client):
    response = ask(client, "not an address")
    assert response.status_code == 422
    assert 'value="not an address"' in response.get_data(as_text=True)


def test_reset_sets_the_password_ends_every_session_and_keeps_the_second_factor(app, client, make_user, login_as, db):
    user = make_user(locale="fr")
    laptop = login_as(user, app.test_client())
    assert laptop.get("/dashboard").status_code == 200
    ask(client, user.email)
    link = reset_link(db)
    response = client.get(link)
    assert response.headers["Location"] == "/reset-password"  # the token leaves the address bar
    weak = choose(client, "password1234")
    assert weak.status_code == 422 and "too common" in weak.get_data(as_text=True)
    local = choose(client, f"x-{user.email.split('@')[0]}-y-z")
    assert local.status_code == 422
    response = choose(client)
    assert response.headers["Location"] == "/sign-in"
    assert "Your password has been changed" in client.get("/sign-in?lang=en").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(UserSession).filter(UserSession.ended_at.is_(None)).count() == 0
    assert laptop.get("/dashboard").status_code == 302
    assert not signs_in(app, user, OLD)
    with time_machine.travel(time.time() + 60):
        assert signs_in(app, user, NEW)
    changed = db.session.execute(select(OutboxMessage).where(OutboxMessage.template == "auth_password_changed")).scalar_one()
    assert changed.locale == "fr" and changed.recipient == user.email
    event = db.session.query(AuditEvent).filter_by(action="auth.password_reset").one()
    assert event.subject_user_id == user.id and NEW not in str(event.details)


def test_the_link_works_once(app, client, make_user, db):
    user = make_user()
    ask(client, user.email)
    link = reset_link(db)
    client.get(link)
    assert choose(client).status_code == 302
    again = app.test_client()
    response = again.get(link + "?lang=en")
    assert response.status_code == 410 and "This link can no longer be used" in response.get_data(as_text=True)
    assert choose(again, "another fine long passphrase").status_code == 410


def test_the_link_expires_after_an_hour_and_a_newer_link_kills_the_older(client, make_user, db):
    user = make_user()
    ask(client, user.email)
    first = reset_link(db)
    ask(client, user.email)
    second = reset_link(db)
    assert client.get(first).status_code == 410
    with time_machine.travel(utcnow() + timedelta(minutes=61)):
        assert client.get(second).status_code == 410
    assert client.get(second).status_code == 302


def test_a_link_opened_but_used_after_an_hour_is_refused(client, make_user, db):
    user = make_user()
    ask(client, user.email)
    client.get(reset_link(db))
    with time_machine.travel(utcnow() + timedelta(minutes=61)):
        assert choose(client).status_code == 410
    db.session.refresh(user)
    assert signs_in(client.application, user, OLD)


def test_a_locked_account_is_unlocked_by_a_reset(client, make_user, db):
    user = make_user()
    user.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    ask(client, user.email)
    client.get(reset_link(db))
    choose(client)
    db.session.refresh(user)
    assert user.locked_until is None and user.failed_attempts == 0
