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


# CSP violations the browser reported during this run's journeys (security battery, part 7).
CSP_WATCH = {"journeys": 0, "pages": 0, "violations": 0}


@pytest.fixture
def page(browser, live_server, db, request):
    context, page = _new_page(browser, live_server)
    # Every journey fails if the browser reports a CSP violation (securitypolicyviolation).
    context.expose_function("__tpCspViolation", lambda text: page.csp_violations.append(text))
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => { (window.__cspViolations = window.__cspViolations || []).push(e.violatedDirective + ' ' + e.blockedURI);"
        " window.__tpCspViolation(location.pathname + ': ' + e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber); });"
    )
    pages = []
    page.on("framenavigated", lambda frame: pages.append(frame.url) if frame == page.main_frame else None)
    yield page
    context.close()
    _count_csp(request, pages, page.csp_violations)


def _count_csp(request, pages, violations):
    from tests.security import figures

    CSP_WATCH["journeys"] += 1
    CSP_WATCH["pages"] += len(pages)
    CSP_WATCH["violations"] += len(violations)
    figures.record("7 headers (browser journeys)", journeys_watched=CSP_WATCH["journeys"],
                   pages_observed=CSP_WATCH["pages"], csp_violations=CSP_WATCH["violations"])
    assert not violations, f"{request.node.nodeid}: the browser reported CSP violations: {violations}"


@pytest.fixture
def page_without_js(browser, live_server, db):
    context, page = _new_page(browser, live_server, java_script_enabled=False)
    yield page
    context.close()
