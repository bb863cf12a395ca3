"""Performance guards of the partner's documents list (issue #9).

The list is built from column rows of statements built once, with its display values computed
once per page (tradeportal/documents/listing.py). These check that the fast paths give the
same text as the general ones, that the page does not fall back to building statements or
ORM entities per request, and that every kind of row still shows what it showed.
"""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.test_documents_support import PDF, add_category, docs_world, text_of  # noqa: F401 - fixture
from tradeportal import i18n
from tradeportal.documents import services as svc
from tradeportal.documents import views
from tradeportal.documents.listing import DateTimes, FileSizes, link_maker


def _moments():
    start = datetime(2025, 12, 31, 21, 59, 59, 999_999, tzinfo=timezone.utc)
    moments = [start + timedelta(seconds=26_003 * n) for n in range(1300)]  # ~13 months, every hour of the day
    for day in ("2026-03-29", "2026-10-25", "2026-01-01", "2026-12-31"):  # summer time, winter time, year ends
        base = datetime.fromisoformat(f"{day}T00:00:00+00:00")
        moments += [base + timedelta(minutes=m) for m in range(-70, 200, 7)]
    moments.append(datetime(2026, 6, 1, 10, 0, 0))  # naive: read as UTC, as format_datetime does
    return moments


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
@pytest.mark.parametrize("format", ["medium", "short", "long"])
def test_row_dates_read_as_format_datetime_writes_them(app, lang, format):
    with app.test_request_context(f"/?lang={lang}"):
        dates = DateTimes(format)
        for moment in _moments():
            assert dates(moment) == i18n.format_datetime(moment, format), (lang, format, moment)
        # the list's own format takes the fast path ("long" shows a time zone: format_datetime's path)
        assert dates._fallback is (format == "long")


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_row_sizes_read_as_format_file_size_writes_them(app, lang):
    sizes = [0, 1, 50, 51, 52, 101, 102, 103, 1023, 1024, 1025, 1_048_575, 1_048_576, 1_048_577, 10**12]
    sizes += list(range(0, 400_000, 97)) + [256 * (2 * n + 1) for n in range(400)]  # exact halves of a tenth
    sizes += [1_048_576 * n // 20 + d for n in range(20, 2000, 3) for d in (-1, 0, 1)]
    with app.test_request_context(f"/?lang={lang}"):
        shown = FileSizes()
        for size in sizes:
            assert shown(size) == i18n.format_file_size(size), (lang, size)


def test_link_maker_appends_the_number_where_the_marker_was():
    make = link_maker("/root/partners/9876543210/documents/9876543210/download", 9876543210)
    assert make(5) == "/root/partners/9876543210/documents/5/download"
    with pytest.raises(ValueError):
        link_maker("/partners/1/documents", 77)


def _receive(app, w, names, case="C1", **kwargs):
    with app.test_request_context():
        svc.receive_files(partner_id=w.partner.id, category_id=w.category.id, case_number=case,
                          files=[svc.IncomingFile(n, io.BytesIO(PDF)) for n in names], **kwargs)
        svc.db.session.commit()


def test_the_list_builds_no_statement_entity_or_form_once_warm(app, db, docs_world, monkeypatch):
    w = docs_world
    _receive(app, w, ["a.pdf", "b.pdf"], case="AAA1")
    urls = [w.base, f"{w.base}?case_number=aaa1", f"{w.base}?category={w.category.id}&date_from=2020-01-01",
            f"{w.base}?page=2"]
    warm = [w.client.get(url) for url in urls]
    assert [r.status_code for r in warm] == [200] * len(urls)

    def refused(*args, **kwargs):
        raise AssertionError("the documents list fell back to its slow path")

    monkeypatch.setattr(svc, "select", refused)  # statements: built once, on first use
    monkeypatch.setattr(svc, "documents_query", refused)  # no ORM entities for the page
    monkeypatch.setattr(svc, "all_categories", refused)
    monkeypatch.setattr(views, "_render_filter_fields", refused)  # fields of valid filters: rendered once
    for url, before in zip(urls, warm):
        again = w.client.get(url)
        assert again.status_code == 200
        assert _stable(again) == _stable(before)
    monkeypatch.setattr(views, "ListFilterForm", refused)  # no filters: no form at all
    assert _stable(w.client.get(w.base)) == _stable(warm[0])
    monkeypatch.undo()
    w.client.get(f"{w.base}?category={w.category.id}&date_from=2020-01-01")  # category renamed: rendered again
    w.category.name_en = "Renamed"
    db.session.commit()
    assert "Renamed" in w.client.get(f"{w.base}?category={w.category.id}&date_from=2020-01-01").get_data(as_text=True)
    assert "Renamed" in w.client.get(w.base).get_data(as_text=True)


def _stable(response) -> str:
    import re

    html = response.get_data(as_text=True)
    return re.sub(r'(name="csrf[-_]token" (?:content|value)=")[^"]*"', r"\1", html)


def test_every_kind_of_row_shows_what_it_showed(app, db, docs_world, make_user):
    w = docs_world
    _receive(app, w, ["by-person.pdf"], user_id=w.user.id)
    _receive(app, w, ["by-api.pdf"], case="API1", api_application_id=3, is_test=True)
    _receive(app, w, ["by-nobody.pdf"], case="N1")
    _receive(app, w, ["escaped.pdf"], case="ESC1")
    from tradeportal.documents.models import Document

    processed = db.session.execute(svc.select(Document).where(Document.display_name == "by-nobody.pdf")).scalar_one()
    processed.status = "processed"
    processed.size = 3 * 1_048_576 + 52_429
    escaped = db.session.execute(svc.select(Document).where(Document.display_name == "escaped.pdf")).scalar_one()
    escaped.display_name = '<b>"x"&y</b>.pdf'  # not a name upload lets through: the page escapes it all the same
    escaped.case_number = '<i>"1&'  # nor a case number: the rows are printed with autoescape off
    escaped.upload.reference = "DOC-<&>'\""
    w.user.last_name = "Member & <Co>"
    w.category.name_en = 'Drawings & "<plans>"'
    db.session.commit()
    html = w.client.get(f"{w.base}?lang=en").get_data(as_text=True)
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for row in body.split("<tr>")[1:]:
        name = row.split(" download>", 1)[1].split("</a>", 1)[0]
        rows[name.split(".pdf")[0] if name.startswith("by-") else "x"] = row
    assert len(rows) == 4
    assert " · Mia Member &amp; &lt;Co&gt;</span>" in rows["by-person"] and '<strong class="tag tag--pending">Not processed yet</strong></td>' in rows["by-person"]
    assert " · API</span>" in rows["by-api"]
    assert ('<strong class="tag tag--pending">Not processed yet</strong> <strong class="tag tag--test">Test</strong>'
            in rows["by-api"])
    assert '<span class="meta">3.1 MB</span>' in rows["by-nobody"]  # no person, no API: no " · "
    assert '<td><strong class="tag tag--done">Processed</strong></td>' in rows["by-nobody"]
    assert "&lt;b&gt;&#34;x&#34;&amp;y&lt;/b&gt;.pdf</a>" in rows["x"]
    assert "<td>&lt;i&gt;&#34;1&amp;</td>" in rows["x"]
    assert ">DOC-&lt;&amp;&gt;&#39;&#34;<span" in rows["x"]
    assert all("<td>Drawings &amp; &#34;&lt;plans&gt;&#34;</td>" in row for row in rows.values())
    for row in rows.values():
        document_id = row.split("/documents/", 1)[1].split("/", 1)[0]
        assert f'<a href="{w.base}/{document_id}/download" download>' in row
        assert f'<a href="{w.base}/receipts/' in row and "acknowledgement of receipt (PDF)</span></a></td>" in row
        assert '<td><time datetime="20' in row and "+00:00\">" in row
    assert text_of(w.client.get(f"{w.base}?lang=de")).count("Noch nicht bearbeitet") == 3


def _filter_choices(html: str) -> list[str]:
    import re

    select = html[html.index('name="category"'):]
    select = select[:select.index("</select>")]
    return [re.sub(r"\s+", " ", label).strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select)]


@pytest.mark.parametrize("lang, all_label", [("fr", "Toutes les catégories"), ("en", "All categories"),
                                             ("de", "Alle Kategorien")])
def test_the_list_filter_follows_the_categories_at_once(app, db, docs_world, lang, all_label):
    """The filter's fields are kept per worker (views._cached_fields): still, it offers every
    category, in the agency's order and the page's language, with no document yet, after documents
    arrive, and as soon as the agency adds, renames or retires one; the filtered list offers the
    same."""
    from tests.test_documents_access import receive

    w = docs_world
    suffix = {"fr": " (fr)", "en": "", "de": " (de)"}[lang]
    url = f"{w.base}?lang={lang}"

    def choices(address=url):
        return _filter_choices(w.client.get(address).get_data(as_text=True))

    assert choices() == [all_label, f"Product documentation{suffix}"]
    first = add_category(db, "Certificates", position=5)
    add_category(db, "Old forms", position=1, active=False)
    expected = [all_label, f"Certificates{suffix}", f"Product documentation{suffix}", f"Old forms{suffix}"]
    assert choices() == expected
    receive(app, w, ["one.pdf"])
    assert choices() == expected
    page = w.client.get(url).get_data(as_text=True)
    assert "one.pdf" in page and f"Product documentation{suffix}</td>" in page
    first.name_en, first.name_fr, first.name_de = "Certificates of origin", "Certificats d'origine", "Ursprungszeugnisse"
    db.session.commit()
    renamed = {"fr": "Certificats d'origine", "en": "Certificates of origin", "de": "Ursprungszeugnisse"}[lang]
    unfiltered = [label.replace("&#39;", "'") for label in choices()]
    assert unfiltered == [renamed if label == f"Certificates{suffix}" else label for label in expected]
    filtered = [label.replace("&#39;", "'") for label in choices(f"{url}&case_number=8000000683")]
    assert filtered == unfiltered


def test_the_sub_navigation_is_the_includes_and_follows_rights_and_pages(app, db, docs_world):
    """documents_nav(partner) gives what the include of documents/_nav.html gave, for each page,
    rights and language; a right taken away shows on the next page (the fragment's key holds it)."""
    from flask import g, render_template_string

    from tradeportal.access import Right

    w = docs_world
    nav = re.compile(r'<nav class="sub-nav".*?</nav>', re.S)

    def shown(url):
        response = w.client.get(url)
        assert response.status_code == 200, url
        return nav.search(response.get_data(as_text=True)).group(0)

    def included(url):
        cookie = f"tp_session={w.client.get_cookie('tp_session').value}"
        with app.app_context(), app.test_request_context(url, headers={"Cookie": cookie}):  # a g of its own
            app.preprocess_request()
            response = app.full_dispatch_request()
            assert response.status_code == 200
            html = render_template_string('{% include "documents/_nav.html" %}', partner=w.partner)
            assert g.membership.partner_id == w.partner.id
        return html.strip()

    for lang in ("fr", "en", "de"):
        for url in (f"{w.base}?lang={lang}", f"{w.base}/upload?lang={lang}"):
            assert shown(url) == included(url), url
            assert shown(url).count('aria-current="page"') == 1
    assert 'href="/partners/%d/documents/upload"' % w.partner.id in shown(w.base)
    w.membership.rights = Right.VIEW_DOCUMENTS.value
    db.session.commit()
    assert "/upload" not in shown(w.base) and shown(w.base) == included(w.base)
