"""News: staff publish in three languages (a future date schedules); the public list and the Atom feeds."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import pytest
import time_machine
from zoneinfo import ZoneInfo

from tradeportal.access import StaffPermission
from tradeportal.audit import AuditEvent
from tradeportal.db import utcnow
from tradeportal.public.models import NewsItem

ATOM = "{http://www.w3.org/2005/Atom}"
NEWS = {
    "title_fr": "Nouveaux horaires", "body_fr": "Le guichet ouvre à 8 h.\n\nIl ferme à 17 h.",
    "title_en": "New opening hours", "body_en": "The desk opens at 8:00.\n\nIt closes at 17:00.",
    "title_de": "Neue Öffnungszeiten", "body_de": "Der Schalter öffnet um 8 Uhr.\n\nEr schliesst um 17 Uhr.",
}
ROUTES = [("get", "/staff/news"), ("get", "/staff/news/new"), ("post", "/staff/news/new"),
          ("get", "/staff/news/1/edit"), ("post", "/staff/news/1/edit"), ("get", "/staff/news/1/delete"),
          ("post", "/staff/news/1/delete")]


@pytest.fixture
def content_staff(make_user, login_as):
    user = make_user(staff_permissions=[StaffPermission.CONTENT], locale="en")
    login_as(user)
    return user


def _item(db, published_at=None, **texts):
    values = {f"{field}_{code}": texts.get(f"{field}_{code}", f"{field} {code}")
              for field in ("title", "body") for code in ("fr", "en", "de")}
    item = NewsItem(published_at=published_at or utcnow() - timedelta(hours=1), **values)
    db.session.add(item)
    db.session.commit()
    return item


@pytest.mark.parametrize("method, url", ROUTES)
def test_people_who_are_not_staff_get_404(client, db, make_user, login_as, method, url):
    _item(db)
    login_as(make_user())
    response = client.get(url) if method == "get" else client.post_form(url, NEWS)
    assert response.status_code == 404


@pytest.mark.parametrize("method, url", ROUTES)
def test_staff_without_content_permission_get_403(client, db, make_user, login_as, method, url):
    _item(db)
    login_as(make_user(staff_permissions=[StaffPermission.FEEDBACK]))
    response = client.get(url) if method == "get" else client.post_form(url, NEWS, token_from="/staff/")
    assert response.status_code == 403


def test_publish_today_appears_on_the_home_page_and_the_news_list(client, db, content_staff):
    today = utcnow().date().isoformat()
    response = client.post_form("/staff/news/new", dict(NEWS, published_on=today), token_from="/staff/news/new")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/news"
    item = db.session.query(NewsItem).one()
    assert item.title_de == "Neue Öffnungszeiten" and item.created_by_id == content_staff.id
    assert db.session.query(AuditEvent).filter_by(action="news.created").count() == 1
    assert "Neue Öffnungszeiten" in client.get("/?lang=de").get_data(as_text=True)
    assert "Nouveaux horaires" in client.get("/news?lang=fr").get_data(as_text=True)
    assert client.get(f"/news/{item.id}").status_code == 200


def test_a_future_date_keeps_the_news_hidden_until_that_day(app, client, db, content_staff):
    day = (utcnow() + timedelta(days=10)).date()
    response = client.post_form("/staff/news/new", dict(NEWS, published_on=day.isoformat()), token_from="/staff/news/new")
    assert response.status_code == 302
    item = db.session.query(NewsItem).one()
    midnight_in_zurich = datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo("Europe/Zurich"))
    assert item.published_at == midnight_in_zurich.astimezone(timezone.utc)
    staff_list = client.get("/staff/news?lang=en").get_data(as_text=True)
    assert "New opening hours" in staff_list and "Scheduled" in staff_list

    visitor = app.test_client()
    with time_machine.travel(item.published_at - timedelta(minutes=1), tick=False):
        assert "New opening hours" not in visitor.get("/?lang=en").get_data(as_text=True)
        assert "New opening hours" not in visitor.get("/news?lang=en").get_data(as_text=True)
        assert visitor.get(f"/news/{item.id}").status_code == 404
        assert "New opening hours" not in visitor.get("/news/feed.en.atom").get_data(as_text=True)
    with time_machine.travel(item.published_at + timedelta(minutes=1), tick=False):
        assert "New opening hours" in visitor.get("/?lang=en").get_data(as_text=True)
        assert "New opening hours" in visitor.get("/news?lang=en").get_data(as_text=True)
        assert visitor.get(f"/news/{item.id}").status_code == 200
        assert "New opening hours" in visitor.get("/news/feed.en.atom").get_data(as_text=True)


def test_a_missing_language_is_refused_with_the_values_kept(client, db, content_staff):
    response = client.post_form("/staff/news/new?lang=en", dict(NEWS, title_fr=" ", published_on=""),
                                token_from="/staff/news/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#title_fr">Enter the title in French</a>' in body and 'id="title_fr-error"' in body
    assert 'href="#published_on">Enter the publication date</a>' in body
    assert 'value="New opening hours"' in body and "Der Schalter öffnet um 8 Uhr." in body
    assert db.session.query(NewsItem).count() == 0


def test_edit_keeps_the_moment_when_the_date_is_unchanged_and_delete_removes(client, db, content_staff):
    moment = utcnow() - timedelta(days=3, hours=5)
    item = _item(db, published_at=moment)
    form = client.get(f"/staff/news/{item.id}/edit?lang=en").get_data(as_text=True)
    day = re.search(r'name="published_on"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="published_on"', form)
    day = day.group(1) or day.group(2)
    response = client.post_form(f"/staff/news/{item.id}/edit", dict(NEWS, published_on=day),
                                token_from=f"/staff/news/{item.id}/edit")
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.title_en == "New opening hours" and item.published_at == moment

    assert "Do you want to delete" in client.get(f"/staff/news/{item.id}/delete?lang=en").get_data(as_text=True)
    assert client.post(f"/staff/news/{item.id}/delete").status_code == 400  # no CSRF token
    item_id = item.id
    response = client.post_form(f"/staff/news/{item_id}/delete", token_from="/staff/news")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.query(NewsItem).count() == 0
    assert db.session.query(AuditEvent).filter_by(action="news.deleted").count() == 1
    assert client.get(f"/staff/news/{item_id}/edit").status_code == 404


def test_news_list_is_paginated(client, db):
    start = utcnow() - timedelta(days=30)
    for i in range(23):
        _item(db, published_at=start + timedelta(hours=i), title_en=f"Item {i:02d}")
    _item(db, published_at=utcnow() + timedelta(days=1), title_en="Future")
    first = client.get("/news?lang=en").get_data(as_text=True)
    titles = re.findall(r'<h2 class="news-list__title"><a href="/news/\d+">([^<]+)</a>', first)
    assert len(titles) == 20 and titles[0] == "Item 22" and "Future" not in first
    assert 'href="/news?page=2"' in first
    second = client.get("/news?lang=en&page=2").get_data(as_text=True)
    assert re.findall(r'<h2 class="news-list__title"><a href="/news/\d+">([^<]+)</a>', second) == ["Item 02", "Item 01", "Item 00"]


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_atom_feed_per_language_is_valid_and_escaped(client, db, lang):
    _item(db, published_at=utcnow() - timedelta(days=2), title_fr="Ancienne", title_en="Older", title_de="Älter")
    evil = _item(db, title_fr="<script>alert(1)</script> & co", title_en="<script>alert(1)</script> & co",
                 title_de="<script>alert(1)</script> & co", body_en="a < b & c > d")
    response = client.get(f"/news/feed.{lang}.atom")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    raw = response.get_data(as_text=True)
    assert "<script>" not in raw and "&lt;script&gt;" in raw
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
    assert root.find(f"{ATOM}id").text == f"http://localhost/news/feed.{lang}.atom"
    assert root.find(f"{ATOM}updated").text.endswith("Z")
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries][0] == "<script>alert(1)</script> & co"
    older = {"fr": "Ancienne", "en": "Older", "de": "Älter"}[lang]
    assert entries[1].find(f"{ATOM}title").text == older
    link = entries[0].find(f"{ATOM}link")
    assert link.get("href") == f"http://localhost/news/{evil.id}?lang={lang}" and link.get("hreflang") == lang
    assert all(e.find(f"{ATOM}id").text.startswith("http://localhost/news/") for e in entries)
    if lang == "en":
        assert entries[0].find(f"{ATOM}content").text == "a < b & c > d"


def test_unknown_feed_language_is_404(client, db):
    assert client.get("/news/feed.it.atom").status_code == 404


def test_empty_feed_is_valid(client, db):
    root = ET.fromstring(client.get("/news/feed.de.atom").data)
    assert root.findall(f"{ATOM}entry") == [] and root.find(f"{ATOM}title").text


def test_home_page_announces_a_feed_per_language(client, db):
    body = client.get("/?lang=en").get_data(as_text=True)
    for code in ("fr", "en", "de"):
        assert re.search(rf'<link rel="alternate" type="application/atom\+xml" hreflang="{code}" '
                         rf'href="/news/feed\.{code}\.atom"', body), code
