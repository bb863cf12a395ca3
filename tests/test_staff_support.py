"""Back office, user support: search, status, unlock, reset of the second factor."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tradeportal.access import StaffPermission
from tradeportal.audit import AuditEvent
from tradeportal.auth.models import RecoveryCode, UserSession
from tradeportal.db import utcnow
from tradeportal.mail import OutboxMessage

ROUTES = [("get", "/staff/users"), ("get", "/staff/users/{id}"), ("post", "/staff/users/{id}/unlock"),
          ("post", "/staff/users/{id}/reset-second-factor")]


def _call(client, method, url):
    if method == "get":
        return client.get(url)
    return client.post_form(url, {"unlock-reason": "x", "reset-reason": "x"})


@pytest.mark.parametrize("method, url", ROUTES)
def test_non_staff_get_404_and_staff_without_support_403(client, make_user, login_as, method, url):
    person = make_user()
    url = url.format(id=person.id)
    login_as(make_user())
    assert _call(client, method, url).status_code == 404
    login_as(make_user(staff_permissions=[StaffPermission.FEEDBACK]))
    assert _call(client, method, url).status_code == 403


@pytest.fixture
def support(client, make_user, login_as):
    staff = make_user("clerk@agency.example", staff_permissions=[StaffPermission.SUPPORT])
    login_as(staff)
    return staff


def test_menu_entry_for_support_staff(client, support):
    assert 'href="/staff/users"' in client.get("/staff/?lang=en").get_data(as_text=True)


def test_search_by_email_or_name_paginated(client, make_user, support):
    make_user("anna.muster@example.com", first_name="Anna", last_name="Muster")
    make_user("ben@example.com", first_name="Ben", last_name="Fischer")
    for n in range(22):
        make_user(f"bulk{n}@bulk.example", first_name="Bulk", last_name=f"Person{n:02d}")
    body = client.get("/staff/users?q=MUSTER&lang=en").get_data(as_text=True)
    assert "Anna Muster" in body and "Ben Fischer" not in body
    assert "Ben Fischer" in client.get("/staff/users?q=ben%20fisch&lang=en").get_data(as_text=True)
    assert "Ben Fischer" in client.get("/staff/users?q=ben@ex&lang=en").get_data(as_text=True)
    first = client.get("/staff/users?q=bulk.example&lang=en").get_data(as_text=True)
    assert first.count("@bulk.example</td>") == 20 and 'rel="next"' in first
    assert client.get("/staff/users?q=bulk.example&page=2&lang=en").get_data(as_text=True).count("@bulk.example</td>") == 2
    assert "Nobody matches" in client.get("/staff/users?q=%25&lang=en").get_data(as_text=True)  # % is no wildcard
    assert "Search for a person" in client.get("/staff/users?lang=en").get_data(as_text=True)


def test_account_status(client, make_user, support, db):
    person = make_user(failed_attempts=5, locked_until=utcnow() + timedelta(minutes=10))
    body = client.get(f"/staff/users/{person.id}?lang=en").get_data(as_text=True)
    assert person.email in body and "Yes, until" in body and "Never" in body
    assert client.get("/staff/users/999999").status_code == 404


def test_unlock(client, make_user, support, db):
    person = make_user(failed_attempts=5, locked_until=utcnow() + timedelta(minutes=10), locale="de")
    response = client.post_form(f"/staff/users/{person.id}/unlock", {"unlock-reason": "Called, identity checked"})
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.failed_attempts == 0 and person.locked_until is None
    event = db.session.query(AuditEvent).filter_by(action="support.account_unlocked").one()
    assert (event.actor_user_id, event.subject_user_id, event.details["reason"]) == (support.id, person.id, "Called, identity checked")
    mail = db.session.query(OutboxMessage).filter_by(recipient=person.email).one()
    assert mail.locale == "de" and "Called" not in mail.body_text


def test_reset_second_factor(client, app, make_user, login_as, support, db):
    person = make_user()
    db.session.add(RecoveryCode(user_id=person.id, code_hash="c" * 64))
    db.session.commit()
    theirs = login_as(person, app.test_client())
    response = client.post_form(f"/staff/users/{person.id}/reset-second-factor", {"reset-reason": "Lost phone"})
    assert response.status_code == 302
    db.session.refresh(person)
    assert (person.totp_secret, person.totp_enrolled_at, person.totp_last_step) == (None, None, None)
    assert db.session.query(RecoveryCode).filter_by(user_id=person.id).count() == 0
    assert db.session.query(UserSession).filter_by(user_id=person.id, ended_at=None).count() == 0
    assert theirs.get("/account").status_code == 302
    event = db.session.query(AuditEvent).filter_by(action="support.second_factor_reset").one()
    assert (event.actor_user_id, event.subject_user_id) == (support.id, person.id)
    assert db.session.query(OutboxMessage).filter_by(recipient=person.email, template="account_notice").count() == 1


@pytest.mark.parametrize("action, field", [("unlock", "unlock-reason"), ("reset-second-factor", "reset-reason")])
def test_a_reason_is_required(client, make_user, support, db, action, field):
    person = make_user()
    secret = person.totp_secret
    response = client.post_form(f"/staff/users/{person.id}/{action}?lang=en", {field: "  "})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the reason for this action" in body and f'href="#{field}"' in body and "<title>Error:" in body
    db.session.refresh(person)
    assert person.totp_secret == secret
    assert db.session.query(AuditEvent).filter(AuditEvent.action.like("support.%")).count() == 0
    assert db.session.query(OutboxMessage).count() == 0


def test_staff_cannot_reset_their_own_second_factor_here(client, support, db):
    response = client.post_form(f"/staff/users/{support.id}/reset-second-factor?lang=en", {"reset-reason": "me"})
    assert response.status_code == 422
    db.session.refresh(support)
    assert support.totp_secret is not None
