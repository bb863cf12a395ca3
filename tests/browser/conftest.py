"""Browser fixtures: one Chromium per run, a fresh context per test."""
from __future__ import annotations

import pytest

from tests.browser_support import CHROMIUM_ARGS, chromium_path, require_browser_tools


@pytest.fixture(scope="session")
def browser():
    require_browser_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _new_page(browser, live_server, java_script_enabled=True):
    context = browser.new_context(base_url=live_server, java_script_enabled=java_script_enabled, locale="en-GB")
    page = context.new_page()
    page.csp_violations = []
    page.console_errors = []
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    return context, page


@pytest.fixture
def page(browser, live_server, db):
    context, page = _new_page(browser, live_server)
    # Report CSP violations seen by the browser (a test asserts there are none).
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => { (window.__cspViolations = window.__cspViolations || []).push(e.violatedDirective + ' ' + e.blockedURI); });"
    )
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser, live_server, db):
    context, page = _new_page(browser, live_server, java_script_enabled=False)
    yield page
    context.close()
