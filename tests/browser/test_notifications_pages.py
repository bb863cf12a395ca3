"""Notifications, agency notices and news in a real browser: axe-core in fr/en/de, keyboard, no JavaScript."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser_support import axe_violations, format_violations
from tradeportal.access import StaffPermission
from tradeportal.db import utcnow
from tradeportal.notifications.models import Notification
from tradeportal.public.models import NewsItem


def _sign_in(page, live_server, client, login_as, user):
    """Sign in through a real server-side session, then hand its cookie to the browser."""
    login_as(user)
    cookie = client.get_cookie("tp_session")
    page.context.add_cookies([{"name": "tp_session", "value": cookie.value, "url": live_server}])


@pytest.fixture
def inbox_user(db, make_user):
    user = make_user(locale="en")
    now = utcnow()
    rows = [
        Notification(user_id=user.id, kind="access_request", subject="Access request from Ben Fischer",
                     body="Ben Fischer asks to join Alpen Logistik AG.\n\nDecide in the members page.",
                     link="/dashboard", created_at=now - timedelta(days=1)),
        Notification(user_id=user.id, kind="role_decision", subject="Role Transport granted",
                     body="The role is active.", created_at=now - timedelta(days=2), read_at=now),
        Notification(user_id=user.id, kind="agency_notice", subject="Portal closed on Saturday", urgent=True,
                     body="Maintenance from 6:00 to 8:00.", created_at=now - timedelta(days=3)),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return user


def _check(page, label, failures):
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(label, violations))
    assert page.evaluate("() => window.__cspViolations || []") == [], label


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_inbox_and_details_have_no_axe_violations(page, live_server, client, login_as, inbox_user, lang):
    _sign_in(page, live_server, client, login_as, inbox_user)
    failures = []
    page.goto(f"/notifications?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    _check(page, "inbox", failures)
    page.goto(f"/notifications?lang={lang}&kind=access_request&state=unread&date_from=2020-01-01")
    _check(page, "inbox (filtered)", failures)
    page.goto(f"/notifications?lang={lang}&date_from=2026-05-10&date_to=2026-05-01")
    assert page.title().startswith(("Error:", "Erreur", "Fehler")) or lang != "en"
    _check(page, "inbox (error)", failures)
    page.goto(f"/notifications?lang={lang}")
    page.locator("table.notifications a").first.click()
    page.wait_for_url(re.compile(r"/notifications/\d+"))
    _check(page, "details", failures)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_staff_notices_and_news_pages_have_no_axe_violations(page, live_server, client, login_as, db, make_user, lang):
    staff = make_user(staff_permissions=[StaffPermission.CONTENT], locale=lang)
    db.session.add(NewsItem(published_at=utcnow() - timedelta(days=1), title_fr="Actualité", title_en="News item",
                            title_de="Meldung", body_fr="Texte.", body_en="Text.", body_de="Text."))
    db.session.commit()
    _sign_in(page, live_server, client, login_as, staff)
    failures = []
    page.goto(f"/staff/notices/new?lang={lang}")
    _check(page, "notice form", failures)
    page.locator("main form button[value=preview]").click()
    page.locator(".error-summary").wait_for()
    # portal.js (deferred) moves focus to the summary once the page has loaded
    page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    _check(page, "notice form (error)", failures)
    for code, subject, body in [("fr", "Maintenance", "Le portail sera fermé."), ("en", "Maintenance", "The portal will be closed."),
                                ("de", "Wartung", "Das Portal ist geschlossen.")]:
        page.locator(f"#subject_{code}").fill(subject)
        page.locator(f"#body_{code}").fill(body)
    page.locator("#audience-0").check()
    page.locator("main form button[value=preview]").click()
    page.locator("#preview-heading").wait_for()
    _check(page, "notice preview", failures)
    page.locator("main form button[value=send]").click()
    page.wait_for_url(re.compile(r"/staff/notices/\d+$"))
    _check(page, "notice details", failures)
    page.goto(f"/staff/notices?lang={lang}")
    _check(page, "notices", failures)
    page.goto(f"/staff/news?lang={lang}")
    _check(page, "news (staff)", failures)
    page.goto(f"/staff/news/new?lang={lang}")
    page.locator("#published_on").fill("")
    page.locator("main form button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    _check(page, "news form (error)", failures)
    page.goto(f"/news?lang={lang}")
    _check(page, "news list", failures)
    assert not failures, "\n".join(failures)


def test_inbox_flow_without_javascript(page_without_js, live_server, client, login_as, inbox_user, db):
    page = page_without_js
    _sign_in(page, live_server, client, login_as, inbox_user)
    page.goto("/notifications?lang=en")
    bell = page.locator("#notification-bell a")
    assert bell.get_attribute("href") == "/notifications"
    assert "Notifications, 2 unread" in bell.inner_text()

    page.get_by_label("Type").select_option("access_request")
    page.get_by_label("Unread only").check()
    page.get_by_role("button", name="Apply filters").click()
    filtered = page.url
    assert "kind=access_request" in filtered and "state=unread" in filtered
    assert page.locator("table.notifications tbody tr").count() == 1

    page.get_by_role("link", name="Access request from Ben Fischer").click()
    assert page.locator("h1").inner_text() == "Access request from Ben Fischer"
    assert "Notifications, 1 unread" in page.locator("#notification-bell a").inner_text()  # opening read it
    page.get_by_role("link", name="Back", exact=True).click()
    wanted = {k: v for k, v in parse_qs(urlparse(filtered).query).items() if k != "lang"}
    assert parse_qs(urlparse(page.url).query) == wanted == {"kind": ["access_request"], "state": ["unread"]}
    assert page.get_by_label("Type").input_value() == "access_request"
    assert page.get_by_label("Unread only").is_checked()
    assert page.locator("table.notifications tbody tr").count() == 0  # it is read now

    page.goto("/notifications?lang=en")
    page.get_by_role("button", name="Mark all as read").click()
    assert "All your notifications are marked as read." in page.locator(".flashes").inner_text()
    assert "Notifications, none unread" in page.locator("#notification-bell a").inner_text()
    db.session.expire_all()
    assert db.session.query(Notification).filter(Notification.read_at.is_(None)).count() == 0


def test_mark_read_with_htmx_updates_the_row_and_the_bell_and_keeps_focus(page, live_server, client, login_as, inbox_user):
    _sign_in(page, live_server, client, login_as, inbox_user)
    page.goto("/notifications?lang=en")
    button = page.get_by_role("button", name=re.compile(r"^Mark as read\W+Access request from Ben Fischer$"))
    button.focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name=re.compile(r"^Mark as unread\W+Access request from Ben Fischer$")).wait_for()
    assert "Notifications, 1 unread" in page.locator("#notification-bell a").inner_text()
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused.startswith("Mark as unread")
    assert "marked as read" in page.locator("#live-region").inner_text()
    assert page.url.endswith("/notifications?lang=en")  # no navigation happened
    assert page.console_errors == []


def test_filters_with_htmx_swap_the_results_and_focus_errors(page, live_server, client, login_as, inbox_user):
    _sign_in(page, live_server, client, login_as, inbox_user)
    page.goto("/notifications?lang=en")
    page.get_by_label("Type").select_option("agency_notice")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("() => document.activeElement.id === 'results-title'")
    assert "kind=agency_notice" in page.url
    assert page.locator("table.notifications tbody tr").count() == 1

    page.locator("#date_from").fill("2026-05-10")
    page.locator("#date_to").fill("2026-05-01")
    page.get_by_role("button", name="Apply filters").click()
    page.locator(".error-summary").wait_for()
    page.wait_for_function("() => document.activeElement.classList.contains('error-summary')")
    assert page.locator("#date_to-error").is_visible()
    violations = axe_violations(page)
    assert not violations, format_violations("inbox (htmx error)", violations)
