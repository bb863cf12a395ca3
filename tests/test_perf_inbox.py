"""The inbox's fast path (issue #9) stays fast and says the same.

The list reads column rows from statements built once per shape of the filters; the view builds
each row's texts and links (escaped) once; the template prints them without a macro, url_for or
escape per cell, and writes the filter fields out as macros/forms.html would. These tests fail
when the page falls back to the slow path or when the shortcut changes what people get.
"""
from __future__ import annotations

import re

from flask import render_template, render_template_string, url_for
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from tradeportal.db import utcnow
from tradeportal.notifications import services, views
from tradeportal.notifications.models import Notification


def _add(db, user, subject, *, kind="security", read=False, urgent=False, partner_id=None):
    row = Notification(user_id=user.id, kind=kind, subject=subject, body="", urgent=urgent, partner_id=partner_id,
                       created_at=utcnow(), read_at=utcnow() if read else None)
    db.session.add(row)
    db.session.commit()
    return row


def test_the_list_statement_is_built_once_per_shape_of_the_filters_and_reads_rows(app, db, make_user):
    me = make_user()
    _add(db, me, "one")
    with app.test_request_context("/notifications"):
        first = services.inbox_page(me, 1, kind="security", state="unread")
        statement = services._inbox_statement("unread", True, False, False)
        again = services.inbox_page(me, 1, kind="role_decision", state="unread")
        assert services._inbox_statement("unread", True, False, False) is statement
    assert [row.subject for row in first.items] == ["one"] and again.items == []
    assert not isinstance(first.items[0], Notification)  # columns, not an ORM entity
    assert tuple(first.items[0]._fields) == services.INBOX_COLUMNS


def test_every_text_of_a_row_is_escaped(client, db, make_user, login_as, monkeypatch):
    me = make_user()
    evil = "<script>alert('x')</script> & \"q\""
    row = _add(db, me, evil, kind="<b>made-up</b>", urgent=True, partner_id=7)
    monkeypatch.setattr(services, "_partner_names", lambda ids: {7: "<i>Evil & Co</i>"})
    login_as(me)
    body = client.get("/notifications?lang=en&state=unread&kind=security&date_from=2020-01-01").get_data(as_text=True)
    assert "No notification matches these filters." in body  # the kind filter: nothing, and no row
    for url in ("/notifications?lang=en", "/notifications?lang=en&state=unread&date_from=2020-01-01"):
        body = client.get(url).get_data(as_text=True)
        assert "<script>" not in body and "<i>Evil" not in body and "<b>made-up" not in body
        escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;q&#34;"
        assert f">{escaped}</a>" in body
        assert f'<span class="visually-hidden"> – {escaped}</span>' in body
        assert '<span class="meta">&lt;i&gt;Evil &amp; Co&lt;/i&gt;</span>' in body
        assert "<td>Other</td>" in body  # an unregistered kind
    assert f'href="/notifications/{row.id}?date_from=2020-01-01&amp;state=unread"' in body
    _add(db, me, "fr", kind="access_request")
    assert "<td>Demande d&#39;accès</td>" in client.get("/notifications?lang=fr").get_data(as_text=True)
    assert '<input type="hidden" name="back" value="date_from=2020-01-01&amp;state=unread">' in body

    token = client.csrf_token("/notifications")
    answer = client.post(f"/notifications/{row.id}/read", data={"back": "state=unread&kind=security", "origin": "list"},
                         headers={"HX-Request": "true", "X-CSRFToken": token}).get_data(as_text=True)
    assert "<script>" not in answer and "<i>Evil" not in answer
    assert f'href="/notifications/{row.id}?kind=security&amp;state=unread"' in answer
    assert f'action="/notifications/{row.id}/unread"' in answer


def test_row_links_are_flasks_urls_under_any_mount_point(app, db, make_user):
    me = make_user()
    rows = [_add(db, me, f"n{i}", read=i % 2 == 0) for i in range(3)]
    for root in ("", "/portal"):
        with app.test_request_context("/notifications", base_url=f"http://localhost{root}/"):
            built = views.inbox_rows([views.as_inbox_row(r) for r in rows], "kind=security", {})
            for row, line in zip(rows, built):
                assert line.id == row.id and str(line.subject) == row.subject
                assert line.detail_url == url_for("notifications.detail", notification_id=row.id) + "?kind=security"
                endpoint = "notifications.unread" if row.read_at else "notifications.read"
                assert line.action_url == url_for(endpoint, notification_id=row.id)
                assert line.detail_url.startswith(f"{root}/notifications/")


# The filter fields as macros/forms.html's `field` writes them: the panel writes them out itself.
_WITH_MACROS = """{% from "macros/forms.html" import field, error_message %}
<div class="filters__dates">
{{ field(form.date_from, hint=_("For example 2026-03-31"), optional_marker=False) }}
{{ field(form.date_to, hint=_("For example 2026-03-31"), optional_marker=False) }}
</div>
{{ field(form.kind, optional_marker=False) }}
<div class="field{% if form.state.errors %} field--error{% endif %}" id="{{ form.state.id }}">
<fieldset class="fieldset fieldset--inline">
<legend class="legend">{{ form.state.label.text }}</legend>
{{ error_message(form.state) }}
{% for option in form.state %}
<div class="choice">{{ option() }}<label for="{{ option.id }}">{{ option.label.text }}</label></div>
{% endfor %}
</fieldset>
</div>"""


def _normalised(html: str) -> str:
    html = re.sub(r"\s*\n\s*", "", html)
    return re.sub(r">\s+<", "><", html).strip()


def test_the_written_out_filter_fields_are_what_the_forms_macros_give(app):
    cases = ["", "date_from=2026-03-01&date_to=2026-03-31&kind=security&state=read", "date_from=31.02.2026",
             "date_from=2026-05-10&date_to=2026-05-01&kind=role_decision&state=unread", "kind=&state=weird",
             "kind=nonsense&date_to=x"]
    for lang in ("fr", "en", "de"):
        for query in cases:
            with app.test_request_context(f"/notifications?lang={lang}&{query}"):
                app.preprocess_request()
                form = views.InboxFilterForm(formdata=MultiDict([p.split("=", 1) for p in query.split("&") if p]))
                form.kind.choices = views._kind_choices_here()
                form.validate()
                expected = render_template_string(_WITH_MACROS, form=form)
                written = str(views._render_filter_fields(form))
                panel = render_template("notifications/_panel.html", form=form, filter_fields=Markup(written),
                                        results=None, query="", rows=[], filters={}, partial=False)
            assert _normalised(written) == _normalised(expected), (lang, query)
            shown = panel[panel.index('<div class="filters__dates">'):panel.index('<button type="submit"')]
            assert _normalised(shown) == _normalised(written), (lang, query)


def _fields_of(html: str) -> str:
    start = html.index('<div class="filters__dates">')
    return _normalised(html[start:html.index('<button type="submit"', start)])


def test_the_fields_of_valid_filters_are_rendered_once_and_say_the_same(client, db, make_user, login_as, monkeypatch):
    """The fields come from the worker's cache when the filters are valid or absent (no form is
    built for an inbox without filters); what people get is what the form renders, in each
    language, with the values they gave, and with the errors next to the fields when a value is
    wrong (never from the cache)."""
    user = make_user()
    _add(db, user, "Hello")
    client = login_as(user)
    cases = ["", "page=1", "date_from=2026-03-01&date_to=2026-03-31&kind=security&state=read", "state=unread",
             "kind=role_decision", "date_from=31.02.2026", "date_from=2026-05-10&date_to=2026-05-01"]
    first = {}
    for lang in ("fr", "en", "de"):
        for query in cases:
            response = client.get(f"/notifications?lang={lang}&{query}")
            app = client.application
            with app.app_context(), app.test_request_context(f"/notifications?lang={lang}&{query}"):  # a g of its own
                app.preprocess_request()
                form = views._filter_form(MultiDict([p.split("=", 1) for p in query.split("&") if p]))
                form.validate()
                expected = _normalised(str(views._render_filter_fields(form)))
            assert _fields_of(response.get_data(as_text=True)) == expected, (lang, query)
            first[lang, query] = (response.status_code, expected)
    assert first["en", "date_from=31.02.2026"][0] == 422 and "field--error" in first["en", "date_from=31.02.2026"][1]
    assert 'value="2026-03-01"' in first["de", cases[2]][1] and "Alle Benachrichtigungen" in first["de", ""][1]

    def refused(*args, **kwargs):
        raise AssertionError("the inbox rendered its filter fields again")

    monkeypatch.setattr(views, "InboxFilterForm", refused)  # no filters: no form at all
    for lang in ("fr", "en", "de"):
        assert _fields_of(client.get(f"/notifications?lang={lang}").get_data(as_text=True)) == first[lang, ""][1]
        assert _fields_of(client.get(f"/notifications?lang={lang}&page=2").get_data(as_text=True)) == first[lang, ""][1]
    monkeypatch.undo()
    monkeypatch.setattr(views, "_render_filter_fields", refused)  # valid filters: rendered once
    for lang in ("fr", "en", "de"):
        for query in cases[:5]:
            html = client.get(f"/notifications?lang={lang}&{query}").get_data(as_text=True)
            assert _fields_of(html) == first[lang, query][1], (lang, query)


def test_a_kind_registered_later_is_offered_by_the_cached_fields(client, db, make_user, login_as, monkeypatch):
    user = make_user()
    client = login_as(user)
    assert "Brand-new kind" not in client.get("/notifications?lang=en").get_data(as_text=True)
    monkeypatch.setitem(services.KINDS, "brand_new", ("Brand-new kind", False))
    assert '<option value="brand_new">Brand-new kind</option>' in client.get("/notifications?lang=en").get_data(as_text=True)
