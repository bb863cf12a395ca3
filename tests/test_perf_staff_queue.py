"""Issue #9, the staff role queue (GET /staff/role-requests) stays on its cheap path.

roles/queue.py runs prebuilt Core statements (no ORM entity loaded) and makes the table rows in
Python instead of calling the macros per row. These tests keep that path, and keep its HTML the
one the macros make (so that a change to a macro shows here, not on the page).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from tests.test_roles_support import add_partner, add_role, grant
from tradeportal.access import StaffPermission
from tradeportal.roles import queue
from tradeportal.roles.models import RoleRequest

BASE = datetime(2026, 11, 30, 23, 30, 15, tzinfo=timezone.utc)

# The rows as the template made them with the macros, before issue #9.
REFERENCE = """\
{% from "partners/_macros.html" import status_tag as partner_status, address %}
{% from "roles/_macros.html" import status_tag %}
{% for row in rows %}
    {% set p = row.partner %}{% set role_name = row.role.localized('name') %}
    <tr>
      <td>{{ p.name }}<br><span class="meta">{{ p.identifier or _("No identification number") }}</span><br>{{ partner_status(p) }}</td>
      <td>{{ address(p) }}</td>
      <td>{{ role_name }}</td>
      <td>{{ format_datetime(row.requested_at, 'short') }}{% if row.requested_by %}<br><span class="meta">{{ row.requested_by.full_name }}</span>{% endif %}</td>
      <td>{{ status_tag(row) }}</td>
      <td><a href="{{ url_for('staff.role_request', request_id=row.id) }}">{% if row.status == 'pending' %}{{ _("Review") }}{% else %}{{ _("Details") }}{% endif %}<span class="visually-hidden"> – {{ p.name }}, {{ role_name }}</span></a></td>
    </tr>
{% endfor %}
"""


@pytest.fixture
def varied(db, make_user):
    """Every partner status, every request status, hostile text, missing translations and requesters."""
    tricky = add_role(db, "tricky", name="Rôle <un> & 'deux'")
    french_only = add_role(db, "french_only", name="Seulement")
    french_only.name_en = french_only.name_de = ""
    no_french = add_role(db, "no_french", name="Sans")
    no_french.name_fr = ""
    partners = [
        add_partner(db, "A <b>&amp; \"Co\"", address_line2="Postfach 12"),
        add_partner(db, "Bravo_100% AG", suspended_at=BASE),
        add_partner(db, "Charlie AG", status="letter_pending"),
        add_partner(db, "Delta AG", status="awaiting_check"),
        add_partner(db, "Echo AG", status="rejected"),
    ]
    partners[1].identifier = None
    db.session.commit()
    hostile = make_user(first_name="Zoé <x>", last_name="O'Neil")
    nameless = make_user(first_name="", last_name="")
    n = 0
    for partner in partners:
        for role, status, who in ((tricky, "pending", hostile), (french_only, "pending", None),
                                  (no_french, "active", nameless), (tricky, "rejected", hostile),
                                  (french_only, "revoked", None), (no_french, "withdrawn", nameless)):
            n += 1
            row = grant(db, partner, role, status=status, requested_by=who)
            row.requested_at = BASE - timedelta(days=n, minutes=7 * n)
            if status in ("rejected", "revoked", "withdrawn"):
                row.decided_at = BASE - timedelta(hours=n)
    db.session.commit()
    return partners


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_the_rows_are_those_the_macros_make(app, db, varied, lang):
    with app.test_request_context(f"/staff/role-requests?lang={lang}"):
        reference = app.jinja_env.from_string(REFERENCE)
        for status in queue.FILTERS:
            rows = queue.fetch(db.session, status, "", 1).items
            assert rows
            entities = [db.session.get(RoleRequest, row[0]) for row in rows]
            assert str(queue.rows_html(rows)) == reference.render(rows=entities)


def test_the_page_loads_no_orm_entity_and_builds_no_statement(client, db, make_user, login_as, varied, monkeypatch):
    login_as(make_user(staff_permissions=[StaffPermission.ROLES]))
    monkeypatch.setattr(queue, "_build", None)  # the statements are built once, at import
    loaded = []

    def on_load(target, context):
        loaded.append(target)

    event.listen(RoleRequest, "load", on_load)
    try:
        for query in ("", "?status=active", "?status=closed&q=echo"):
            assert client.get(f"/staff/role-requests{query}").status_code == 200
    finally:
        event.remove(RoleRequest, "load", on_load)
    assert loaded == []


def test_values_are_escaped_and_the_search_is_a_literal_prefix(client, db, make_user, login_as, varied):
    login_as(make_user(staff_permissions=[StaffPermission.ROLES]))
    body = client.get("/staff/role-requests?lang=en").get_data(as_text=True)
    assert "A &lt;b&gt;&amp;amp; &#34;Co&#34;" in body and "<b>" not in body
    assert "Rôle &lt;un&gt; &amp; &#39;deux&#39;" in body and "Zoé &lt;x&gt; O&#39;Neil" in body
    # `%` and `_` in the search are characters, not LIKE wildcards.
    assert "Bravo_100% AG" in client.get("/staff/role-requests?q=bravo_100%25").get_data(as_text=True)
    assert "Bravo_100% AG" not in client.get("/staff/role-requests?q=b%25").get_data(as_text=True)
    assert "Charlie AG" not in client.get("/staff/role-requests?q=_harlie").get_data(as_text=True)
    # The identifier, exactly.
    identifier = varied[2].identifier
    assert "Charlie AG" in client.get(f"/staff/role-requests?q=+{identifier}+").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["fr", "en", "de"])
def test_the_compiled_short_dates_are_those_of_format_datetime(app, lang):
    from tradeportal.i18n import format_datetime

    values = [datetime(2009, 1, 5, tzinfo=timezone.utc), datetime(1999, 12, 31, 23, 30, tzinfo=timezone.utc),
              datetime(2026, 6, 15, 11, 59, 59, 999999, tzinfo=timezone.utc), datetime(2026, 6, 15, 10, 0)]  # naive: UTC
    for start in (datetime(2026, 3, 28, tzinfo=timezone.utc), datetime(2026, 10, 24, tzinfo=timezone.utc)):
        values += [start + timedelta(minutes=17 * n) for n in range(3 * 24 * 60 // 17)]  # DST changes, every hour
    with app.test_request_context(f"/staff/role-requests?lang={lang}"):
        compiled = queue.DateTimes("short")
        assert [compiled(value) for value in values] == [format_datetime(value, "short") for value in values]
