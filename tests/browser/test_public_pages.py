"""Public pages in a real browser: axe-core in fr/en/de, keyboard, no JavaScript, CSP, reflow."""
from __future__ import annotations

import re

import pytest

from tests.browser_support import axe_violations, format_violations

PUBLIC_PAGES = ["/", "/news/1", "/help", "/contact", "/accessibility", "/privacy", "/terms-of-use",
                "/feedback?page=/help", "/sign-in", "/does-not-exist"]


@pytest.fixture
def demo(seeded):
    return seeded


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_public_pages_have_no_axe_violations(page, demo, lang):
    failures = []
    for path in PUBLIC_PAGES:
        separator = "&" if "?" in path else "?"
        page.goto(f"{path}{separator}lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        violations = axe_violations(page)
        if violations:
            failures.append(format_violations(path, violations))
        assert page.evaluate("() => window.__cspViolations || []") == [], path
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_feedback_error_state_has_no_axe_violations_and_focuses_the_summary(page, demo, lang):
    page.goto(f"/feedback?page=/help&lang={lang}")
    page.locator("main form button[type=submit]").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")
    violations = axe_violations(page)
    assert not violations, format_violations("feedback (error)", violations)


def test_skip_link_is_first_and_moves_focus_to_main(page, demo):
    page.goto("/feedback?page=/help&lang=en")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    assert page.locator(".skip-link").bounding_box()["x"] >= 0  # visible when focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#main"
    page.keyboard.press("Tab")
    # The next stop is inside main: the header and the breadcrumbs were skipped.
    assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")


def test_focus_is_visible(page, demo):
    page.goto("/?lang=en")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.backgroundColor, s.boxShadow]; }")
    assert outline[0] != "none" or outline[2] != "none"


def test_language_switch_with_the_keyboard(page, demo):
    page.goto("/help?lang=fr")
    page.get_by_role("link", name="Deutsch").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"lang=de$"))
    assert page.locator("html").get_attribute("lang") == "de"
    page.goto("/contact")  # remembered in the cookie
    assert page.locator("html").get_attribute("lang") == "de"


def test_feedback_works_without_javascript(page_without_js, demo, db):
    from tradeportal.public.models import Feedback

    page = page_without_js
    page.goto("/contact?lang=en")
    page.get_by_role("link", name="Feedback on this page").click()
    page.get_by_role("button", name="Send feedback").click()
    assert page.title().startswith("Error:")
    assert page.locator("#text-error").is_visible()
    page.get_by_label("Your feedback").fill("The phone number is hard to find.")
    page.get_by_role("button", name="Send feedback").click()
    assert page.url.endswith("/contact?lang=en")
    assert "Thank you" in page.locator(".flashes").inner_text()
    db.session.expire_all()
    assert db.session.query(Feedback).one().page_url == "/contact?lang=en"


def test_reflow_at_320_css_pixels(page, demo):
    page.set_viewport_size({"width": 320, "height": 640})
    for path in ["/?lang=de", "/accessibility?lang=fr", "/sign-in?lang=de", "/feedback?lang=fr"]:
        page.goto(path)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 320 px"


def test_targets_are_at_least_24_px(page, demo):
    page.goto("/?lang=en")
    small = page.evaluate(
        """() => [...document.querySelectorAll('a, button, input, select, textarea')]
            .filter(e => e.offsetParent !== null && !e.closest('p, li.news-list__item, dd'))
            .map(e => [e.textContent.trim() || e.name, e.getBoundingClientRect().height])
            .filter(([_, h]) => h < 24)"""
    )
    assert small == []
