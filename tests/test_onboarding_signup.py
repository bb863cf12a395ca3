"""Sign-up and confirmation of the address: errors, no enumeration, single-use links."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from tradeportal.account.models import User
from tradeportal.audit import AuditEvent
from tradeportal.auth.models import AccountToken, TermsAcceptance
from tradeportal.db import utcnow
from tradeportal.mail import OutboxMessage
from tradeportal.public.models import TermsVersion

PASSWORD = "mauve lettuce tractor glacier"
CSRF = re.compile(r'content="[^"]+"|name="csrf_token" type="hidden" value="[^"]+"|value="[^"]*"')


pytestmark = pytest.mark.usefixtures("no_rate_limits")


@pytest.fixture
def terms(db):
    version = TermsVersion(version=1, published_at=utcnow() - timedelta(days=1), body_fr="Conditions.",
                           body_en="Terms.", body_de="Bedingungen.")
    db.session.add(version)
    db.session.commit()
    return version


def sign_up(client, **fields):
    data = {"email": "anna.muster@example.com", "first_name": "Anna", "last_name": "Muster",
            "password": PASSWORD, "locale": "de", "accept_terms": "y"}
    data.update(fields)
    return client.post_form("/sign-up?lang=en", {k: v for k, v in data.items() if v is not None},
                            token_from="/sign-up?lang=en")


def mails(db, template=None):
    db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if template:
        stmt = stmt.where(OutboxMessage.template == template)
    return db.session.execute(stmt).scalars().all()


def link_in(message) -> str:
    return re.search(r"http://localhost(/\S+)", message.body_text).group(1)


def test_the_form_offers_the_three_languages_and_the_terms(client, terms):
    body = client.get("/sign-up?lang=de").get_data(as_text=True)
    for code in ("fr", "en", "de"):
        assert f'value="{code}"' in body
    assert re.search(r'<input checked id="locale-2" name="locale" type="radio" value="de">', body)
    assert 'href="/terms-of-use"' in body and 'name="accept_terms"' in body
    assert 'autocomplete="new-password"' in body and 'autocomplete="username"' in body
    assert 'autocomplete="given-name"' in body and 'autocomplete="family-name"' in body


def test_errors_are_shown_next_to_fields_and_in_the_summary_with_values_kept(client, terms, db):
    response = sign_up(client, email="anna.muster@", first_name="", password="anna.muster-2026", accept_terms=None)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<title>Error:" in body
    summary = body[body.index('class="error-summary"'):body.index("</ul>", body.index('class="error-summary"'))]
    for message, field in [
        ("Enter an e-mail address in the correct format, like name@example.com", "email"),
        ("Enter your first name", "first_name"),
        ("Your password must not contain your e-mail address or its first part", "password"),
        ("Accept the terms of use to create an account", "accept_terms"),
    ]:
        assert f'href="#{field}">{message}</a>' in summary
        assert re.search(rf'id="{field}-error"><span class="visually-hidden">Error:</span> {re.escape(message)}', body)
    assert 'value="anna.muster@"' in body and 'value="Muster"' in body
    assert "anna.muster-2026" not in body  # never sent back
    assert db.session.query(User).count() == 0 and mails(db) == []


@pytest.mark.parametrize("password, message", [
    ("short one", "at least 12 characters"),
    ("password1234", "too common"),
    ("Tradeportal2026!", "too common"),
])
def test_weak_passwords_are_refused(client, terms, password, message):
    response = sign_up(client, password=password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_sign_up_creates_an_unconfirmed_account_and_mails_the_link_in_its_language(client, terms, db):
    response = sign_up(client, email="  Anna.Muster@Example.com ")
    assert response.status_code == 302 and response.headers["Location"] == "/sign-up/check-your-email"
    user = db.session.execute(select(User)).scalar_one()
    assert (user.email, user.email_normalized, user.locale) == ("Anna.Muster@Example.com", "anna.muster@example.com", "de")
    assert user.email_confirmed_at is None and user.totp_enrolled_at is None
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    acceptance = db.session.execute(select(TermsAcceptance)).scalar_one()
    assert (acceptance.user_id, acceptance.terms_version_id) == (user.id, terms.id)
    [mail] = mails(db)
    assert (mail.template, mail.locale, mail.recipient) == ("onboarding_confirm_email", "de", "Anna.Muster@Example.com")
    token = link_in(mail).rsplit("/", 1)[1]
    row = db.session.execute(select(AccountToken)).scalar_one()
    assert row.purpose == "confirm_email" and token not in row.token_hash and len(token) >= 43
    assert timedelta(hours=23, minutes=59) < row.expires_at - row.created_at <= timedelta(hours=24)
    assert db.session.query(AuditEvent).filter_by(action="onboarding.account_created", subject_user_id=user.id).count() == 1
    page = client.get("/sign-up/check-your-email?lang=en").get_data(as_text=True)
    assert "We have sent an e-mail to Anna.Muster@Example.com." in page


def test_an_existing_address_gets_the_same_answer_and_its_owner_a_note(app, db, terms, make_user):
    owner = make_user("anna.muster@example.com", locale="fr")
    new, taken = app.test_client(), app.test_client()
    new_answer = sign_up(new, email="bruno@example.com")
    taken_answer = sign_up(taken, email="bruno@example.com".replace("bruno", "ANNA.MUSTER"))
    assert new_answer.status_code == taken_answer.status_code == 302
    assert new_answer.headers["Location"] == taken_answer.headers["Location"]
    new_page = new.get("/sign-up/check-your-email?lang=en").get_data(as_text=True)
    taken_page = taken.get("/sign-up/check-your-email?lang=en").get_data(as_text=True)
    assert CSRF.sub("", new_page.replace("bruno@example.com", "X")) == CSRF.sub("", taken_page.replace("ANNA.MUSTER@example.com", "X"))
    assert db.session.query(User).count() == 2  # owner and bruno; nothing for the taken address
    [note] = mails(db, "onboarding_existing_account")
    assert note.recipient == owner.email and note.locale == "fr"
    assert "/sign-in" in note.body_text and "/forgot-password" in note.body_text
    assert mails(db, "onboarding_confirm_email")[0].recipient == "bruno@example.com"


def test_the_link_confirms_once_and_sends_the_person_to_sign_in(client, db, terms):
    sign_up(client)
    link = link_in(mails(db)[0])
    response = client.get(link)
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    user = db.session.execute(select(User)).scalar_one()
    db.session.refresh(user)
    assert user.email_confirmed_at is not None
    assert "is confirmed" in client.get("/sign-in?lang=en").get_data(as_text=True)
    again = client.get(link)  # a second click (or a mail scanner's first) does no harm
    assert again.status_code == 302 and "already confirmed" in client.get("/sign-in?lang=en").get_data(as_text=True)


def test_the_link_expires_after_24_hours(client, db, terms):
    sign_up(client)
    link = link_in(mails(db)[0])
    with time_machine.travel(utcnow() + timedelta(hours=24, minutes=1)):
        response = client.get(link + "?lang=en")
    assert response.status_code == 410
    assert "This link can no longer be used" in response.get_data(as_text=True)
    assert db.session.execute(select(User)).scalar_one().email_confirmed_at is None
    assert client.get("/confirm-email/not-a-token").status_code == 410


def _password_step(client, email="anna.muster@example.com", password=PASSWORD):
    return client.post_form("/sign-in", {"email": email, "password": password}, token_from="/sign-in")


def test_an_unconfirmed_account_can_only_ask_for_the_link_again(client, db, terms):
    sign_up(client)
    first_link = link_in(mails(db)[0])
    assert _password_step(client, password="wrong password here").status_code == 422
    response = _password_step(client)
    assert response.headers["Location"] == "/confirm-email"
    page = client.get("/confirm-email?lang=en").get_data(as_text=True)
    assert "Confirm your e-mail address first" in page and "anna.muster@example.com" in page
    for path in ("/sign-in/set-up", "/sign-in/code", "/sign-in/recovery-codes", "/dashboard"):
        assert client.get(path).headers["Location"] in ("/confirm-email", "/sign-in?next=%2Fdashboard", "/sign-in?next=/dashboard")
    response = client.post_form("/confirm-email/send-again", {}, token_from="/confirm-email")
    assert response.status_code == 302
    assert "We have sent a new link" in client.get("/confirm-email?lang=en").get_data(as_text=True)
    confirm_mails = mails(db, "onboarding_confirm_email")
    assert len(confirm_mails) == 2 and confirm_mails[1].locale == "de"
    assert db.session.query(AuditEvent).filter_by(action="onboarding.confirmation_resent").count() == 1
    assert client.get(first_link).status_code == 410  # the old link died
    assert client.get(link_in(confirm_mails[1])).headers["Location"] == "/sign-in"
    # Confirmed: the password now leads to the enrolment of the second factor.
    assert _password_step(client).headers["Location"] == "/sign-in/set-up"


def test_sign_up_without_published_terms_asks_for_no_acceptance(client, db):
    assert 'name="accept_terms"' not in client.get("/sign-up").get_data(as_text=True)
    assert sign_up(client, accept_terms=None).status_code == 302
    assert db.session.query(TermsAcceptance).count() == 0


def test_a_signed_in_person_is_sent_to_the_dashboard(client, make_user, login_as):
    login_as(make_user())
    assert client.get("/sign-up").headers["Location"] == "/dashboard"
