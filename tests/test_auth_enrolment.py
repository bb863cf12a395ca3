"""The mandatory second factor: enrolment of an authenticator app and the recovery codes."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from tradeportal.audit import AuditEvent
from tradeportal.auth import recovery
from tradeportal.auth.models import RecoveryCode, UserSession

PASSWORD = "Correct-Horse-Battery-42"


pytestmark = pytest.mark.usefixtures("no_rate_limits")


@pytest.fixture
def newcomer(make_user, db):
    """A confirmed account that has no authenticator yet."""
    user = make_user("newcomer@example.com")
    user.totp_secret = None
    user.totp_enrolled_at = None
    db.session.commit()
    return user


def password_step(client, user):
    return client.post_form("/sign-in", {"email": user.email, "password": PASSWORD}, token_from="/sign-in")


def enrolment_page(client):
    body = client.get("/sign-in/set-up?lang=en").get_data(as_text=True)
    secret = re.search(r"data-secret>([A-Z2-7 ]+)</code>", body).group(1)
    return body, secret


def enrol(client, user):
    password_step(client, user)
    _body, secret = enrolment_page(client)
    totp = pyotp.TOTP(secret.replace(" ", ""))
    response = client.post_form("/sign-in/set-up", {"code": totp.now()}, token_from="/sign-in/set-up")
    return response, totp


def shown_codes(response):
    """The codes, from the one answer that shows them (the enrolment's)."""
    return re.findall(r"data-recovery-code>([A-Z0-9-]+)</code>", response.get_data(as_text=True))


def test_a_person_without_authenticator_is_sent_to_enrolment(client, newcomer):
    assert password_step(client, newcomer).headers["Location"] == "/sign-in/set-up"
    assert client.get("/sign-in/code").headers["Location"] == "/sign-in/set-up"  # no skipping ahead
    assert client.get("/sign-in/recovery-codes").headers["Location"] == "/sign-in/set-up"
    assert client.get("/dashboard").status_code == 302


def test_the_page_explains_shows_an_svg_qr_code_without_styles_and_the_grouped_secret(client, newcomer):
    password_step(client, newcomer)
    body, secret = enrolment_page(client)
    assert "Set up two-factor authentication" in body and "authenticator app" in body
    svg = body[body.index("<svg"):body.index("</svg>")]
    assert "style" not in svg and 'role="img"' in svg and 'aria-label="QR code' in svg
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", secret)
    assert 'href="otpauth://totp/' in body
    assert 'autocomplete="one-time-code"' in body and 'inputmode="numeric"' in body
    # The same candidate secret until it is confirmed (the person may have scanned it already).
    assert enrolment_page(client)[1] == secret


def test_a_wrong_code_is_refused_with_the_message_next_to_the_field(client, newcomer, db):
    password_step(client, newcomer)
    enrolment_page(client)
    response = client.post_form("/sign-in/set-up?lang=en", {"code": "000000"}, token_from="/sign-in/set-up")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="code-error"' in body and 'href="#code">The code is not right' in body
    db.session.refresh(newcomer)
    assert newcomer.totp_enrolled_at is None


def test_enrolment_stores_the_secret_and_ten_hashed_recovery_codes(client, newcomer, db):
    response, totp = enrol(client, newcomer)
    assert response.status_code == 200 and "no-store" in response.headers.get("Cache-Control", "")
    db.session.refresh(newcomer)
    assert newcomer.totp_secret == totp.secret and newcomer.totp_enrolled_at is not None
    assert abs(newcomer.totp_last_step - int(time.time() // 30)) <= 1
    codes = shown_codes(response)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", c) for c in codes)
    rows = db.session.execute(select(RecoveryCode).where(RecoveryCode.user_id == newcomer.id)).scalars().all()
    stored = {row.code_hash for row in rows}
    assert len(rows) == 10 and not any(code.replace("-", "") in h or code in h for code in codes for h in stored)
    assert stored == {recovery.code_hash(code) for code in codes}
    assert db.session.query(AuditEvent).filter_by(action="auth.second_factor_enrolled").count() == 1
    assert db.session.query(UserSession).count() == 0  # not signed in before the codes are saved


def _cookie_text(app, client) -> str:
    """The session cookie as the browser holds it, decoded (signed, not encrypted: anyone holding it can read it)."""
    value = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session")).value
    return repr(app.session_interface.get_signing_serializer(app).loads(value))


def test_codes_are_shown_once_and_never_kept_in_the_session(client, app, newcomer):
    response, _totp = enrol(client, newcomer)
    codes = shown_codes(response)
    assert len(codes) == 10
    cookie = _cookie_text(app, client)
    assert not any(c in cookie or c.replace("-", "") in cookie for c in codes)
    # Reached again (reload, back button): no code, and the way to new ones explained.
    again = client.get("/sign-in/recovery-codes?lang=en")
    body = again.get_data(as_text=True)
    assert again.status_code == 200 and "data-recovery-code" not in body
    assert not any(c in body for c in codes) and "shown only once" in body
    assert client.post_form("/sign-in/recovery-codes", {}, token_from="/sign-in/recovery-codes"
                            ).headers["Location"] == "/dashboard"


def test_codes_download_as_text_when_the_page_posts_them_back(client, newcomer):
    response, _totp = enrol(client, newcomer)
    codes = shown_codes(response)
    body = response.get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', body)
    token = token.group(1) or token.group(2)
    posted = [c for c in re.findall(r'<input type="hidden" name="code" value="([^"]+)">', body)]
    assert posted == codes
    download = client.post("/sign-in/recovery-codes/download", data={"csrf_token": token, "code": codes})
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="recovery-codes.txt"'
    assert download.headers["Cache-Control"] == "no-store"
    assert download.mimetype == "text/plain"
    assert all(code in download.get_data(as_text=True) for code in codes)
    # Only this account's unused codes: a made-up code, or none, is refused.
    made_up = "ABCD-EFGH-JKMN"
    assert client.post("/sign-in/recovery-codes/download",
                       data={"csrf_token": token, "code": [*codes[:9], made_up]}).status_code == 400
    assert client.post("/sign-in/recovery-codes/download", data={"csrf_token": token}).status_code == 400
    saved = client.post_form("/sign-in/recovery-codes", {}, token_from="/sign-in/recovery-codes")
    assert saved.headers["Location"] == "/dashboard"
    # Signed in now: the enrolment's download is closed.
    token = client.csrf_token("/dashboard")
    again = client.post("/sign-in/recovery-codes/download", data={"csrf_token": token, "code": codes})
    assert again.status_code == 302 and "recovery" not in again.get_data(as_text=True).lower()
    assert client.get("/sign-in/recovery-codes").status_code == 302


def test_the_print_button_needs_js_and_the_page_says_what_to_do_without(client, newcomer):
    password_step(client, newcomer)
    _body, secret = enrolment_page(client)
    body = client.post_form("/sign-in/set-up?lang=en", {"code": pyotp.TOTP(secret.replace(" ", "")).now()},
                            token_from="/sign-in/set-up").get_data(as_text=True)
    assert re.search(r"<button type=\"button\"[^>]*data-print hidden>", body)
    assert "use your browser's print command" in body.replace("&#39;", "'")


def test_saving_the_codes_signs_in_and_the_enrolment_code_cannot_be_replayed(client, app, newcomer, db):
    response, totp = enrol(client, newcomer)
    code = totp.now()
    client.post_form("/sign-in/recovery-codes", {}, token_from="/sign-in/recovery-codes")
    assert db.session.query(UserSession).filter_by(user_id=newcomer.id).count() == 1
    assert "Dashboard" in client.get("/dashboard?lang=en").get_data(as_text=True)
    other = app.test_client()
    password_step(other, newcomer)
    replay = other.post_form("/sign-in/code", {"code": code}, token_from="/sign-in/code")
    assert replay.status_code == 422  # the step used for enrolment never works again
    with time_machine.travel(time.time() + 60):
        assert other.post_form("/sign-in/code", {"code": totp.now()}, token_from="/sign-in/code").status_code == 302


def test_a_recovery_code_from_enrolment_signs_in_once(client, app, newcomer, db):
    response, _totp = enrol(client, newcomer)
    code = shown_codes(response)[3]
    client.post_form("/sign-in/recovery-codes", {}, token_from="/sign-in/recovery-codes")
    other = app.test_client()
    password_step(other, newcomer)
    assert other.post_form("/sign-in/code", {"code": code.lower().replace("-", " ")}, token_from="/sign-in/code").status_code == 302
    third = app.test_client()
    password_step(third, newcomer)
    assert third.post_form("/sign-in/code", {"code": code}, token_from="/sign-in/code").status_code == 422


def test_the_candidate_secret_is_kept_on_the_server_not_in_the_cookie(app, client, newcomer, db):
    password_step(client, newcomer)
    _body, secret = enrolment_page(client)
    plain = secret.replace(" ", "")
    db.session.refresh(newcomer)
    assert newcomer.totp_candidate_secret == plain
    # The session cookie is signed, not encrypted: the secret must not be readable in it.
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    serializer = app.session_interface.get_signing_serializer(app)
    assert plain not in repr(serializer.loads(cookie.value))
    # Starting again with a new cookie (another browser) offers the same key: the app may hold it already.
    client.delete_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    response, _totp = enrol(client, newcomer)
    assert response.status_code == 200
    db.session.refresh(newcomer)
    assert newcomer.totp_secret == plain and newcomer.totp_candidate_secret is None
