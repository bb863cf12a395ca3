"""Agency notices: written in three languages, previewed, queued, fanned out in batches by the worker."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tradeportal.access import StaffPermission
from tradeportal.account.models import User
from tradeportal.audit import AuditEvent
from tradeportal.cli import WORKER_TASKS
from tradeportal.mail import OutboxMessage
from tradeportal.notifications import notices as notices_module
from tradeportal.notifications.models import AgencyNotice, Notification
from tradeportal.notifications.notices import register_notice_audience
from tradeportal.notifications.worker import fan_out_batch, fan_out_notices

NOTICE = {
    "subject_fr": "Fermeture du portail", "body_fr": "Le portail sera fermé samedi.",
    "subject_en": "Portal closed", "body_en": "The portal will be closed on Saturday.",
    "subject_de": "Portal geschlossen", "body_de": "Das Portal ist am Samstag geschlossen.",
    "audience": "everyone",
}

ROUTES = [("get", "/staff/notices"), ("get", "/staff/notices/new"), ("post", "/staff/notices/new"),
          ("get", "/staff/notices/1")]


@pytest.fixture
def content_staff(make_user, login_as):
    user = make_user(staff_permissions=[StaffPermission.CONTENT], locale="en")
    login_as(user)
    return user


@pytest.fixture
def fake_audiences():
    """The roles and partners areas' resolvers, faked: role code / partner number -> user ids."""
    members = {"role": {}, "partner": {}}

    def role(code):
        return select(User.id).where(User.id.in_(members["role"].get(code, [])))

    def partner(number):
        if number not in members["partner"]:
            return None
        return select(User.id).where(User.id.in_(members["partner"][number]))

    real = dict(notices_module._audiences)
    register_notice_audience("role", role)
    register_notice_audience("partner", partner)
    yield members
    notices_module._audiences.clear()
    notices_module._audiences.update(real)  # the real resolvers of the roles and partners areas


def _send(client, data, action="send"):
    return client.post_form("/staff/notices/new", dict(data, action=action), token_from="/staff/notices/new")


def _rows(db, **filters):
    db.session.expire_all()
    return db.session.query(Notification).filter_by(**filters).order_by(Notification.user_id).all()


@pytest.mark.parametrize("method, url", ROUTES)
def test_people_who_are_not_staff_get_404(client, make_user, login_as, method, url):
    login_as(make_user())
    response = client.get(url) if method == "get" else client.post_form(url, NOTICE)
    assert response.status_code == 404


@pytest.mark.parametrize("method, url", ROUTES)
def test_staff_without_content_permission_get_403(client, make_user, login_as, method, url):
    login_as(make_user(staff_permissions=[StaffPermission.SUPPORT]))
    response = client.get(url) if method == "get" else client.post_form(url, NOTICE, token_from="/staff/")
    assert response.status_code == 403


def test_menu_entry_for_content_staff(client, content_staff):
    body = client.get("/staff/?lang=en").get_data(as_text=True)
    assert 'href="/staff/notices"' in body and "Agency notices" in body


def test_a_missing_language_is_refused_next_to_the_field_with_the_values_kept(client, db, content_staff):
    data = dict(NOTICE, body_de="  ")
    response = client.post_form("/staff/notices/new?lang=en", dict(data, action="preview"), token_from="/staff/notices/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: New agency notice" in body
    assert 'href="#body_de">Enter the text in German</a>' in body and 'id="body_de-error"' in body
    assert 'value="Fermeture du portail"' in body and "The portal will be closed on Saturday." in body
    response = client.post_form("/staff/notices/new?lang=en", {"action": "preview"}, token_from="/staff/notices/new")
    body = response.get_data(as_text=True)
    for message in ("Enter the subject in French", "Enter the text in English", "Choose who receives the notice"):
        assert message in body
    assert db.session.query(AgencyNotice).count() == 0


def test_preview_shows_the_three_languages_and_the_audience_size_and_sends_nothing(client, db, make_user, content_staff):
    make_user(), make_user()
    response = _send(client, NOTICE, action="preview")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.count('lang="fr"') >= 1 and "Le portail sera fermé samedi." in body
    assert "The portal will be closed on Saturday." in body and "Das Portal ist am Samstag geschlossen." in body
    assert "This notice will be sent to 3 people." in body  # two users and the staff member
    assert 'name="action" value="send"' in body  # the send button comes with the preview
    assert db.session.query(AgencyNotice).count() == 0 and db.session.query(Notification).count() == 0


def test_send_queues_and_the_worker_fans_out_in_resumable_idempotent_batches(app, client, db, make_user, content_staff):
    people = [make_user(locale=loc, email_notifications=(i % 2 == 0)) for i, loc in enumerate(["fr", "de", "en", "fr", "de"])]
    unconfirmed = make_user()
    unconfirmed.email_confirmed_at = None
    db.session.commit()
    response = _send(client, NOTICE)
    assert response.status_code == 302
    notice = db.session.query(AgencyNotice).one()
    assert response.headers["Location"] == f"/staff/notices/{notice.id}"
    assert notice.status == "queued" and notice.cursor_user_id == 0
    assert db.session.query(Notification).count() == 0  # nothing in the request
    assert db.session.query(AuditEvent).filter_by(action="notice.queued").count() == 1

    with app.app_context():
        assert fan_out_notices(batch_size=2, max_batches=1) == "notices: 1 batch(es) sent, 0 notice(s) finished, 1 in progress"
    db.session.expire_all()
    assert len(_rows(db)) == 2 and notice.status == "sending"
    first_cursor = notice.cursor_user_id

    with app.app_context():
        fan_out_notices(batch_size=2, max_batches=1)
    db.session.expire_all()
    assert len(_rows(db)) == 4 and notice.cursor_user_id > first_cursor

    with app.app_context():
        fan_out_notices(batch_size=2, max_batches=10)
    rows = _rows(db)
    recipients = {content_staff.id} | {p.id for p in people}
    assert {r.user_id for r in rows} == recipients and len(rows) == len(recipients)
    db.session.expire_all()
    assert notice.status == "done" and notice.completed_at is not None
    with app.app_context():
        assert fan_out_notices(batch_size=2) is None  # nothing left to do
        assert fan_out_batch(notice.id) == "done"
    assert len(_rows(db)) == len(recipients)

    by_user = {r.user_id: r for r in rows}
    assert by_user[people[0].id].subject == "Fermeture du portail"
    assert by_user[people[1].id].body == "Das Portal ist am Samstag geschlossen."
    assert by_user[people[2].id].kind == "agency_notice" and by_user[people[2].id].notice_id == notice.id
    mails = {m.recipient for m in db.session.query(OutboxMessage).filter_by(template="notification")}
    wanted = {p.email for p in people if p.email_notifications} | {content_staff.email}
    assert mails == wanted
    assert db.session.query(AuditEvent).filter_by(action="notice.sent").count() == 1


def test_a_moved_cursor_means_another_worker_has_the_batch(app, db, make_user):
    from tradeportal.notifications.notices import queue_notice

    make_user(), make_user()
    notice = queue_notice(None, NOTICE)
    db.session.commit()
    from sqlalchemy import event

    from tradeportal.extensions import db as ext_db

    moved = []

    def move_cursor(conn, cursor, statement, parameters, context, executemany):
        # Another worker commits a batch between our read and our claim.
        if statement.startswith("UPDATE agency_notice") and not moved:
            moved.append(True)
            conn.exec_driver_sql("UPDATE agency_notice SET cursor_user_id = cursor_user_id + 1000")

    event.listen(ext_db.engine, "before_cursor_execute", move_cursor)
    try:
        assert fan_out_batch(notice.id, batch_size=10) == "busy"
    finally:
        event.remove(ext_db.engine, "before_cursor_execute", move_cursor)
    assert db.session.query(Notification).count() == 0


def test_urgent_notice_is_emailed_even_to_people_who_switched_emails_off(app, client, db, make_user, content_staff):
    off = make_user(email_notifications=False)
    _send(client, dict(NOTICE, urgent="y"))
    with app.app_context():
        fan_out_notices()
    mails = db.session.query(OutboxMessage).filter_by(recipient=off.email).all()
    assert len(mails) == 1 and mails[0].subject == "Urgent: Portal closed"
    assert all(r.urgent for r in _rows(db))


def test_staff_see_how_many_received_and_read_in_one_query(app, client, db, make_user, content_staff, count_queries):
    readers = [make_user() for _ in range(3)]
    _send(client, NOTICE)
    with app.app_context():
        fan_out_notices()
    for person in readers[:2]:
        row = db.session.query(Notification).filter_by(user_id=person.id).one()
        row.read_at = row.created_at
    db.session.commit()
    notice = db.session.query(AgencyNotice).one()
    body = client.get(f"/staff/notices/{notice.id}?lang=en").get_data(as_text=True)
    assert "4 people" in body and "2 people" in body and "Sent" in body
    client.get("/staff/notices")
    with count_queries() as counter:
        body = client.get("/staff/notices?lang=en").get_data(as_text=True)
    assert "<td>4</td>" in body and "<td>2</td>" in body
    assert len([s for s in counter.statements if "GROUP BY notification.notice_id" in s]) == 1
    assert len([s for s in counter.statements if "FROM notification" in s]) == 2  # with the bell


def test_role_and_partner_audiences_use_the_registered_resolvers(app, client, db, make_user, content_staff, fake_audiences):
    from tradeportal.roles.models import Role

    db.session.add(Role(code="transport", name_fr="Transport", name_en="Transport", name_de="Transport"))
    db.session.commit()
    a, b, c = make_user(), make_user(), make_user()
    fake_audiences["role"]["transport"] = [a.id, b.id]
    fake_audiences["partner"]["CHE-123.456.789"] = [c.id]

    form = client.get("/staff/notices/new?lang=en").get_data(as_text=True)
    assert 'value="role"' in form and 'value="partner"' in form and '<option value="transport">Transport</option>' in form

    response = _send(client, dict(NOTICE, audience="role"), action="preview")
    assert response.status_code == 422 and "Choose the business partner role" in response.get_data(as_text=True)
    response = _send(client, dict(NOTICE, audience="partner", partner="CHE-999.999.999"), action="preview")
    assert response.status_code == 422 and "No business partner was found with this number" in response.get_data(as_text=True)
    response = _send(client, dict(NOTICE, audience="role", role="transport"), action="preview")
    assert "This notice will be sent to 2 people." in response.get_data(as_text=True)

    _send(client, dict(NOTICE, audience="role", role="transport"))
    _send(client, dict(NOTICE, audience="partner", partner="CHE-123.456.789"))
    with app.app_context():
        fan_out_notices()
    role_notice, partner_notice = db.session.query(AgencyNotice).order_by(AgencyNotice.id).all()
    assert (role_notice.audience, role_notice.audience_value) == ("role", "transport")
    assert {r.user_id for r in _rows(db, notice_id=role_notice.id)} == {a.id, b.id}
    assert {r.user_id for r in _rows(db, notice_id=partner_notice.id)} == {c.id}


def test_without_resolvers_only_everyone_is_offered(client, content_staff, monkeypatch):
    from tradeportal.notifications import notices

    monkeypatch.setattr(notices, "_audiences", {k: v for k, v in notices._audiences.items() if k == "everyone"})
    body = client.get("/staff/notices/new?lang=en").get_data(as_text=True)
    assert 'value="everyone"' in body and 'value="role"' not in body and 'value="partner"' not in body
    response = _send(client, dict(NOTICE, audience="role", role="x"), action="preview")
    assert response.status_code == 422
    assert 'href="#audience-0">Choose who receives the notice</a>' in response.get_data(as_text=True)


def test_the_worker_task_runs_in_send_mail(app, client, db, make_user, content_staff):
    assert fan_out_notices in WORKER_TASKS
    make_user()
    _send(client, NOTICE)
    result = app.test_cli_runner().invoke(args=["tp", "send-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "notices: 1 batch(es) sent, 1 notice(s) finished" in result.output
    assert db.session.query(Notification).count() == 2


def test_role_and_partner_audiences_reach_only_their_members(app, client, db, make_user, content_staff):
    from tests.test_roles_support import add_member, add_partner, add_role, grant
    from tradeportal.notifications.worker import fan_out_notices

    holder, other, outsider = make_user(), make_user(), make_user()
    transport = add_role(db, "transport_x", services="certificates")
    partner_a, partner_b = add_partner(db, name="Alpha Cargo AG"), add_partner(db, name="Beta Trading SA")
    add_member(db, partner_a, holder, "administrator")
    add_member(db, partner_b, other, "administrator")
    grant(db, partner_a, transport)
    sent = _send(client, dict(NOTICE, audience="role", role="transport_x"))
    assert sent.status_code == 302, re.findall(r'error-message"[^>]*>(.*?)</p>', sent.get_data(as_text=True), re.S)
    fan_out_notices()
    assert [r.user_id for r in _rows(db)] == [holder.id]
    assert _send(client, dict(NOTICE, audience="partner", partner=str(partner_b.id))).status_code == 302
    fan_out_notices()
    assert {r.user_id for r in _rows(db)} == {holder.id, other.id}
    assert outsider.id not in {r.user_id for r in _rows(db)}
    unknown = _send(client, dict(NOTICE, audience="partner", partner="999999"), action="preview")
    assert unknown.status_code == 422
