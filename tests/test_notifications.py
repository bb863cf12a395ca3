"""Notifications: created with the action, e-mailed by preference (always when urgent), the inbox and the bell."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from flask_babel import lazy_gettext as _l

from tradeportal.access import Right
from tradeportal.db import utcnow
from tradeportal.mail import OutboxMessage, send_due
from tradeportal.notifications import services
from tradeportal.notifications.models import Notification
from tradeportal.notifications.services import notify_partner, notify_user


def _mails(db, **filters):
    db.session.expire_all()
    return db.session.query(OutboxMessage).filter_by(template="notification", **filters).all()


def _rows(db, **filters):
    db.session.expire_all()
    return db.session.query(Notification).filter_by(**filters).order_by(Notification.id).all()


def _add(db, user, subject="Hello", *, kind="security", at=None, read=False, urgent=False, body="Body", link=None):
    row = Notification(user_id=user.id, kind=kind, subject=subject, body=body, urgent=urgent, link=link,
                       created_at=at or utcnow(), read_at=utcnow() if read else None)
    db.session.add(row)
    db.session.commit()
    return row


# --- creation, transaction, e-mail ----------------------------------------------

def test_notification_and_email_are_created_in_the_same_transaction(app, db, make_user):
    user = make_user(locale="de", email_notifications=True)
    notify_user(user, "role_decision", "Role granted", "Your role is active.", link="/roles/3")
    db.session.rollback()
    assert _rows(db) == [] and _mails(db) == []

    notification = notify_user(user, "role_decision", "Role granted", "Your role is active.", link="/roles/3")
    db.session.commit()
    [row] = _rows(db)
    assert (row.user_id, row.kind, row.subject, row.body, row.link, row.read_at) == (
        user.id, "role_decision", "Role granted", "Your role is active.", "/roles/3", None)
    [mail] = _mails(db)
    assert mail.recipient == user.email and mail.locale == "de"
    assert mail.subject == "Role granted"
    assert "Hallo" in mail.body_text and "Your role is active." in mail.body_text
    assert f"http://localhost/notifications/{notification.id}" in mail.body_text
    assert f'href="http://localhost/notifications/{notification.id}"' in mail.body_html


def test_texts_are_rendered_in_each_recipients_language(app, db, make_user):
    french, german = make_user(locale="fr"), make_user(locale="de")
    # a lazy string from the catalogue, and a callable for trilingual content
    notify_user(french, "security", _l("Home"), lambda locale: f"body in {locale}")
    notify_user(german, "security", render=lambda locale: (f"subject {locale}", f"body {locale}"))
    db.session.commit()
    first, second = _rows(db)
    assert (first.subject, first.body) == ("Accueil", "body in fr")
    assert (second.subject, second.body) == ("subject de", "body de")


def test_email_follows_the_preference_and_urgent_is_always_sent(app, db, make_user):
    on = make_user(email_notifications=True)
    off = make_user(email_notifications=False)
    notify_user(on, "letter_sent", "Letter on its way")
    notify_user(off, "letter_sent", "Letter on its way")
    db.session.commit()
    assert [m.recipient for m in _mails(db)] == [on.email]
    assert len(_rows(db, user_id=off.id)) == 1  # in the inbox all the same

    notify_user(off, "security", "Urgent matter", "Act now.", urgent=True)
    db.session.commit()
    urgent = [m for m in _mails(db) if m.recipient == off.email]
    assert len(urgent) == 1
    assert urgent[0].subject == "Urgent: Urgent matter"
    assert "This notification is urgent" in urgent[0].body_text


def test_sensitive_notification_email_holds_no_contents(app, db, make_user):
    user = make_user()
    notify_user(user, "document_received", "Tax ruling 2026-117", "The amount due is CHF 12,345.")
    notify_user(user, "security", "Visible subject", "Secret body", sensitive=True)
    db.session.commit()
    for mail in _mails(db):
        everything = mail.subject + mail.body_text + (mail.body_html or "")
        assert "Tax ruling" not in everything and "12,345" not in everything and "Secret body" not in everything
        assert "Visible subject" not in everything
        assert "sign in to read it" in mail.body_text and "sign in to read it" in mail.body_html
    assert len(_mails(db)) == 2
    assert [r.sensitive for r in _rows(db)] == [True, True]  # document_received is sensitive by default


def test_links_must_be_paths_on_this_site(app, db, make_user):
    user = make_user()
    for link in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/\\evil"):
        with pytest.raises(ValueError):
            notify_user(user, "security", "x", link=link)



def test_an_unregistered_kind_is_accepted_and_shown_as_other(client, db, make_user, login_as):
    user = make_user()
    notify_user(user, "no_such_kind", "Something else")
    db.session.commit()
    login_as(user)
    assert "<td>Other</td>" in client.get("/notifications?lang=en").get_data(as_text=True)


def test_partner_notifications_reach_the_members_the_resolver_returns(app, db, make_user, monkeypatch):
    admin, clerk, outsider = make_user(), make_user(), make_user()
    assert notify_partner(7, Right.VIEW_DOCUMENTS, "document_received", "New document") == []  # nobody registered yet

    calls = []

    def members(partner_id, right):
        calls.append((partner_id, right))
        return [admin, clerk, clerk]

    monkeypatch.setattr(services, "_partner_audience", members)
    monkeypatch.setattr(services, "_partner_names", lambda ids: {7: "Alpen Logistik AG (CHE-123.456.789)"})
    rows = notify_partner(7, Right.VIEW_DOCUMENTS, "document_received", "New document", link="/documents/1",
                          exclude_user_id=None)
    db.session.commit()
    assert calls == [(7, Right.VIEW_DOCUMENTS)]
    assert sorted(r.user_id for r in rows) == sorted([admin.id, clerk.id])  # one row per person
    assert {r.partner_id for r in rows} == {7}
    assert _rows(db, user_id=outsider.id) == []


def test_register_partner_audience_replaces_the_default(app, db, make_user, monkeypatch):
    member = make_user()
    monkeypatch.setattr(services, "_partner_audience", services._partner_audience)
    services.register_partner_audience(lambda partner_id, right: [member])
    notify_partner(3, None, "invitation", "Welcome", exclude_user_id=None)
    db.session.commit()
    assert [r.user_id for r in _rows(db)] == [member.id]


def test_end_to_end_through_smtp_in_the_recipients_language(app, db, make_user, smtp):
    user = make_user(locale="fr", first_name="Anne")
    notification = notify_user(user, "role_decision", "Rôle accordé", "Votre rôle Transport est actif.", urgent=True)
    db.session.commit()
    assert send_due() == (1, 0)
    assert send_due() == (0, 0)  # never twice
    [envelope] = smtp.messages
    email = message_from_bytes(envelope.content, policy=policy.default)
    assert envelope.rcpt_tos == [user.email]
    assert email["Content-Language"] == "fr"
    text = email.get_body(("plain",)).get_content()
    assert "Bonjour Anne" in text and "Votre rôle Transport est actif." in text
    assert f"http://localhost/notifications/{notification.id}" in text
    assert email.get_body(("html",)) is not None


# --- the inbox --------------------------------------------------------------------

def test_inbox_needs_sign_in(client):
    response = client.get("/notifications")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_inbox_lists_only_my_notifications_newest_first(client, db, make_user, login_as):
    me, other = make_user(), make_user()
    _add(db, me, "Older", at=utcnow() - timedelta(days=2))
    _add(db, me, "Newer", at=utcnow() - timedelta(days=1))
    _add(db, other, "Not mine")
    login_as(me)
    body = client.get("/notifications?lang=en").get_data(as_text=True)
    assert body.index("Newer") < body.index("Older")
    assert "Not mine" not in body


def _subjects(body: str) -> list[str]:
    return re.findall(r'<a href="/notifications/\d+[^"]*">([^<]+)</a>', body)


def test_inbox_filters_by_date_range_type_and_state(client, db, make_user, login_as):
    me = make_user()
    zurich_noon = lambda day: datetime(2026, 3, day, 11, 0, tzinfo=timezone.utc)  # noqa: E731
    _add(db, me, "March 1", at=zurich_noon(1), kind="security")
    _add(db, me, "March 10", at=zurich_noon(10), kind="role_decision", read=True)
    _add(db, me, "March 20", at=zurich_noon(20), kind="role_decision")
    # 23:30 UTC on 31 March is already 1 April in Zurich: outside a range ending on 31 March.
    _add(db, me, "April 1 in Zurich", at=datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc))
    login_as(me)
    get = lambda qs: _subjects(client.get(f"/notifications?lang=en&{qs}").get_data(as_text=True))  # noqa: E731
    assert get("") == ["April 1 in Zurich", "March 20", "March 10", "March 1"]
    assert get("date_from=2026-03-10&date_to=2026-03-31") == ["March 20", "March 10"]
    assert get("date_from=2026-03-20") == ["April 1 in Zurich", "March 20"]
    assert get("date_to=2026-03-01") == ["March 1"]
    assert get("kind=role_decision") == ["March 20", "March 10"]
    assert get("state=unread") == ["April 1 in Zurich", "March 20", "March 1"]
    assert get("state=read") == ["March 10"]
    assert get("kind=role_decision&state=unread&date_to=2026-03-25") == ["March 20"]
    assert get("kind=nonsense&state=nonsense") == get("")  # unknown values are ignored
    body = client.get("/notifications?lang=en&kind=agency_notice").get_data(as_text=True)
    assert "No notification matches these filters." in body


def test_inverted_date_range_is_a_422_with_the_message_and_the_values_kept(client, db, make_user, login_as):
    me = make_user()
    _add(db, me, "Anything")
    login_as(me)
    response = client.get("/notifications?lang=en&date_from=2026-05-10&date_to=2026-05-01&kind=security")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: Notifications" in body
    assert 'href="#date_to">The end date must be the same as or after the start date</a>' in body
    assert 'id="date_to-error"' in body and 'aria-invalid="true"' in body
    assert 'value="2026-05-10"' in body and 'value="2026-05-01"' in body
    assert '<option selected value="security">' in body
    assert "Anything" not in body

    response = client.get("/notifications?lang=en&date_from=31.02.2026")
    assert response.status_code == 422
    assert "Enter the start date as a date, for example 2026-03-31" in response.get_data(as_text=True)


def test_inbox_is_paginated_by_20_and_pages_keep_the_filters(client, db, make_user, login_as):
    me = make_user()
    start = utcnow() - timedelta(hours=30)
    db.session.add_all([Notification(user_id=me.id, kind="security", subject=f"N{i:02d}", body="",
                                     created_at=start + timedelta(minutes=i)) for i in range(25)])
    db.session.commit()
    login_as(me)
    first = client.get("/notifications?lang=en&kind=security").get_data(as_text=True)
    assert len(_subjects(first)) == 20 and _subjects(first)[0] == "N24"
    assert 'href="/notifications?page=2&amp;kind=security"' in first
    second = client.get("/notifications?lang=en&kind=security&page=2").get_data(as_text=True)
    assert _subjects(second) == ["N04", "N03", "N02", "N01", "N00"]


def test_details_mark_read_and_back_keeps_the_filters(client, db, make_user, login_as):
    me = make_user()
    row = _add(db, me, "Your access request", body="Anna asks to join.\n\nDecide soon.", link="/partners/1/requests",
               kind="access_request")
    login_as(me)
    listing = client.get("/notifications?lang=en&kind=access_request&state=unread&date_from=2020-01-01").get_data(as_text=True)
    detail_url = f"/notifications/{row.id}?date_from=2020-01-01&amp;kind=access_request&amp;state=unread"
    assert f'href="{detail_url}"' in listing
    body = client.get(detail_url.replace("&amp;", "&") + "&lang=en").get_data(as_text=True)
    assert "<p>Anna asks to join.</p>" in body and "<p>Decide soon.</p>" in body
    assert 'href="/partners/1/requests"' in body
    assert 'href="/notifications?date_from=2020-01-01&amp;kind=access_request&amp;state=unread">Back</a>' in body
    db.session.refresh(row)
    assert row.read_at is not None


def test_back_link_only_carries_known_filters(client, db, make_user, login_as):
    me = make_user()
    row = _add(db, me, "x")
    login_as(me)
    body = client.get(f"/notifications/{row.id}?next=https://evil.example&kind=security&lang=en").get_data(as_text=True)
    back = re.search(r'<a class="back-link" href="([^"]*)">Back</a>', body).group(1)
    assert back == "/notifications?kind=security"


def test_another_persons_notification_is_404(client, db, make_user, login_as):
    me, other = make_user(), make_user()
    theirs = _add(db, other, "Theirs")
    login_as(me)
    assert client.get(f"/notifications/{theirs.id}").status_code == 404
    assert client.post_form(f"/notifications/{theirs.id}/read").status_code == 404
    assert client.post_form(f"/notifications/{theirs.id}/unread").status_code == 404
    db.session.refresh(theirs)
    assert theirs.read_at is None
    assert client.get("/notifications/999999").status_code == 404


def _bell(body: str) -> str:
    match = re.search(r'<li id="notification-bell".*?</li>', body, re.S)
    assert match, "no bell on the page"
    return match.group(0)


def _bell_name(body: str) -> str:
    return re.search(r'<span class="visually-hidden">([^<]+)</span>', _bell(body)).group(1)


def test_bell_shows_the_unread_count_on_every_signed_in_page(client, db, make_user, login_as):
    me = make_user()
    login_as(me)
    assert _bell_name(client.get("/dashboard?lang=en").get_data(as_text=True)) == "Notifications, none unread"
    for i in range(3):
        _add(db, me, f"n{i}")
    _add(db, me, "read one", read=True)
    body = client.get("/help?lang=en").get_data(as_text=True)
    assert _bell_name(body) == "Notifications, 3 unread"
    assert '<span class="bell__count" aria-hidden="true">3</span>' in _bell(body)


def test_bell_caps_the_count(client, db, make_user, login_as):
    me = make_user()
    db.session.add_all([Notification(user_id=me.id, kind="security", subject="x", body="") for _ in range(120)])
    db.session.commit()
    login_as(me)
    body = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert _bell_name(body) == "Notifications, 99+ unread"


def test_mark_read_unread_and_all_without_javascript(client, db, make_user, login_as):
    me = make_user()
    first, second = _add(db, me, "First"), _add(db, me, "Second")
    login_as(me)
    response = client.post_form(f"/notifications/{first.id}/read", {"back": "kind=security&page=1&evil=1"},
                                token_from="/notifications")
    assert response.status_code == 302 and response.headers["Location"] == "/notifications?kind=security"
    page = client.get("/notifications?lang=en").get_data(as_text=True)
    assert _bell_name(page) == "Notifications, 1 unread"
    assert "Notification marked as read: First" in page

    client.post_form(f"/notifications/{first.id}/unread", {"back": ""}, token_from="/notifications")
    assert _bell_name(client.get("/notifications?lang=en").get_data(as_text=True)) == "Notifications, 2 unread"

    response = client.post_form("/notifications/read-all", {"back": "state=unread"}, token_from="/notifications")
    assert response.headers["Location"] == "/notifications?state=unread"
    page = client.get("/notifications?lang=en&state=unread").get_data(as_text=True)
    assert _bell_name(page) == "Notifications, none unread"
    assert "All your notifications are marked as read." in page
    db.session.expire_all()
    assert [r.id for r in _rows(db) if r.read_at is None] == []
    assert {r.id for r in _rows(db)} == {first.id, second.id}


def test_post_without_csrf_changes_nothing(client, db, make_user, login_as):
    me = make_user()
    row = _add(db, me, "x")
    login_as(me)
    assert client.post(f"/notifications/{row.id}/read").status_code == 400
    assert client.post("/notifications/read-all").status_code == 400
    db.session.refresh(row)
    assert row.read_at is None


def test_htmx_mark_read_answers_the_row_the_bell_and_an_announcement(client, db, make_user, login_as):
    me = make_user()
    row = _add(db, me, "First")
    _add(db, me, "Second")
    login_as(me)
    token = client.csrf_token("/notifications")
    response = client.post(f"/notifications/{row.id}/read", data={"back": "state=unread", "origin": "list"},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert body.lstrip().startswith(f'<tr id="notification-{row.id}"')
    assert f'id="toggle-{row.id}"' in body and "Mark as unread" in body
    bell = _bell(body)
    assert 'hx-swap-oob="true"' in bell and "Notifications, 1 unread" in bell
    assert 'id="live-region" hx-swap-oob="innerHTML"' in body and "Notification marked as read: First" in body
    assert "<html" not in body

    response = client.post("/notifications/read-all", data={"back": ""},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    body = response.get_data(as_text=True)
    assert '<h2 id="results-title">' in body and "<html" not in body
    assert "Notifications, none unread" in _bell(body)


def test_htmx_filter_returns_the_panel_and_errors_with_their_summary(client, db, make_user, login_as):
    me = make_user()
    _add(db, me, "One")
    login_as(me)
    response = client.get("/notifications?lang=en&state=unread", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert 'role="search"' in body and "One" in body and "<html" not in body and "<h1>" not in body
    response = client.get("/notifications?lang=en&date_from=2026-02-02&date_to=2026-02-01", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'class="error-summary"' in body and "The end date must be the same as or after the start date" in body


# --- the query budget ---------------------------------------------------------------

def test_inbox_and_bell_cost_the_same_queries_for_1_and_50_notifications(client, db, make_user, login_as, count_queries):
    me = make_user()
    # Every row names a partner, so both sizes pay the one query for partner names.
    db.session.add(Notification(user_id=me.id, kind="security", subject="first", body="", partner_id=100))
    db.session.commit()
    login_as(me)
    client.get("/notifications")  # warm-up
    with count_queries() as inbox_one:
        assert client.get("/notifications").status_code == 200
    with count_queries() as bell_one:
        assert client.get("/dashboard").status_code == 200
    with count_queries() as filtered_one:
        assert client.get("/notifications?state=unread&kind=security&date_from=2020-01-01").status_code == 200
    db.session.add_all([Notification(user_id=me.id, kind="security", subject=f"n{i}", body="", partner_id=i)
                        for i in range(49)])
    db.session.commit()
    with count_queries() as inbox_fifty:
        assert client.get("/notifications").status_code == 200
    with count_queries() as bell_fifty:
        assert client.get("/dashboard").status_code == 200
    with count_queries() as filtered_fifty:
        assert client.get("/notifications?state=unread&kind=security&date_from=2020-01-01").status_code == 200
    assert inbox_one.count == inbox_fifty.count
    assert bell_one.count == bell_fifty.count
    assert filtered_one.count == filtered_fifty.count
    badge = [s for s in bell_fifty.statements if "FROM notification" in s]
    assert len(badge) == 1, badge  # one query for the bell
    assert len([s for s in inbox_fifty.statements if "FROM notification" in s]) == 2  # the bell and the page


def test_unread_count_uses_the_partial_index(app, db, make_user):
    from sqlalchemy import text

    me = make_user()
    query = ("SELECT count(*) FROM (SELECT id FROM notification WHERE user_id = :u "
             "AND read_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 100) AS unread")
    if db.engine.dialect.name == "postgresql":
        # On an empty test table the planner has no statistics to prefer the partial index over
        # its twin on (user_id, created_at): the partial index exists with its predicate, and
        # with sequential scans ruled out (as at volume) the count reads an index.
        definition = db.session.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_notification_unread'")).scalar_one()
        assert "WHERE (read_at IS NULL)" in definition, definition
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(row[0]) for row in db.session.execute(text("EXPLAIN " + query), {"u": me.id}))
        db.session.rollback()
        assert "Index" in plan and "Seq Scan" not in plan, plan
    else:
        plan = " ".join(str(row[-1]) for row in db.session.execute(text("EXPLAIN QUERY PLAN " + query), {"u": me.id}))
        assert "ix_notification_unread" in plan, plan


def test_deleting_an_account_takes_its_notifications_along(app, db, make_user):
    gone, stays = make_user(), make_user()
    _add(db, gone, "bye")
    _add(db, stays, "hello")
    db.session.delete(gone)
    db.session.commit()
    assert [r.subject for r in _rows(db)] == ["hello"]
