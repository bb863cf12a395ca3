"""The partner journey in a real browser, in fr/en/de and once without JavaScript.

Find a company of the demo register by name and by identifier, register it, (as
staff) download the letters PDF and read the code from it, redeem it, invite a
colleague who joins, approve an access request and make the colleague deputy.
Every page, including error states, is scanned with axe-core.
"""
from __future__ import annotations

import re
import secrets
import shutil
import subprocess

import pytest

from tests.browser_support import axe_violations, format_violations
from tradeportal.access import StaffPermission

CODE = re.compile(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}\b")


def _sign_in(context, app, db, user, live_server):
    """A real server-side session row and the signed cookie that names it."""
    from tradeportal.auth.models import UserSession
    from tradeportal.auth.sessions import _hash

    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_hash(token), user_id=user.id, ip_address="127.0.0.1", user_agent="playwright"))
    db.session.commit()
    value = app.session_interface.get_signing_serializer(app).dumps({"sid": token, "_user_id": str(user.id), "_fresh": True})
    context.add_cookies([{"name": app.config["SESSION_COOKIE_NAME"], "value": value, "url": live_server}])


class Journey:
    def __init__(self, page, app, db, live_server, js: bool):
        self.page, self.app, self.db, self.live_server, self.js = page, app, db, live_server, js
        self.failures: list[str] = []

    def new_page(self, user):
        context = self.page.context.browser.new_context(base_url=self.live_server, java_script_enabled=self.js)
        _sign_in(context, self.app, self.db, user, self.live_server)
        return context.new_page()

    def scan(self, page, label):
        if not self.js:
            return  # axe-core runs in the page: the JavaScript variants scan every page
        violations = axe_violations(page)
        if violations:
            self.failures.append(format_violations(f"{label} {page.url}", violations))


def _submit(page):
    page.locator("main form[method=post] button[type=submit]").last.click()


def _run_journey(page, app, db, live_server, make_user, lang, js):
    from tradeportal.demo import register_rows
    from tradeportal.mail import OutboxMessage
    from tradeportal.partners.models import Membership, Partner

    journey = Journey(page, app, db, live_server, js)
    row = register_rows()[5]
    registrant = make_user(locale=lang, first_name="Regina", last_name="Registrant")
    staff = make_user(locale=lang, staff_permissions=[StaffPermission.LETTERS])
    colleague = make_user(f"colleague.{lang}@example.com", locale=lang)
    requester = make_user(locale=lang, first_name="Rolf", last_name="Requester")
    _sign_in(page.context, app, db, registrant, live_server)

    # First set-up on the dashboard.
    page.goto(f"/dashboard?lang={lang}")
    journey.scan(page, "dashboard")
    page.locator("main a[href='/partners/register']").first.click()
    page.wait_for_url(re.compile(r"/partners/register"))
    journey.scan(page, "register")

    # By name, as you type (or with the button without JavaScript).
    prefix = row["name"][:8]
    search = page.locator("#q")
    if js:
        search.press_sequentially(prefix, delay=20)
        page.locator("#search-results table").wait_for()
        page.wait_for_function("() => document.getElementById('live-region').textContent.trim().length > 0")
        assert re.search(r"\d", page.locator("#live-region").inner_text())
        page.wait_for_url(re.compile(r"q="))  # hx-push-url
    else:
        search.fill(prefix)
        page.locator("main form[role=search] button[type=submit]").click()
    assert row["name"] in page.locator("#search-results").inner_text()
    journey.scan(page, "search by name")

    # By identifier.
    search.fill(row["identifier"])
    if js:
        search.dispatch_event("search")  # the "search" trigger (Enter or the clear button)
        page.wait_for_function("(id) => document.querySelectorAll('#search-results tbody tr').length === 1 && document.querySelector('#search-results').textContent.includes(id)", arg=row["identifier"])
    else:
        page.locator("main form[role=search] button[type=submit]").click()
    results = page.locator("#search-results tbody tr")
    assert results.count() == 1 and row["identifier"] in results.inner_text()
    journey.scan(page, "search by identifier")

    # Take it over: first the error state (no attestation), then for real.
    results.locator("a[href*='take-over']").click()
    page.wait_for_url(re.compile(r"take-over"))
    _submit(page)
    assert page.locator(".error-summary").is_visible()
    journey.scan(page, "take over (error)")
    page.locator("input[name=attest]").check()
    _submit(page)
    page.wait_for_url(re.compile(r"/registration$"))
    journey.scan(page, "registration")
    db.session.expire_all()
    partner = db.session.query(Partner).filter_by(identifier=row["identifier"]).one()

    # Staff: the queue, the PDF, the code in it, and marking the letters posted.
    staff_page = journey.new_page(staff)
    staff_page.goto(f"/staff/letters?lang={lang}")
    journey.scan(staff_page, "letters queue")
    href = staff_page.locator("main a[href*='letters.pdf']").get_attribute("href")
    pdf = staff_page.request.get(href)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert shutil.which("pdftotext"), "pdftotext is needed (apt-get install -y poppler-utils)"
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.body(), capture_output=True, check=True).stdout.decode()
    assert row["name"] in text and row["address_line1"] in text
    code = CODE.search(text).group(0)
    staff_page.locator("main form[action$='/letters/posted'] button").click()
    staff_page.wait_for_url(re.compile(r"/staff/letters"))
    journey.scan(staff_page, "letters posted")
    staff_page.context.close()

    # Redeem: a wrong code first (error state), then the code from the letter.
    page.locator(f"main a[href='/partners/{partner.id}/code']").click()
    page.wait_for_url(re.compile(r"/code$"))
    journey.scan(page, "redeem")
    page.locator("input[name=accept_terms]").check()
    page.locator("input[name=code]").fill("22222-22222" if code != "22222-22222" else "33333-33333")
    _submit(page)
    assert page.locator(".error-summary").is_visible()
    assert page.title().startswith(("Error:", "Erreur", "Fehler"))
    journey.scan(page, "redeem (error)")
    page.locator("input[name=accept_terms]").check()
    page.locator("input[name=code]").fill(code.lower())
    _submit(page)
    page.wait_for_url(re.compile(rf"/partners/{partner.id}$"))
    journey.scan(page, "profile")
    db.session.expire_all()
    assert db.session.query(Membership).filter_by(partner_id=partner.id, user_id=registrant.id).one().role == "administrator"

    # Invite a colleague, who joins.
    page.goto(f"/partners/{partner.id}/members")
    journey.scan(page, "members")
    page.locator(f"main a[href='/partners/{partner.id}/invitations/new']").click()
    _submit(page)  # empty: error state
    journey.scan(page, "invite (error)")
    page.locator("input[name=email]").fill(colleague.email)
    _submit(page)
    page.wait_for_url(re.compile(r"/members$"))
    db.session.expire_all()
    mail = db.session.query(OutboxMessage).filter_by(recipient=colleague.email).order_by(OutboxMessage.id.desc()).first()
    link = re.search(r"/invitations/[A-Za-z0-9_\-]+", mail.body_text).group(0)
    colleague_page = journey.new_page(colleague)
    colleague_page.goto(link)
    journey.scan(colleague_page, "invitation")
    colleague_page.locator("main form button[type=submit]").click()
    colleague_page.wait_for_url(re.compile(rf"/partners/{partner.id}$"))
    colleague_page.context.close()

    # An access request, approved.
    requester_page = journey.new_page(requester)
    requester_page.goto(f"/partners/join?q={row['identifier']}")
    journey.scan(requester_page, "join")
    requester_page.locator("main a[href*='/partners/join/ask']").click()
    requester_page.locator("main form button[type=submit]").click()  # empty reason: error state
    journey.scan(requester_page, "join (error)")
    requester_page.locator("textarea[name=reason]").fill("I prepare the export declarations.")
    requester_page.locator("main form button[type=submit]").click()
    requester_page.wait_for_url(re.compile(r"/partners$"))
    journey.scan(requester_page, "your partners")
    requester_page.context.close()
    page.goto(f"/partners/{partner.id}/members")
    page.locator("main a[href*='/access-requests/']").click()
    journey.scan(page, "access request")
    page.locator("input[name=decision][value=approve]").check()
    _submit(page)
    page.wait_for_url(re.compile(r"/members$"))

    # Make the colleague deputy.
    db.session.expire_all()
    member = db.session.query(Membership).filter_by(partner_id=partner.id, user_id=colleague.id).one()
    page.locator(f"#role-{member.id}").select_option("deputy")
    page.locator(f"form:has(#role-{member.id}) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/members$"))
    journey.scan(page, "members (after)")
    db.session.expire_all()
    roles = {m.user_id: m.role for m in db.session.query(Membership).filter_by(partner_id=partner.id)}
    assert roles == {registrant.id: "administrator", colleague.id: "deputy", requester.id: "member"}
    return journey


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_partner_journey(page, app, db, seeded, live_server, make_user, lang):
    journey = _run_journey(page, app, db, live_server, make_user, lang, js=True)
    assert page.evaluate("() => window.__cspViolations || []") == []
    assert not journey.failures, "\n".join(journey.failures)


def test_partner_journey_without_javascript(page_without_js, app, db, seeded, live_server, make_user):
    _run_journey(page_without_js, app, db, live_server, make_user, "en", js=False)
