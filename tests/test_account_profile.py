"""Profile: names, phone, language, notifications; e-mail change; password change."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import time_machine

from tradeportal.audit import AuditEvent
from tradeportal.auth.models import AccountToken, UserSession
from tradeportal.auth.passwords import verify_password
from tradeportal.mail import OutboxMessage

from .conftest import TEST_PASSWORD

PROFILE = {"first_name": "Anna", "last_name": "Muster", "phone": "+41 44 123 45 67", "phone_extension": "12",
           "locale": "de", "email_notifications": "off"}


def _mails(db, **filters):
    db.session.expire_all()
    return db.session.query(OutboxMessage).filter_by(**filters).all()


def test_profile_needs_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=/account")


def test_profile_shows_the_fields_with_autocomplete(client, make_user, login_as):
    login_as(make_user())
    body = client.get("/account?lang=en").get_data(as_text=True)
    assert 'autocomplete="given-name"' in body and 'autocomplete="family-name"' in body
    assert re.search(r'<input[^>]*autocomplete="tel"[^>]*type="tel"|<input[^>]*type="tel"[^>]*autocomplete="tel"', body)
    assert "Urgent notifications are always sent to you by e-mail" in body
    assert 'aria-current="page">Profile</a>' in body


def test_profile_is_saved_and_the_language_follows(client, make_user, login_as, db):
    user = make_user(locale="en")
    login_as(user)
    response = client.post_form("/account", PROFILE, token_from="/account")
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.first_name, user.last_name, user.phone, user.phone_extension, user.locale, user.email_notifications) == (
        "Anna", "Muster", "+41 44 123 45 67", "12", "de", False)
    page = client.get("/account").get_data(as_text=True)
    assert '<html lang="de">' in page
    event = db.session.query(AuditEvent).filter_by(action="account.profile_updated").one()
    assert event.subject_user_id == user.id and "phone" in event.details["fields"]


@pytest.mark.parametrize("field, value, message", [
    ("first_name", "", "Enter your first name"),
    ("last_name", "x" * 101, "Your last name must be 100 characters or fewer"),
    ("phone", "044 123 45 67", "Enter a phone number with its country code"),
    ("phone", "+41 12", "Enter a phone number with its country code"),
    ("phone_extension", "12a", "Enter an extension of 1 to 6 digits"),
    ("locale", "xx", "Not a valid choice"),
])
def test_profile_errors_are_shown_next_to_the_field_and_values_kept(client, make_user, login_as, db, field, value, message):
    user = make_user(first_name="Old")
    login_as(user)
    data = dict(PROFILE, **{field: value})
    response = client.post_form("/account?lang=en", data, token_from="/account")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error:" in body and "There is a problem" in body
    assert message in body
    anchor = f"#{field}-0" if field == "locale" else f"#{field}"
    assert f'href="{anchor}"' in body and f'id="{field}-error"' in body
    if field != "first_name":
        assert 'value="Anna"' in body  # what was typed is kept
    db.session.refresh(user)
    assert user.first_name == "Old"


def test_extension_without_a_phone_number_is_refused(client, make_user, login_as):
    login_as(make_user())
    response = client.post_form("/account?lang=en", dict(PROFILE, phone="", phone_extension="12"), token_from="/account")
    assert response.status_code == 422 and "Enter the phone number that the extension belongs to" in response.get_data(as_text=True)


def test_phone_with_00_is_stored_as_international(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    client.post_form("/account", dict(PROFILE, phone="0049 30 1234567", phone_extension=""), token_from="/account")
    db.session.refresh(user)
    assert user.phone == "+49 30 1234567" and user.phone_extension is None


# --- e-mail change --------------------------------------------------------------

def _request_change(client, new="new.address@example.com", password=TEST_PASSWORD, lang="en"):
    return client.post_form(f"/account/email?lang={lang}", {"email": new, "password": password}, token_from="/account/email")


def _link(db, recipient):
    mail = _mails(db, recipient=recipient, template="account_email_change")[-1]
    return re.search(r"http://localhost(/account/email/confirm/\S+)", mail.body_text).group(1)


def test_email_change_sends_a_link_to_the_new_address_and_informs_the_old(client, make_user, login_as, db):
    user = make_user("old@example.com", locale="fr")
    login_as(user)
    response = _request_change(client, lang="fr")
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.email == "old@example.com"  # nothing changes before the link is followed
    assert _mails(db, recipient="old@example.com", template="account_email_change_requested")
    new_mail = _mails(db, recipient="new.address@example.com", template="account_email_change")[0]
    assert new_mail.locale == "fr" and "24" in new_mail.body_text
    token = db.session.query(AccountToken).filter_by(user_id=user.id, purpose="change_email").one()
    assert token.new_email == "new.address@example.com"
    link = _link(db, "new.address@example.com")
    assert link.rsplit("/", 1)[1] not in token.token_hash  # only the hash is stored
    assert len(token.token_hash) == 64

    # Opening the link only shows a button (mail scanners must not change anything).
    assert client.get(link).status_code == 200
    db.session.refresh(user)
    assert user.email == "old@example.com"
    response = client.post_form(link, {}, token_from=link)
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.email, user.email_normalized) == ("new.address@example.com", "new.address@example.com")
    assert db.session.query(AuditEvent).filter_by(action="account.email_changed", subject_user_id=user.id).count() == 1

    # Single use.
    assert client.get(link).status_code == 404
    assert client.post_form(link, {}, token_from="/").status_code == 404


def test_email_change_link_expires_after_24_hours(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    _request_change(client)
    link = _link(db, "new.address@example.com")
    with time_machine.travel(time.time() + timedelta(hours=24, minutes=1).total_seconds()):
        anonymous = client.application.test_client()
        assert anonymous.get(link).status_code == 404
        assert anonymous.post_form(link, {}, token_from="/").status_code == 404
    db.session.refresh(user)
    assert user.email != "new.address@example.com"


def test_a_newer_link_replaces_the_older_one(client, make_user, login_as, db):
    login_as(make_user())
    _request_change(client, "first@example.com")
    first = _link(db, "first@example.com")
    _request_change(client, "second@example.com")
    assert client.get(first).status_code == 404
    assert client.get(_link(db, "second@example.com")).status_code == 200


def test_email_change_with_a_wrong_password_changes_nothing(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    response = _request_change(client, password="Wrong-password-1234")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The password is not right" in body and 'href="#password"' in body
    assert 'value="new.address@example.com"' in body and "Wrong-password-1234" not in body
    assert db.session.query(AccountToken).count() == 0
    assert _mails(db) == []
    assert db.session.query(AuditEvent).filter_by(action="account.reauthentication_failed").count() == 1


@pytest.mark.parametrize("new, message", [("", "Enter your new e-mail address"), ("not-an-address", "in the right format")])
def test_email_change_form_errors(client, make_user, login_as, new, message):
    login_as(make_user())
    response = _request_change(client, new=new)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_an_address_already_used_gets_the_same_answer_but_no_link(client, make_user, login_as, db):
    make_user("taken@example.com")
    user = make_user("me@example.com")
    login_as(user)
    response = _request_change(client, "Taken@example.com")
    assert response.status_code == 302
    flash = client.get("/account?lang=en").get_data(as_text=True)
    assert "We sent a link to Taken@example.com" in flash
    assert db.session.query(AccountToken).count() == 0
    assert _mails(db, recipient="Taken@example.com", template="account_email_in_use")
    assert _mails(db, recipient="me@example.com", template="account_email_change_requested")


def test_an_address_taken_after_the_request_is_refused_when_confirming(client, make_user, login_as, db):
    user = make_user("me@example.com")
    login_as(user)
    _request_change(client, "later@example.com")
    link = _link(db, "later@example.com")
    make_user("later@example.com")
    response = client.post_form(link, {}, token_from=link)
    assert response.status_code == 409
    db.session.refresh(user)
    assert user.email == "me@example.com"


# --- password change ------------------------------------------------------------

NEW_PASSWORD = "Another-Long-Password-77"


def _change_password(client, current=TEST_PASSWORD, new=NEW_PASSWORD):
    return client.post_form("/account/password?lang=en", {"password": current, "new_password": new}, token_from="/account/password")


def test_password_change_ends_other_sessions_and_tells_the_person(client, app, make_user, login_as, db):
    user = make_user()
    other = login_as(user, app.test_client())
    login_as(user)
    response = _change_password(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account/security"
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert other.get("/account").status_code == 302  # the other session is over
    assert client.get("/account").status_code == 200  # this one goes on
    assert db.session.query(UserSession).filter(UserSession.ended_at.is_(None)).count() == 1
    assert _mails(db, recipient=user.email, template="account_notice")[0].subject == "Your password was changed"
    assert db.session.query(AuditEvent).filter_by(action="account.password_changed", subject_user_id=user.id).count() == 1


@pytest.mark.parametrize("current, new, message", [
    ("Wrong-password-1234", NEW_PASSWORD, "The password is not right"),
    (TEST_PASSWORD, "short", "at least 12 characters"),
    (TEST_PASSWORD, "x" * 129, "128 characters or fewer"),
    (TEST_PASSWORD, "my-person1-password", "must not contain your e-mail address"),
    (TEST_PASSWORD, "password1234567", "too common"),
    (TEST_PASSWORD, TEST_PASSWORD, "different from your current password"),
    (TEST_PASSWORD, "", "Enter your new password"),
])
def test_password_change_errors_change_nothing(client, make_user, login_as, db, current, new, message):
    user = make_user("person1@example.com")
    login_as(user)
    before = user.password_hash
    response = _change_password(client, current, new)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body and "<title>Error:" in body
    db.session.refresh(user)
    assert user.password_hash == before
    assert _mails(db) == []


@pytest.mark.parametrize("url", ["/account", "/account/email", "/account/password", "/account/delete",
                                 "/account/sessions/end-all", "/account/security/recovery-codes"])
def test_posts_without_a_csrf_token_are_refused(client, make_user, login_as, db, url):
    user = make_user()
    login_as(user)
    response = client.post(url, data={"first_name": "X", "last_name": "Y", "locale": "en", "email_notifications": "on",
                                      "password": TEST_PASSWORD, "confirm": "y"})
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.first_name != "X"
    assert db.session.query(UserSession).filter(UserSession.ended_at.is_(None)).count() == 1
