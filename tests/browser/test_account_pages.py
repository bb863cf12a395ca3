"""Account and staff support pages in a real browser: axe-core in fr/en/de, errors, no JavaScript, keyboard."""
from __future__ import annotations

import pytest

from tests.browser_support import axe_violations, format_violations
from tests.conftest import TEST_PASSWORD
from tradeportal.access import StaffPermission
from tradeportal.audit import record

ACCOUNT_PAGES = ["/account", "/account/email", "/account/password", "/account/security", "/account/security/authenticator",
                 "/account/security/recovery-codes", "/account/sessions", "/account/activity", "/account/delete"]


def _use_session_of(page, app, login_as, user, live_server):
    """Sign the browser in by giving it the cookie of a server-side session made for `user`."""
    helper = app.test_client()
    login_as(user, helper)
    helper.get("/")
    page.context.add_cookies([{"name": "tp_session", "value": helper.get_cookie("tp_session").value, "url": live_server}])


def _scan(page, path, lang, failures):
    page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(f"{path} ({lang})", violations))


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_account_pages_have_no_axe_violations(page, app, db, make_user, login_as, live_server, lang):
    user = make_user(phone="+41 44 123 45 67")
    record("auth.signed_in", actor=user, subject_user_id=user.id)
    record("auth.password_failed", actor=user, subject_user_id=user.id)
    db.session.commit()
    _use_session_of(page, app, login_as, user, live_server)
    failures = []
    for path in ACCOUNT_PAGES:
        _scan(page, path, lang, failures)
    # The QR code step and the new recovery codes.
    page.goto(f"/account/security/authenticator?lang={lang}")
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.locator("svg.qr-code").wait_for()
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(f"QR code ({lang})", violations))
    page.goto(f"/account/security/recovery-codes?lang={lang}")
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.locator(".recovery-codes").wait_for()
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(f"recovery codes ({lang})", violations))
    # An error state, its summary focused.
    page.goto(f"/account?lang={lang}")
    page.locator("#first_name").fill("")
    page.locator("#phone").fill("12")
    page.locator("main form button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    assert page.title().startswith(("Error:", "Erreur", "Fehler"))
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(f"profile error ({lang})", violations))
    assert page.evaluate("() => window.__cspViolations || []") == []
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_staff_support_and_terms_pages_have_no_axe_violations(page, app, db, make_user, login_as, live_server, lang):
    staff = make_user(staff_permissions=[StaffPermission.SUPPORT, StaffPermission.CONTENT])
    person = make_user("anna.muster@example.com", first_name="Anna", last_name="Muster")
    _use_session_of(page, app, login_as, staff, live_server)
    failures = []
    for path in ["/staff/users", "/staff/users?q=muster", "/staff/users?q=nobody", f"/staff/users/{person.id}",
                 "/staff/terms", "/staff/terms/new"]:
        _scan(page, path, lang, failures)
    # Publish one version (preview first), then look at it.
    page.goto(f"/staff/terms/new?lang={lang}")
    page.locator("#body_fr").fill("Conditions.\n\nSuite.")
    page.locator("#body_en").fill("Terms.\n\nMore.")
    page.locator("#body_de").fill("Bedingungen.")
    page.locator("button[value=preview]").click()
    page.locator(".preview").wait_for()
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(f"terms preview ({lang})", violations))
    page.locator("button[value=publish]").click()
    # The new version applies to the editor too; accept it as the terms gate asks.
    from tradeportal.auth.models import TermsAcceptance
    from tradeportal.public.models import TermsVersion

    db.session.add(TermsAcceptance(user_id=staff.id, terms_version_id=db.session.query(TermsVersion).one().id))
    db.session.commit()
    _scan(page, "/staff/terms/1", lang, failures)
    # An error state on the support page: no reason given.
    page.goto(f"/staff/users/{person.id}?lang={lang}")
    page.locator("#unlock-reason").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(f"support error ({lang})", violations))
    assert not failures, "\n".join(failures)


def test_sign_in_and_change_names_and_language_without_javascript_by_keyboard(page_without_js, make_user, db):
    page = page_without_js
    user = make_user(locale="en")
    page.goto("/sign-in?lang=en")
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("#password").press("Enter")
    page.locator("#code").fill(user.totp.now())
    page.locator("#code").press("Enter")
    page.get_by_role("link", name="Your account").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/account")
    assert page.get_by_role("navigation", name="Account settings").is_visible()

    # An error first: the values stay, the message sits next to the field.
    page.locator("#first_name").fill("")
    page.locator("#last_name").fill("Beispiel")
    page.get_by_role("button", name="Save profile").press("Enter")
    assert page.title().startswith("Error:")
    assert page.locator("#first_name-error").is_visible()
    assert page.locator("#last_name").input_value() == "Beispiel"

    page.locator("#first_name").fill("Berta")
    page.locator("#locale-2").focus()  # Deutsch
    page.keyboard.press("Space")
    page.get_by_role("button", name="Save profile").press("Enter")
    page.wait_for_url("**/account")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.locator(".flashes").inner_text().strip() != ""
    db.session.expire_all()
    db.session.refresh(user)
    assert (user.first_name, user.last_name, user.locale) == ("Berta", "Beispiel", "de")
