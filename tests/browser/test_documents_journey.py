"""Documents in a real browser: the upload journey in fr/en/de with and without JavaScript, axe-core on every page."""
from __future__ import annotations

import re

import pytest

from tests.browser_support import axe_violations, format_violations
from tests.test_documents_support import (  # noqa: F401 - fixture
    EXE, JPEG, PDF, docs_world, macro_docx, ooxml, zip_bomb_xlsx,
)
from tradeportal.access import StaffPermission

ERROR_TITLES = ("Error:", "Erreur", "Fehler")
SMALL_LIMIT = 64 * 1024  # the live server's limit in these tests (15 MB + 1 is checked in test_documents_upload.py)


def _cookie_for(app, login_as, user) -> str:
    client = app.test_client()
    login_as(user, client)
    return client.get_cookie("tp_session").value


def _sign_in(page, live_server, app, login_as, user):
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "tp_session", "value": _cookie_for(app, login_as, user), "url": live_server}])


def _check(page, label, failures, js=True):
    if not js:
        # axe-core and the CSP report run as scripts in the page: with JavaScript off, page.evaluate()
        # never returns (the test hung, then its browser context could not close). The JavaScript
        # variants scan the same templates, error states included, in all three languages.
        return
    violations = axe_violations(page)
    if violations:
        failures.append(format_violations(label, violations))
    csp = page.evaluate("() => window.__cspViolations || []")
    if csp:
        failures.append(f"{label}: CSP violations {csp}")


def _file(name, content, mime="application/octet-stream"):
    return {"name": name, "mimeType": mime, "buffer": content}


GOOD = [_file("invoice.pdf", PDF, "application/pdf"), _file("letter.docx", ooxml("docx")), _file("list.xlsx", ooxml("xlsx"))]
BAD = [
    (_file("setup.pdf", EXE, "application/pdf"), "setup.pdf"),
    (_file("big.pdf", PDF + b"0" * SMALL_LIMIT, "application/pdf"), "big.pdf"),
    (_file("macro.docx", macro_docx()), "macro.docx"),
    (_file("bomb.xlsx", zip_bomb_xlsx()), "bomb.xlsx"),
    (_file("photo\u202egpj.exe", EXE), "photogpj.exe"),
]


@pytest.fixture
def world(app, docs_world, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", SMALL_LIMIT)
    return docs_world


def _step1(page, w, lang, failures, js=True):
    page.goto(f"{w.base}/upload?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    _check(page, f"step 1 ({lang})", failures, js)
    page.locator("main form button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    assert page.title().startswith(ERROR_TITLES)
    _check(page, f"step 1 with errors ({lang})", failures, js)
    page.locator("#category-0").check()
    page.locator("#case_number").fill("8000000683")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/uploads/\d+$"))


def _summary_checks(page, good_names, bad_names):
    page.locator("#upload-files").wait_for()
    files = page.locator("#upload-files").inner_text()
    for name in good_names:
        assert name in files, name
    rejected = page.locator("#rejected").inner_text()
    for name in bad_names:
        assert name in rejected, name
    assert "\u202e" not in page.content()


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_journey_with_javascript(page, live_server, app, login_as, make_user, world, lang):
    w = world
    failures = []
    _sign_in(page, live_server, app, login_as, w.user)
    _step1(page, w, lang, failures)
    _check(page, f"step 2 ({lang})", failures)
    # The enhancement is there: a drop zone and the progress list (hidden until files are sent).
    assert page.locator("[data-dropzone]").is_visible()
    assert page.locator("form.upload-form--enhanced").count() == 1
    page.locator("#files").set_input_files(GOOD + [f for f, _n in BAD])
    page.locator("[data-upload-submit]").click()
    page.locator("#rejected").wait_for()
    _summary_checks(page, [f["name"] for f in GOOD], [n for _f, n in BAD])
    assert page.title().startswith(ERROR_TITLES)
    _check(page, f"step 2, summary with refused files ({lang})", failures)
    # Drag and drop one more file onto the zone: posted with its progress bar, then the summary again.
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.items.add(new File(['%PDF-1.4 dropped'], 'dropped.pdf', {type: 'application/pdf'}));
        document.querySelector('form[data-upload]').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    }""")
    page.wait_for_function("() => document.querySelector('#upload-files') && document.querySelector('#upload-files').innerText.includes('dropped.pdf')")
    page.locator(".upload-actions form").first.locator("button").click()
    page.wait_for_url(re.compile(r"/uploads/\d+$"))
    reference = page.locator(".panel--confirmation .lead").inner_text()
    assert re.search(r"DOC-\d{4}-[0-9A-Z]{6}", reference)
    assert page.locator("[data-print]").is_visible()
    _check(page, f"confirmation ({lang})", failures)
    with page.expect_download() as download:
        page.locator("a[href$='acknowledgement.pdf']").click()
    assert download.value.suggested_filename.startswith("acknowledgement-DOC-")
    page.goto(f"{w.base}?lang={lang}")
    assert page.locator("table.documents-table tbody tr").count() == 4
    _check(page, f"list ({lang})", failures)
    page.goto(f"{w.base}?lang={lang}&date_from=2026-05-10&date_to=2026-05-01")
    _check(page, f"list with errors ({lang})", failures)

    staff_user = make_user(staff_permissions=[StaffPermission.DOCUMENTS], locale=lang)
    _sign_in(page, live_server, app, login_as, staff_user)
    page.goto(f"/staff/documents?lang={lang}")
    assert page.locator("table.documents-table tbody tr").count() == 4
    _check(page, f"staff list ({lang})", failures)
    page.locator("table.documents-table tbody tr").first.locator("button").click()
    page.locator(".notice--success").wait_for()
    page.goto(f"/staff/document-categories?lang={lang}")
    _check(page, f"staff categories ({lang})", failures)
    page.goto(f"/staff/document-categories/new?lang={lang}")
    page.locator("main form button[type=submit]").click()
    page.locator(".error-summary").wait_for()
    _check(page, f"staff category form with errors ({lang})", failures)
    assert not failures, "\n".join(failures)


def test_journey_without_javascript(page_without_js, live_server, app, login_as, world):
    page, w = page_without_js, world
    failures = []
    _sign_in(page, live_server, app, login_as, w.user)
    _step1(page, w, "en", failures, js=False)
    assert page.locator("[data-dropzone]").is_hidden()
    page.locator("#files").set_input_files(GOOD + [f for f, _n in BAD])
    page.locator("main form.upload-form button[type=submit]").click()
    page.locator("#rejected").wait_for()
    assert page.title().startswith("Error:")
    _summary_checks(page, [f["name"] for f in GOOD], [n for _f, n in BAD])
    assert "setup.pdf is not a real PDF file" in page.locator("#rejected").inner_text()
    _check(page, "step 2 without JavaScript", failures, js=False)
    # Eight more: seven fill the upload to ten, the eleventh file is refused; the first three stay.
    page.locator("#files").set_input_files([_file(f"page-{n}.pdf", PDF, "application/pdf") for n in range(1, 9)])
    page.locator("main form.upload-form button[type=submit]").click()
    page.locator("#rejected").wait_for()
    assert "page-8.pdf was not added: an upload holds at most 10 files." in page.locator("#rejected").inner_text()
    assert page.locator("#upload-files tbody tr").count() == 10
    # Remove one, then send.
    page.locator("#upload-files tbody tr").first.locator("button").click()
    assert page.locator("#upload-files tbody tr").count() == 9
    page.locator(".upload-actions form").first.locator("button").click()
    page.wait_for_url(re.compile(r"/uploads/\d+$"))
    assert "Documents received" in page.locator("h1").inner_text()
    # No print button without JavaScript: the page says how to print, and the PDF link works.
    assert page.locator("[data-print]").is_hidden() and "print command" in page.locator("ul.actions").inner_text()
    with page.expect_download() as download:
        page.locator("a[href$='acknowledgement.pdf']").click()
    assert download.value.suggested_filename.startswith("acknowledgement-DOC-")
    _check(page, "confirmation without JavaScript", failures, js=False)
    page.goto(w.base)
    assert page.locator("table.documents-table tbody tr").count() == 9
    assert not failures, "\n".join(failures)
