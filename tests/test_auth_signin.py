"""Sign-in: recovery codes, lockout after 10 failures, no enumeration, parallel use of one code."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from tradeportal.audit import AuditEvent
from tradeportal.auth import recovery
from tradeportal.auth.models import RecoveryCode, UserSession
from tradeportal.db import utcnow
from tradeportal.mail import OutboxMessage

PASSWORD = "Correct-Horse-Battery-42"
STRIP = re.compile(r'content="[^"]+"|value="[^"]*"')


pytestmark = pytest.mark.usefixtures("no_rate_limits")


def password_step(client, email, password=PASSWORD):
    return client.post_form("/sign-in?lang=en", {"email": email, "password": password}, token_from="/sign-in")


def code_step(client, code):
    return client.post_form("/sign-in/code?lang=en", {"code": code}, token_from="/sign-in/code")


def with_codes(user, db, app):
    with app.test_request_context():
        codes = recovery.replace_codes(user)
    db.session.commit()
    return codes


def lock_mails(db):
    db.session.expire_all()
    return db.session.execute(select(OutboxMessage).where(OutboxMessage.template == "auth_account_locked")).scalars().all()


def test_a_recovery_code_signs_in_once_and_the_person_is_told(client, app, make_user, db):
    user = make_user()
    codes = with_codes(user, db, app)
    password_step(client, user.email)
    response = code_step(client, codes[0])
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    page = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert "Recovery codes left: 9." in page
    mail = db.session.execute(select(OutboxMessage).where(OutboxMessage.template == "auth_recovery_code_used")).scalar_one()
    assert "9" in mail.body_text and mail.recipient == user.email
    assert db.session.query(AuditEvent).filter_by(action="auth.signed_in").one().details == {"method": "recovery_code"}
    other = app.test_client()
    password_step(other, user.email)
    assert code_step(other, codes[0]).status_code == 422


@pytest.mark.parametrize("attempt", range(3))
def test_one_recovery_code_sent_twice_in_parallel_succeeds_once(app, make_user, db, monkeypatch, attempt):
    user = make_user()
    code = with_codes(user, db, app)[0]
    clients = [app.test_client(), app.test_client()]
    tokens = []
    for test_client in clients:
        assert password_step(test_client, user.email).status_code == 302
        tokens.append(test_client.csrf_token("/sign-in/code"))
    # Both requests find the unused row before either marks it used: only the
    # database's conditional UPDATE can then keep the code single-use.
    both_found = threading.Barrier(2, timeout=10)
    original = recovery._find_unused

    def find_then_wait(*args):
        found = original(*args)
        both_found.wait()
        return found

    monkeypatch.setattr(recovery, "_find_unused", find_then_wait)
    start = threading.Barrier(2, timeout=10)
    statuses = [None, None]

    def send(index):
        start.wait()
        statuses[index] = clients[index].post("/sign-in/code", data={"code": code, "csrf_token": tokens[index]}).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [302, 422], statuses
    db.session.expire_all()
    assert db.session.query(RecoveryCode).filter(RecoveryCode.used_at.is_not(None)).count() == 1
    assert db.session.query(UserSession).filter_by(user_id=user.id).count() == 1


def test_ten_failures_lock_the_account_for_15_minutes_with_an_e_mail(client, app, make_user, db):
    user = make_user(locale="de")
    for _ in range(6):
        assert password_step(client, user.email, "Wrong-password-123").status_code == 422
    assert password_step(client, user.email).status_code == 302
    for _ in range(3):
        assert code_step(client, "000000").status_code == 422
    db.session.refresh(user)
    assert user.failed_attempts == 9 and user.locked_until is None and lock_mails(db) == []
    response = code_step(client, "111111")  # the 10th failure in a row
    assert response.headers["Location"] == "/sign-in"
    assert "locked for 15 minutes" in client.get("/sign-in?lang=en").get_data(as_text=True)
    db.session.refresh(user)
    assert timedelta(minutes=14) < user.locked_until - utcnow() <= timedelta(minutes=15)
    [mail] = lock_mails(db)
    assert mail.recipient == user.email and mail.locale == "de" and "15" in mail.subject
    assert db.session.query(AuditEvent).filter_by(action="auth.account_locked", subject_user_id=user.id).count() == 1
    # While locked even the right password fails, with the generic answer.
    locked = password_step(app.test_client(), user.email)
    unknown = password_step(app.test_client(), "nobody@example.com")
    wrong = password_step(app.test_client(), make_user().email, "Wrong-password-123")
    assert locked.status_code == unknown.status_code == wrong.status_code == 422
    assert STRIP.sub("", locked.get_data(as_text=True)) == STRIP.sub("", unknown.get_data(as_text=True))
    assert STRIP.sub("", locked.get_data(as_text=True)) == STRIP.sub("", wrong.get_data(as_text=True))
    assert "you will" not in locked.get_data(as_text=True)
    assert len(lock_mails(db)) == 1  # no further e-mail for attempts while locked
    # After 15 minutes the right password and code work again, and the count restarts.
    with time_machine.travel(utcnow() + timedelta(minutes=15, seconds=30)):
        fresh = app.test_client()
        assert password_step(fresh, user.email).headers["Location"] == "/sign-in/code"
        assert code_step(fresh, user.totp.now()).headers["Location"] == "/dashboard"
    db.session.refresh(user)
    assert user.failed_attempts == 0 and user.locked_until is None


def test_parallel_wrong_passwords_are_all_counted_and_lock_once(app, make_user, db):
    user = make_user()
    user.failed_attempts = 7
    db.session.commit()
    email = user.email
    clients = [app.test_client() for _ in range(4)]
    tokens = [c.csrf_token("/sign-in") for c in clients]
    start = threading.Barrier(4, timeout=10)

    def send(index):
        start.wait()
        clients[index].post("/sign-in", data={"email": email, "password": "Wrong-password-123", "csrf_token": tokens[index]})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    db.session.refresh(user)
    assert user.locked_until is not None
    assert user.failed_attempts == 1  # 7 + 4 = 11: locked at 10, one more counted afterwards or while locking
    assert len(lock_mails(db)) == 1


def test_a_successful_sign_in_resets_the_count(client, make_user, db):
    user = make_user()
    for _ in range(5):
        password_step(client, user.email, "Wrong-password-123")
    password_step(client, user.email)
    code_step(client, user.totp.now())
    db.session.refresh(user)
    assert user.failed_attempts == 0


def test_no_enumeration_at_sign_in_for_unconfirmed_or_unknown_addresses(app, make_user, db):
    unconfirmed = make_user()
    unconfirmed.email_confirmed_at = None
    db.session.commit()
    wrong = password_step(app.test_client(), unconfirmed.email, "Wrong-password-123")
    unknown = password_step(app.test_client(), "nobody@example.com", "Wrong-password-123")
    assert wrong.status_code == unknown.status_code == 422
    assert STRIP.sub("", wrong.get_data(as_text=True)) == STRIP.sub("", unknown.get_data(as_text=True))


def test_sign_in_form_errors_keep_the_address(client):
    response = client.post_form("/sign-in?lang=en", {"email": "anna@example.com", "password": ""}, token_from="/sign-in")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'value="anna@example.com"' in body and 'href="#password">Enter your password</a>' in body
