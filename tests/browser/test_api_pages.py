"""API self-service in a real browser, in fr/en/de: the tile, create, keys once (copy, reload), every page scanned by axe-core."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.browser_support import axe_violations, format_violations
from tests.conftest import TEST_PASSWORD
from tests.test_roles_support import add_catalogue, add_member, add_partner, grant

ERROR_TITLES = ("Error:", "Erreur", "Fehler")


def _sign_in(page, live_server, client, login_as, user):
    login_as(user)
    page.context.add_cookies([{"name": "tp_session", "value": client.get_cookie("tp_session").value, "url": live_server}])


def _check(page, label, failures):
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(label, violations))
    assert page.evaluate("() => window.__cspViolations || []") == [], label


@pytest.fixture
def admin_without_role(db, make_user):
    roles = add_catalogue(db)
    partner = add_partner(db, "Rhein Handel AG")
    user = make_user(first_name="Ada", last_name="Admin")
    add_member(db, partner, user, "administrator")
    return user, partner, roles


def _create(page, lang):
    page.locator("#name").fill("Zoll Pro")
    page.locator("#scopes-0").check()
    page.locator("#scopes-1").check()
    page.locator("#environment-0").check()
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/keys")


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_tile_create_keys_once_and_every_page(page, live_server, client, login_as, db, admin_without_role, lang):
    user, partner, roles = admin_without_role
    _sign_in(page, live_server, client, login_as, user)
    failures = []
    page.goto(f"/dashboard?lang={lang}")
    assert page.locator("#tile-api_self_service").count() == 0
    grant(db, partner, roles["goods_traffic"])
    page.goto(f"/dashboard?lang={lang}")
    page.locator("#tile-api_self_service a").click()
    page.wait_for_url(f"**/partners/{partner.id}/api")
    assert page.locator("html").get_attribute("lang") == lang
    _check(page, f"list, empty ({lang})", failures)
    page.locator("main a.button").first.click()
    _check(page, f"create ({lang})", failures)
    page.locator("main form button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    assert page.title().startswith(ERROR_TITLES)
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    _check(page, f"create, errors ({lang})", failures)
    _create(page, lang)
    assert page.locator("button[data-copy]").first.is_visible()
    secret = page.locator("#client-secret").input_value()
    assert secret.startswith("tpcs_")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.locator("button[data-copy='client-secret']").click()
    page.locator("button[data-copy='client-secret'][data-copied='true']").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    _check(page, f"keys ({lang})", failures)
    page.reload()
    assert secret not in page.content() and page.locator("#client-secret").count() == 0
    _check(page, f"keys gone ({lang})", failures)
    from tradeportal.api.models import ApiApplication

    db.session.expire_all()
    app_id = db.session.execute(select(ApiApplication.id)).scalar_one()
    for path, label in (("", "detail"), ("/rotate", "rotate"), ("/revoke", "revoke"), ("/webhook", "webhook")):
        page.goto(f"/partners/{partner.id}/api/{app_id}{path}?lang={lang}")
        _check(page, f"{label} ({lang})", failures)
    page.goto(f"/partners/{partner.id}/api/{app_id}/revoke?lang={lang}")
    page.locator("#password").fill("wrong-password")
    page.locator("main form button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    _check(page, f"revoke, error ({lang})", failures)
    page.goto(f"/partners/{partner.id}/api?lang={lang}")
    _check(page, f"list ({lang})", failures)
    page.goto(f"/api/reference?lang={lang}")
    _check(page, f"reference ({lang})", failures)
    assert not failures, "\n".join(failures)


def test_without_javascript_the_keys_are_selectable_text(page_without_js, live_server, client, login_as, db, admin_without_role):
    page = page_without_js
    user, partner, roles = admin_without_role
    grant(db, partner, roles["goods_traffic"])
    _sign_in(page, live_server, client, login_as, user)
    page.goto(f"/partners/{partner.id}/api/new?lang=en")
    _create(page, "en")
    assert page.locator("button[data-copy]").first.is_hidden()
    field = page.locator("#client-secret")
    assert field.get_attribute("readonly") is not None and field.input_value().startswith("tpcs_")
    with page.expect_download() as download:
        page.locator("main form button[type=submit]").click()
    assert download.value.suggested_filename.startswith("api-keys-tpci_")
    page.reload()
    assert page.locator("#client-secret").count() == 0
