"""Sessions: time-outs and their warning, no data lost when a session ends, gates after sign-in."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

import pytest
from flask import render_template_string
from flask_wtf import FlaskForm
from sqlalchemy import select, update
from wtforms import BooleanField, PasswordField, StringField, TextAreaField

from tradeportal import access
from tradeportal.account.models import User
from tradeportal.audit import AuditEvent
from tradeportal.auth.models import TermsAcceptance, UserSession
from tradeportal.db import utcnow
from tradeportal.public.models import TermsVersion

PASSWORD = "Correct-Horse-Battery-42"


pytestmark = pytest.mark.usefixtures("no_rate_limits")


def sign_in(client, user, code=None):
    first = client.post_form("/sign-in", {"email": user.email, "password": PASSWORD}, token_from="/sign-in")
    assert first.status_code == 302, first.status_code
    return client.post_form("/sign-in/code", {"code": code or user.totp.now()}, token_from="/sign-in/code")


def new_time_step(db, user):
    """Let the current TOTP code be accepted again (as if 30 seconds had passed)."""
    db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
    db.session.commit()


def age_session(db, user, minutes):
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id)
                       .values(last_seen_at=utcnow() - timedelta(minutes=minutes)))
    db.session.commit()


def add_terms(db, version, days_ago=1):
    terms = TermsVersion(version=version, published_at=utcnow() - timedelta(days=days_ago),
                         body_fr=f"Conditions {version}.", body_en=f"Terms version {version}.", body_de=f"Bedingungen {version}.")
    db.session.add(terms)
    db.session.commit()
    return terms


# --- time-outs and the warning ---------------------------------------------------

def test_signed_in_pages_carry_the_session_timing_for_the_warning_script(client, make_user, login_as):
    assert "data-session=" not in client.get("/").get_data(as_text=True)
    login_as(make_user())
    body = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'<script src="/static/js/session\.js\?v=[0-9a-f]{12}" defer></script>', body)
    info = json.loads(unescape(re.search(r'<body data-session="([^"]+)">', body).group(1)))
    assert 1700 < info["remaining"] <= 1800 and info["warn"] == 120
    assert info["status"] == "/session/status" and info["dialog"] == "/session/warning"
    assert client.get("/static/js/session.js").status_code == 200


def test_status_does_not_count_as_activity_but_extend_does(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    age_session(db, user, 29)
    status = client.get("/session/status").get_json()
    assert status["signed_in"] and 50 < status["remaining"] <= 60 and status["extendable"]
    row = db.session.execute(select(UserSession)).scalar_one()
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at > timedelta(minutes=28)
    dialog = client.get("/session/warning?lang=en").get_data(as_text=True)
    assert 'role="alertdialog"' in dialog and "Stay signed in" in dialog and 'action="/session/extend"' in dialog
    token = re.search(r'name="csrf_token" value="([^"]+)"', dialog).group(1)
    extended = client.post("/session/extend", headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert extended.status_code == 200 and extended.get_json()["remaining"] > 1790
    assert extended.headers["Cache-Control"] == "no-store"
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(seconds=5)
    # Without the CSRF header the extension is refused.
    assert client.post("/session/extend", headers={"Accept": "application/json"}).status_code == 400


def test_status_when_signed_out_and_the_twelve_hour_limit(client, make_user, login_as, db):
    assert client.get("/session/status").get_json() == {"signed_in": False, "remaining": 0, "extendable": False}
    user = make_user()
    login_as(user)
    db.session.execute(update(UserSession).values(created_at=utcnow() - timedelta(hours=11, minutes=59)))
    db.session.commit()
    status = client.get("/session/status").get_json()
    assert status["remaining"] <= 60 and status["extendable"] is False
    assert "12 hours at most" in client.get("/session/warning?lang=en").get_data(as_text=True)


def test_an_idle_session_ends_after_30_minutes_with_a_notice(client, make_user, login_as, db):
    client.set_cookie("tp_lang", "en")  # flashed notices are worded in the language of the request that makes them
    user = make_user()
    login_as(user)
    age_session(db, user, 31)
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert "your session has ended" in client.get("/sign-in?lang=en").get_data(as_text=True)
    assert client.post("/session/extend", headers={"X-CSRFToken": client.csrf_token("/"), "Accept": "application/json"}).status_code in (302, 401)


# --- no data lost ------------------------------------------------------------------

class NoteForm(FlaskForm):
    subject = StringField("Subject")
    body = TextAreaField("Body")
    password = PasswordField("Password")
    urgent = BooleanField("Urgent")


@pytest.fixture
def note_page(app, monkeypatch):
    """A signed-in page with a form, in place of the terms page (same URL, GET and POST)."""
    @access.signed_in
    def note():
        form = NoteForm()
        if form.validate_on_submit():
            return f"sent: {form.subject.data}"
        return render_template_string(
            '{% extends "base.html" %}{% block content %}<form method="post">{{ form.csrf_token }}'
            "{{ form.subject }}{{ form.body }}{{ form.password }}{{ form.urgent }}</form>{% endblock %}", form=form)

    monkeypatch.setitem(app.view_functions, "onboarding.accept_terms", note)
    return "/terms-of-use/accept"


def test_a_form_sent_after_the_session_ended_is_shown_again_after_signing_in(client, make_user, db, note_page):
    client.set_cookie("tp_lang", "en")  # flashed notices are worded in the language of the request that makes them
    user = make_user()
    assert sign_in(client, user).status_code == 302
    token = client.csrf_token(note_page)
    age_session(db, user, 31)
    response = client.post(note_page, data={"csrf_token": token, "subject": "Import of 40 t steel", "urgent": "y",
                                            "body": "Line one\nLine two", "password": "secret-thing-123"},
                           headers={"Referer": f"http://localhost{note_page}"})
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    assert "what you entered will be shown again" in client.get("/sign-in?lang=en").get_data(as_text=True)
    with client.session_transaction() as sess:
        kept = sess["form_stash"]
    assert kept["url"] == note_page and ["subject", "Import of 40 t steel"] in kept["fields"]
    assert "secret-thing-123" not in json.dumps(kept) and "csrf_token" not in json.dumps(kept["fields"])
    new_time_step(db, user)
    back = sign_in(client, user)
    assert back.headers["Location"] == note_page
    page = client.get(f"{note_page}").get_data(as_text=True)
    assert 'value="Import of 40 t steel"' in page and "Line one\nLine two</textarea>" in page
    assert re.search(r'<input checked id="urgent"', page) and "secret-thing-123" not in page
    assert "Your session had ended. Check what you entered and send the form again." in unescape(page)
    # Once only; the person sends it themselves with a fresh token.
    assert 'value="Import of 40 t steel"' not in client.get(note_page).get_data(as_text=True)
    sent = client.post_form(note_page, {"subject": "Import of 40 t steel"}, token_from=note_page)
    assert sent.get_data(as_text=True) == "sent: Import of 40 t steel"


def test_an_expired_form_of_a_signed_out_person_is_kept_on_csrf_failure(app, client, db):
    client.set_cookie("tp_lang", "en")  # flashed notices are worded in the language of the request that makes them
    client.get("/feedback?page=/help")
    headers = {"Referer": "http://localhost/feedback?page=/help", "Sec-Fetch-Site": "same-origin"}
    response = client.post("/feedback", data={"text": "The phone number is hard to find.", "page": "/help",
                                              "csrf_token": "stale"}, headers=headers)
    assert response.status_code == 302 and response.headers["Location"] == "/feedback?page=/help"
    page = unescape(client.get("/feedback?page=/help&lang=en".replace("&lang=en", "")).get_data(as_text=True))
    assert "The phone number is hard to find.</textarea>" in page and "forms expire" in page


def test_a_forged_cross_site_post_is_not_kept(client):
    response = client.post("/feedback", data={"text": "Pay to IBAN XX", "page": "/help", "csrf_token": "x"},
                           headers={"Referer": "https://evil.example/", "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 400
    with client.session_transaction() as sess:
        assert "form_stash" not in sess


def test_a_signed_in_form_with_a_stale_token_sends_the_signed_out_person_to_sign_in(client, note_page):
    response = client.post(note_page, data={"subject": "Hello", "csrf_token": "stale"},
                           headers={"Origin": "http://localhost", "Referer": f"http://localhost{note_page}"})
    assert response.headers["Location"] == "/sign-in"
    with client.session_transaction() as sess:
        assert sess["form_stash"]["url"] == note_page


def test_htmx_posts_after_the_session_ended_ask_for_a_full_page_sign_in(client, make_user, login_as, db, note_page):
    user = make_user()
    login_as(user)
    token = client.csrf_token(note_page)
    age_session(db, user, 31)
    response = client.post(note_page, data={"subject": "x", "csrf_token": token}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/sign-in"


# --- gates -------------------------------------------------------------------------

def test_newer_terms_are_accepted_at_the_next_sign_in_before_anything_else(app, client, make_user, db):
    user = make_user()
    first = add_terms(db, 1, days_ago=30)
    db.session.add(TermsAcceptance(user_id=user.id, terms_version_id=first.id))
    db.session.commit()
    assert sign_in(client, user).headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    add_terms(db, 2)
    assert client.get("/dashboard").status_code == 200  # published during the session: next sign-in
    client.post_form("/sign-out")
    new_time_step(db, user)
    assert sign_in(client, user).headers["Location"] == "/dashboard"
    gate = client.get("/dashboard")
    assert gate.headers["Location"] == "/terms-of-use/accept?next=/dashboard"
    assert client.get("/staff/").status_code == 302
    page = client.get("/terms-of-use/accept?next=/dashboard&lang=en").get_data(as_text=True)
    assert "Terms version 2." in page and 'name="accept_terms"' in page
    refused = client.post_form("/terms-of-use/accept?next=/dashboard&lang=en", {}, token_from="/terms-of-use/accept")
    assert refused.status_code == 422 and "Accept the terms of use to continue" in refused.get_data(as_text=True)
    accepted = client.post_form("/terms-of-use/accept?next=/dashboard", {"accept_terms": "y"}, token_from="/terms-of-use/accept")
    assert accepted.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    versions = {row.terms_version_id for row in db.session.execute(select(TermsAcceptance)).scalars()}
    assert len(versions) == 2
    assert db.session.query(AuditEvent).filter_by(action="onboarding.terms_accepted").count() == 1
    # Sign-out stays possible while the gate is closed.
    assert client.post_form("/sign-out").status_code == 302


def test_a_person_who_lost_the_second_factor_during_a_session_is_signed_out(client, make_user, login_as, db):
    user = make_user()
    login_as(user)
    user.totp_enrolled_at = None
    user.totp_secret = None
    db.session.commit()
    assert client.get("/dashboard").headers["Location"] == "/sign-in"
    db.session.expire_all()
    assert db.session.execute(select(UserSession)).scalar_one().ended_at is not None
