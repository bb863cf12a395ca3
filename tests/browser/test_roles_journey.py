"""Roles in a real browser, in fr/en/de: request, review, notification, tiles, the explanation page, axe-core.

The server is the application plus the probe routes of tests/test_rights_matrix.py
(one `partner_member(right)` page per right), because the services that rights
open are later issues.
"""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.browser_support import axe_violations, format_violations
from tests.test_rights_matrix import make_probe_app
from tests.test_roles_support import add_catalogue, add_member, add_partner
from tradeportal.access import StaffPermission

ERROR_TITLES = ("Error:", "Erreur", "Fehler")
APPROVED = {"fr": "Expéditeur agréé", "en": "Authorised consignor", "de": "Zugelassener Versender"}


@pytest.fixture(scope="module")
def probe_server(app):
    probe = make_probe_app(app)
    server = make_server("127.0.0.1", 0, probe, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield probe, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class Browser:
    """Pages on the probe server, each signed in as one person through a server-side session."""

    def __init__(self, browser, probe_server, login_as):
        self.browser, (self.app, self.base), self.login_as = browser, probe_server, login_as
        self.contexts = []

    def page_for(self, user, java_script=True):
        context = self.browser.new_context(base_url=self.base, java_script_enabled=java_script, locale="en-GB")
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => { (window.__cspViolations = window.__cspViolations || []).push(e.violatedDirective); });"
        )
        self.contexts.append(context)
        helper = self.app.test_client()
        self.login_as(user, helper)
        helper.get("/")
        context.add_cookies([{"name": "tp_session", "value": helper.get_cookie("tp_session").value, "url": self.base}])
        return context.new_page()

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, probe_server, login_as, db):
    b = Browser(browser, probe_server, login_as)
    yield b
    b.close()


def _scan(page, failures, label):
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(label, violations))


def _goto(page, path, lang):
    page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang


@pytest.fixture
def world(db, make_user):
    class World:
        pass

    w = World()
    w.roles = add_catalogue(db)
    w.partner = add_partner(db, "Rhein Handel AG")
    return w


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_request_review_notification_tiles_and_explanations(pages, db, make_user, world, lang):
    admin = make_user(first_name="Ada", last_name="Admin", locale=lang)
    member = make_user(first_name="Max", last_name="Member", locale=lang)
    staff_user = make_user(first_name="Sandra", last_name="Staff", locale=lang, staff_permissions=[StaffPermission.ROLES])
    add_member(db, world.partner, admin, "administrator")
    membership = add_member(db, world.partner, member, "member")
    pid = world.partner.id
    failures = []

    # The administrator requests Transport: active at once.
    page = pages.page_for(admin)
    _goto(page, f"/partners/{pid}/roles", lang)
    _scan(page, failures, f"roles ({lang})")
    page.locator("#role-transport a.button").click()
    _scan(page, failures, f"request transport ({lang})")
    page.locator("main form button[type=submit]").click()
    page.locator("#role-transport .tag--active").wait_for()

    # Authorised consignor needs a contact person (the phone is missing) and a review.
    page.locator("#role-authorised_consignor a.button").click()
    assert page.locator("#contact_name").input_value() == "Ada Admin"
    page.locator("main form button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    assert page.title().startswith(ERROR_TITLES)
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    _scan(page, failures, f"request error ({lang})")
    page.locator("#contact_phone").fill("+41 58 462 60 00")
    page.locator("main form button[type=submit]").click()
    page.locator("#role-authorised_consignor .tag--pending").wait_for()

    # Authorised consignee: requested, withdrawn in place (htmx), requested again.
    for _ in range(2):
        page.locator("#role-authorised_consignee a.button").click()
        page.locator("#contact_phone").fill("+41 58 462 60 00")
        page.locator("main form button[type=submit]").click()
        page.locator("#role-authorised_consignee .tag--pending").wait_for()
        if _ == 0:
            page.evaluate("() => { window.__stayed = true; }")
            page.locator("#role-authorised_consignee form button").click()
            page.locator("#role-authorised_consignee .tag--neutral").wait_for()
            assert page.evaluate("() => window.__stayed === true")  # no full reload
            assert page.locator("#live-region").inner_text().strip() != ""

    _goto(page, "/dashboard", lang)
    assert page.locator("#tile-certificates").is_visible() and page.locator("#tile-api_self_service").count() == 0
    assert page.locator(".dashboard-steps__item--role_pending").count() == 2
    _scan(page, failures, f"dashboard ({lang})")

    # Staff approve the consignor and reject the consignee (a reason is required).
    office = pages.page_for(staff_user)
    for path in ("/staff/roles", "/staff/roles/new", f"/staff/roles/{world.roles['transport'].id}/edit",
                 "/staff/role-requests", "/staff/role-requests?status=active"):
        _goto(office, path, lang)
        _scan(office, failures, f"{path} ({lang})")
    _goto(office, "/staff/roles/new", lang)
    office.locator("main form button[type=submit]").click()
    office.locator(".error-summary").wait_for()
    _scan(office, failures, f"new role error ({lang})")
    _goto(office, "/staff/role-requests", lang)
    rows = office.locator("main table tbody tr")
    assert rows.count() == 2 and APPROVED[lang] in rows.nth(0).inner_text()  # oldest first
    rows.nth(1).locator("a").click()
    office.locator("#decision-1").check()  # reject, without a reason
    office.locator("main form button[type=submit]").click()
    office.locator(".error-summary").wait_for()
    _scan(office, failures, f"reject error ({lang})")
    office.locator("#reason").fill("No bond deposited.")
    office.locator("main form button[type=submit]").click()
    office.locator("main table tbody tr").first.wait_for()
    office.locator("main table tbody tr").first.locator("a").click()
    _scan(office, failures, f"review ({lang})")
    office.locator("#decision-0").check()
    office.locator("main form button[type=submit]").click()
    office.locator(".flashes .notice--success").wait_for()

    # The administrator sees the notification, the new tile, and the reason of the rejection.
    _goto(page, "/dashboard", lang)
    assert APPROVED[lang] in page.locator("#dashboard-notifications").inner_text()
    assert page.locator("#tile-api_self_service").is_visible()
    _goto(page, f"/partners/{pid}/roles", lang)
    assert "No bond deposited." in page.locator("#role-authorised_consignee").inner_text()
    for path in (f"/partners/{pid}/rights", f"/partners/{pid}/members/{membership.id}/rights"):
        _goto(page, path, lang)
        _scan(page, failures, f"{path} ({lang})")

    # A member without rights: no tile, and a direct link explains what is missing and who grants it.
    other = pages.page_for(member)
    _goto(other, "/dashboard", lang)
    assert other.locator(".service-tile").count() == 0
    response = other.goto(f"/probe/partners/{pid}/manage_api?lang={lang}")
    assert response.status == 403 and "Ada Admin" in other.locator("main").inner_text()
    _scan(other, failures, f"missing right ({lang})")
    # With the right, but no role opens secure messages: the role gate's page.
    db.session.get(type(membership), membership.id).rights = "send_messages,manage_api"
    db.session.commit()
    response = other.goto(f"/probe/partners/{pid}/send_messages?lang={lang}")
    assert response.status == 403 and "Ada Admin" in other.locator("main").inner_text()
    _scan(other, failures, f"missing role ({lang})")
    assert other.goto(f"/probe/partners/{pid}/manage_api").status == 200
    _goto(other, "/dashboard", lang)
    assert other.locator("#tile-api_self_service").is_visible()

    for p in (page, office, other):
        assert p.evaluate("() => window.__cspViolations || []") == []
    assert not failures, "\n".join(failures)


def test_request_and_withdraw_without_javascript(page_without_js, app, live_server, login_as, db, make_user, world):
    admin = make_user(first_name="Ada", last_name="Admin", locale="en", phone="+41 44 123 45 67")
    add_member(db, world.partner, admin, "administrator")
    page = page_without_js
    helper = app.test_client()
    login_as(admin, helper)
    helper.get("/")
    page.context.add_cookies([{"name": "tp_session", "value": helper.get_cookie("tp_session").value, "url": live_server}])
    page.goto(f"/partners/{world.partner.id}/roles?lang=en")
    page.locator("#role-authorised_consignee a.button").click()
    page.locator("#contact_email").fill("not an address")
    page.locator("main form button[type=submit]").click()
    assert page.title().startswith("Error:") and page.locator("#contact_email-error").is_visible()
    assert page.locator("#contact_phone").input_value() == "+41 44 123 45 67"
    page.locator("#contact_email").fill("ada@example.com")
    page.locator("main form button[type=submit]").click()
    page.locator("#role-authorised_consignee .tag--pending").wait_for()
    # Withdraw from the dashboard's steps: the form posts and the dashboard comes back.
    page.goto("/dashboard")
    page.locator(".dashboard-steps__item--role_pending button").click()
    page.wait_for_url("**/dashboard")
    assert "is withdrawn" in page.locator(".flashes").inner_text()
    assert page.locator(".dashboard-steps__item--role_pending").count() == 0
    # And from the roles page.
    page.goto(f"/partners/{world.partner.id}/roles")
    page.locator("#role-authorised_consignee a.button").click()
    page.locator("main form button[type=submit]").click()
    page.locator("#role-authorised_consignee form button").click()
    page.wait_for_url(f"**/partners/{world.partner.id}/roles")
    assert page.locator("#role-authorised_consignee .tag--neutral").is_visible()
