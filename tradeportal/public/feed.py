"""Public news: the list of all news, and an Atom feed per language.

The feed is built with ElementTree, so every title and text is XML-escaped by
construction; links are absolute, from BASE_URL.
"""
from __future__ import annotations

from xml.etree import ElementTree as ET

from flask import abort, current_app, make_response, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..access import public
from ..config import LOCALES
from ..db import utcnow
from ..extensions import db
from ..pagination import paginate
from . import bp
from .models import NewsItem

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 20


def _published():
    return select(NewsItem).where(NewsItem.published_at <= utcnow()).order_by(NewsItem.published_at.desc(), NewsItem.id.desc())


@bp.get("/news")
@public
def news_list():
    page = paginate(_published(), request.args.get("page", 1, type=int))
    return render_template("public/news_list.html", page=page)


def _rfc3339(moment) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def build_feed(lang: str, items: list[NewsItem]) -> bytes:
    base = current_app.config["BASE_URL"].rstrip("/")
    agency = current_app.config["AGENCY_NAME"]
    self_url = f"{base}/news/feed.{lang}.atom"
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": lang})

    def add(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    with force_locale(lang):
        add(feed, "title", _("News – %(agency)s", agency=agency))
    add(feed, "id", self_url)
    add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    add(feed, "link", rel="alternate", type="text/html", hreflang=lang, href=f"{base}/news?lang={lang}")
    add(feed, "updated", _rfc3339(items[0].published_at if items else utcnow()))
    add(add(feed, "author"), "name", agency)
    for item in items:
        entry = add(feed, "entry")
        url = f"{base}/news/{item.id}?lang={lang}"
        add(entry, "title", item.localized("title", lang), type="text")
        add(entry, "id", f"{base}/news/{item.id}")
        add(entry, "link", rel="alternate", type="text/html", hreflang=lang, href=url)
        add(entry, "published", _rfc3339(item.published_at))
        add(entry, "updated", _rfc3339(item.published_at))
        add(entry, "content", item.localized("body", lang), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@bp.get("/news/feed.<lang>.atom")
@public
def news_feed(lang: str):
    if lang not in LOCALES:
        abort(404)
    items = list(db.session.execute(_published().limit(FEED_SIZE)).scalars())
    response = make_response(build_feed(lang, items))
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
