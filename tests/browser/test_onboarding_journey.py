"""The whole journey in a real browser, in fr/en/de, keyboard only, with and without JavaScript:
sign up, confirm the address, enrol the authenticator, save the recovery codes, sign out,
sign in with a code, sign in with a recovery code. axe-core on every page, an error state included."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select, update

from tests.browser_support import axe_violations, format_violations

PASSWORD = "mauve lettuce tractor glacier"
LOCALE_INDEX = {"fr": 0, "en": 1, "de": 2}


pytestmark = pytest.mark.usefixtures("no_rate_limits")


@pytest.fixture
def terms(db):
    from tradeportal.db import utcnow
    from tradeportal.public.models import TermsVersion

    db.session.add(TermsVersion(version=1, published_at=utcnow() - timedelta(days=1), body_fr="Conditions.",
                                body_en="Terms.", body_de="Bedingungen."))
    db.session.commit()


class Journey:
    def __init__(self, page, db, lang, javascript):
        self.page, self.db, self.lang, self.javascript, self.failures = page, db, lang, javascript, []

    def scan(self, name):
        assert self.page.locator("html").get_attribute("lang") == self.lang, name
        overflow = self.page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px"
        if not self.javascript:
            return  # axe runs in the page: the variants with JavaScript scan every page
        violations = axe_violations(self.page)
        if violations:
            self.failures.append(format_violations(f"{name} ({self.lang})", violations))

    def submit(self, form_selector):
        """Keyboard only: focus the form's submit button and press Enter."""
        button = self.page.locator(f"{form_selector} button[type=submit]").first
        button.focus()
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def type_into(self, selector, text):
        self.page.locator(selector).focus()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)

    def mail_link(self, template, email):
        from tradeportal.mail import OutboxMessage

        self.db.session.expire_all()
        message = self.db.session.execute(
            select(OutboxMessage).where(OutboxMessage.template == template, OutboxMessage.recipient == email)
            .order_by(OutboxMessage.id.desc())
        ).scalars().first()
        assert message is not None and message.locale == self.lang
        return re.search(r"http://localhost(/\S+)", message.body_text).group(1)

    def sign_in(self, email):
        self.page.goto(f"/sign-in?lang={self.lang}")
        self.type_into("#email", email)
        self.type_into("#password", PASSWORD)
        self.submit("form[action='/sign-in']")


def run_journey(page, db, lang, javascript=True):
    journey = Journey(page, db, lang, javascript)
    email = f"journey.{lang}.{'js' if javascript else 'nojs'}@example.com"

    # Sign up: first an error state, then the real thing.
    page.goto(f"/sign-up?lang={lang}")
    journey.scan("sign-up")
    journey.submit("form[action='/sign-up']")
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#email-error").is_visible() and page.locator("#password-error").is_visible()
    if javascript:
        assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    journey.scan("sign-up with errors")
    journey.type_into("#email", email)
    journey.type_into("#first_name", "Anna")
    journey.type_into("#last_name", "Muster")
    journey.type_into("#password", PASSWORD)
    page.locator(f"#locale-{LOCALE_INDEX[lang]}").focus()
    page.keyboard.press("Space")
    page.locator("#accept_terms").focus()
    page.keyboard.press("Space")
    journey.submit("form[action='/sign-up']")
    assert page.url.endswith("/sign-up/check-your-email")
    assert email in page.locator("main").inner_text()
    journey.scan("check your e-mail")

    # Confirm the address with the link from the e-mail.
    page.goto(journey.mail_link("onboarding_confirm_email", email))
    assert "/sign-in" in page.url and page.locator(".notice--success").is_visible()
    journey.scan("sign-in after confirmation")

    # Password, then enrolment with the secret typed from the page.
    journey.sign_in(email)
    assert page.url.endswith("/sign-in/set-up")
    assert page.locator("svg.qr-code").is_visible()
    journey.scan("enrolment")
    secret = page.locator("[data-secret]").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    journey.type_into("#code", totp.now())
    journey.submit("form[action='/sign-in/set-up']")
    # The codes come in the answer to the enrolment form itself: never in a redirect or the session.
    assert page.locator("form[action='/sign-in/recovery-codes']").count() == 1
    codes = page.locator("[data-recovery-code]").all_inner_texts()
    assert len(codes) == 10
    assert page.locator("[data-print]").is_visible() is javascript
    journey.scan("recovery codes")
    if not javascript:
        with page.expect_download() as download:
            page.locator("form[action='/sign-in/recovery-codes/download'] button").click()
        with open(download.value.path(), encoding="utf-8") as fh:
            assert codes[0] in fh.read()
    journey.submit("form[action='/sign-in/recovery-codes']")
    assert page.url.endswith("/dashboard")
    journey.scan("dashboard")

    # Sign out; sign in with the authenticator (the next time step: the enrolment's was used).
    journey.submit("form[action='/sign-out']")
    journey.sign_in(email)
    assert page.url.endswith("/sign-in/code")
    journey.scan("second factor")
    journey.type_into("#code", totp.at(time.time() + 30))
    journey.submit("form[action='/sign-in/code']")
    assert page.url.endswith("/dashboard")

    # And with a recovery code, typed in lower case with spaces.
    journey.submit("form[action='/sign-out']")
    journey.sign_in(email)
    journey.type_into("#code", codes[4].lower().replace("-", " "))
    journey.submit("form[action='/sign-in/code']")
    assert page.url.endswith("/dashboard")
    assert page.locator(".notice--warning").is_visible()
    journey.scan("dashboard after a recovery code")
    assert not journey.failures, "\n".join(journey.failures)
    if javascript:
        assert page.evaluate("() => window.__cspViolations || []") == []
        # The 422 answer of the error state is logged by the browser; nothing else may be.
        assert [e for e in page.console_errors if "status of 422" not in e] == []


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_onboarding_journey(page, db, terms, lang):
    run_journey(page, db, lang)


def test_onboarding_journey_without_javascript(page_without_js, db, terms):
    page_without_js.set_viewport_size({"width": 320, "height": 640})  # and reflow at 320 CSS px
    run_journey(page_without_js, db, "de", javascript=False)


def test_the_session_warning_lets_the_person_stay_signed_in(page, db, make_user, live_server):
    from tradeportal.auth.models import UserSession
    from tradeportal.db import utcnow

    user = make_user(locale="en")
    page.clock.install()
    page.goto("/sign-in?lang=en")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill("Correct-Horse-Battery-42")
    page.locator("#password").press("Enter")
    page.locator("#code").fill(user.totp.now())
    page.locator("#code").press("Enter")
    page.wait_for_url("**/dashboard")
    page.locator("#main").focus()
    # 29 minutes without activity, on the server and in the page.
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=29)))
    db.session.commit()
    page.clock.fast_forward("28:30")
    dialog = page.get_by_role("alertdialog")
    dialog.wait_for()
    assert page.evaluate("() => document.activeElement.textContent.trim()") == "Stay signed in"
    violations = axe_violations(page)
    assert not violations, format_violations("session warning", violations)
    page.keyboard.press("Enter")
    dialog.wait_for(state="detached")
    assert page.locator("#live-region").inner_text() == "You are still signed in."
    db.session.expire_all()
    row = db.session.execute(select(UserSession)).scalar_one()
    assert utcnow() - row.last_seen_at < timedelta(seconds=30)
    # Later, without answering: the dialog says the session has ended.
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    page.clock.fast_forward("29:00")
    page.get_by_role("heading", name="Your session has ended").wait_for()
    assert page.evaluate("() => document.activeElement.id") == "session-dialog-ended-title"
    assert page.evaluate("() => window.__cspViolations || []") == []
