"""Members of a partner: roles, the last administrator, invitations, access requests, notifications."""
from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from tests.test_partners_support import add_partner, audit_actions, outbox
from tradeportal.db import utcnow
from tradeportal.partners.models import AccessRequest, Invitation, Membership


def _membership(db, partner, user):
    db.session.expire_all()
    return db.session.execute(select(Membership).where(Membership.partner_id == partner.id,
                                                       Membership.user_id == user.id)).scalar_one_or_none()


def test_last_administrator_cannot_leave_be_removed_or_demoted(client, db, make_user, login_as):
    admin = make_user()
    partner = add_partner(db, admin)
    login_as(admin)
    own = _membership(db, partner, admin)
    leave = f"/partners/{partner.id}/leave"
    client.post_form(leave, {}, token_from=leave)
    assert _membership(db, partner, admin) is not None
    remove = f"/partners/{partner.id}/members/{own.id}/remove"
    client.post_form(remove, {}, token_from=remove)
    assert _membership(db, partner, admin) is not None
    role = f"/partners/{partner.id}/members/{own.id}/role"
    response = client.post_form(role, {"role": "deputy"}, token_from=f"/partners/{partner.id}/members")
    assert "needs an administrator" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert _membership(db, partner, admin).role == "administrator"


def test_deputy_has_the_administrators_rights_and_admin_can_leave_after_naming_another(client, db, make_user, login_as):
    admin, colleague = make_user(), make_user()
    partner = add_partner(db, admin, members=[(colleague, "member")])
    login_as(admin)
    theirs = _membership(db, partner, colleague)
    role = f"/partners/{partner.id}/members/{theirs.id}/role"
    client.post_form(role, {"role": "deputy"}, token_from=f"/partners/{partner.id}/members")
    assert _membership(db, partner, colleague).role == "deputy"
    assert any("Your role for" in m.subject for m in outbox(db, colleague.email))
    assert "partners.member_role_changed" in audit_actions(db, partner.id)
    login_as(colleague)
    assert client.get(f"/partners/{partner.id}/members").status_code == 200  # same rights as the administrator
    client.post_form(role, {"role": "administrator"}, token_from=f"/partners/{partner.id}/members")
    login_as(admin)
    leave = f"/partners/{partner.id}/leave"
    assert client.post_form(leave, {}, token_from=leave).status_code == 302
    assert _membership(db, partner, admin) is None
    assert "partners.member_left" in audit_actions(db, partner.id)


def test_member_has_no_manager_pages_and_the_403_says_who_can_help(client, db, make_user, login_as):
    admin, member = make_user(first_name="Alma", last_name="Admin"), make_user()
    partner = add_partner(db, admin, members=[(member, "member")])
    login_as(member)
    assert client.get(f"/partners/{partner.id}").status_code == 200
    response = client.get(f"/partners/{partner.id}/members")
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "Alma Admin" in body and admin.email in body


def test_administrator_removes_a_member_who_is_told(client, db, make_user, login_as):
    admin, member = make_user(), make_user()
    partner = add_partner(db, admin, members=[(member, "member")])
    login_as(admin)
    theirs = _membership(db, partner, member)
    url = f"/partners/{partner.id}/members/{theirs.id}/remove"
    assert client.get(url).status_code == 200
    assert client.post_form(url, {}, token_from=url).status_code == 302
    assert _membership(db, partner, member) is None
    assert any("no longer work for" in m.subject for m in outbox(db, member.email))
    assert "partners.member_removed" in audit_actions(db, partner.id)
    from tradeportal.notifications.models import Notification

    inbox = db.session.query(Notification).filter_by(user_id=member.id).all()
    assert [n.kind for n in inbox] == ["member_removed"]
    assert "no longer work for" in inbox[0].subject
    # The inbox names the partner the event is about.
    assert inbox[0].partner_id == partner.id
    login_as(member)
    assert partner.name in client.get(f"/notifications/{inbox[0].id}").get_data(as_text=True)


def _invite(client, partner, email, role="member"):
    url = f"/partners/{partner.id}/invitations/new"
    response = client.post_form(url, {"email": email, "role": role}, token_from=url)
    assert response.status_code == 302, response.get_data(as_text=True)
    message = outbox(client.application.extensions["sqlalchemy"], email)[-1]
    return re.search(r"/invitations/[A-Za-z0-9_\-]+", message.body_text).group(0)


def test_invitation_accepted_after_sign_in(app, client, db, make_user, login_as):
    admin = make_user()
    partner = add_partner(db, admin, name="Limmat Trading AG")
    login_as(admin)
    link = _invite(client, partner, "new.colleague@example.com", role="deputy")
    invitation = db.session.execute(select(Invitation)).scalar_one()
    assert invitation.token_hash != link.rsplit("/", 1)[1] and len(invitation.token_hash) == 64
    assert "partners.invitation_sent" in audit_actions(db, partner.id)

    anonymous = app.test_client()
    body = anonymous.get(link).get_data(as_text=True)
    assert "Limmat Trading AG" in body and "/sign-in?next=" in body

    stranger = make_user()
    login_as(stranger, anonymous)
    assert "was sent to new.colleague@example.com" in anonymous.get(link).get_data(as_text=True)
    anonymous.post_form(f"{link}/accept", {}, token_from=link)
    assert _membership(db, partner, stranger) is None

    invitee = make_user("New.Colleague@example.com")
    other = app.test_client()
    login_as(invitee, other)
    response = other.post_form(f"{link}/accept", {}, token_from=link)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/partners/{partner.id}")
    assert _membership(db, partner, invitee).role == "deputy"
    assert any("joined" in m.subject for m in outbox(db, admin.email))
    # Single use.
    assert "already been accepted" in other.get(link).get_data(as_text=True)


def test_invitation_expires_after_14_days(app, client, db, make_user, login_as):
    admin = make_user()
    partner = add_partner(db, admin)
    login_as(admin)
    link = _invite(client, partner, "late@example.com")
    invitee = make_user("late@example.com")
    with time_machine.travel(utcnow() + timedelta(days=14, minutes=1)):
        other = app.test_client()
        login_as(invitee, other)
        assert "expired" in other.get(link).get_data(as_text=True)
        other.post_form(f"{link}/accept", {}, token_from=link)
    assert _membership(db, partner, invitee) is None


def test_invitation_can_be_withdrawn(app, client, db, make_user, login_as):
    admin = make_user()
    partner = add_partner(db, admin)
    login_as(admin)
    link = _invite(client, partner, "withdrawn@example.com")
    invitation = db.session.execute(select(Invitation)).scalar_one()
    url = f"/partners/{partner.id}/invitations/{invitation.id}/withdraw"
    assert client.post_form(url, {}, token_from=f"/partners/{partner.id}/members").status_code == 302
    invitee = make_user("withdrawn@example.com")
    other = app.test_client()
    login_as(invitee, other)
    assert "withdrawn" in other.get(link).get_data(as_text=True)
    other.post_form(f"{link}/accept", {}, token_from=link)
    assert _membership(db, partner, invitee) is None
    assert "partners.invitation_withdrawn" in audit_actions(db, partner.id)


def test_unknown_invitation_link_is_a_404(client, db):
    assert client.get("/invitations/not-a-real-token").status_code == 404


def _ask(app, db, partner, user, reason="I work in the export team."):
    from tradeportal.partners.services import ask_to_join

    with app.test_request_context():
        row = ask_to_join(user, partner, reason)
        db.session.commit()
        return row.id


def test_access_request_approved(app, client, db, make_user, login_as):
    admin, requester = make_user(), make_user()
    partner = add_partner(db, admin)
    request_id = _ask(app, db, partner, requester)
    login_as(admin)
    page = client.get(f"/partners/{partner.id}/members").get_data(as_text=True)
    assert "I work in the export team." in page
    url = f"/partners/{partner.id}/access-requests/{request_id}"
    response = client.post_form(url, {"decision": "approve", "message": "Welcome"}, token_from=url)
    assert response.status_code == 302
    assert _membership(db, partner, requester).role == "member"
    assert db.session.get(AccessRequest, request_id).status == "approved"
    mails = outbox(db, requester.email)
    assert any("approved" in m.subject and "Welcome" in m.body_text for m in mails)
    assert "partners.access_request_approved" in audit_actions(db, partner.id)
    from tradeportal.notifications.models import Notification

    notes = db.session.query(Notification).filter_by(user_id=requester.id).all()
    assert [(n.kind, n.partner_id) for n in notes] == [("access_request_approved", partner.id)]


def test_access_request_refused_with_a_message(app, client, db, make_user, login_as):
    admin, requester = make_user(), make_user()
    partner = add_partner(db, admin)
    request_id = _ask(app, db, partner, requester)
    login_as(admin)
    url = f"/partners/{partner.id}/access-requests/{request_id}"
    assert client.post_form(url, {"decision": "refuse", "message": ""}, token_from=url).status_code == 422
    client.post_form(url, {"decision": "refuse", "message": "We do not know you."}, token_from=url)
    assert _membership(db, partner, requester) is None
    db.session.expire_all()
    assert db.session.get(AccessRequest, request_id).status == "refused"
    assert any("refused" in m.subject and "We do not know you." in m.body_text for m in outbox(db, requester.email))


def test_notifications_are_in_the_recipients_language(app, client, db, make_user, login_as):
    admin, requester = make_user(locale="en"), make_user(locale="de")
    partner = add_partner(db, admin, name="Jura Textil AG")
    request_id = _ask(app, db, partner, requester)
    login_as(admin)
    url = f"/partners/{partner.id}/access-requests/{request_id}"
    client.post_form(url, {"decision": "approve", "message": ""}, token_from=url)
    message = outbox(db, requester.email)[-1]
    assert message.locale == "de"


def test_deleting_the_account_of_the_only_administrator_is_blocked(db, make_user, app):
    from tradeportal.partners.members import only_administrator_blocker

    admin, other = make_user(), make_user()
    partner = add_partner(db, admin, name="Solo AG")
    with app.test_request_context():
        assert "Solo AG" in only_administrator_blocker(admin)
        assert only_administrator_blocker(other) is None
        db.session.add(Membership(partner_id=partner.id, user_id=other.id, role="administrator", rights=""))
        db.session.commit()
        assert only_administrator_blocker(admin) is None
    try:
        from tradeportal.account import services as account_services
    except ImportError:
        return
    if isinstance(getattr(account_services, "deletion_blockers", None), list):
        assert only_administrator_blocker in account_services.deletion_blockers


def test_acting_for_several_partners(client, db, make_user, login_as):
    user = make_user()
    first = add_partner(db, user, name="Alpha AG")
    second = add_partner(db, user, name="Beta AG")
    login_as(user)
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/partners/choose" in response.headers["Location"]
    url = "/partners/choose?next=/dashboard"
    response = client.post_form("/partners/choose", {"partner": second.id, "next": "/dashboard"}, token_from=url)
    assert response.headers["Location"].endswith("/dashboard")
    body = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert "Acting for" in body and "<strong>Beta AG</strong>" in body and "Switch" in body
    client.get(f"/partners/{first.id}")  # opening a partner's page acts for it
    assert "<strong>Alpha AG</strong>" in client.get("/dashboard?lang=en").get_data(as_text=True)


def test_activity_history_shows_only_this_partners_events_paginated(client, db, make_user, login_as):
    from tradeportal import audit

    admin = make_user()
    partner = add_partner(db, admin, name="History AG")
    other = add_partner(db, make_user(), name="Other AG")
    for n in range(22):
        audit.record("partners.invitation_sent", actor=admin, partner_id=partner.id, object_type="invitation", object_id=n)
    audit.record("partners.member_removed", actor=admin, partner_id=other.id)
    db.session.commit()
    login_as(admin)
    first = client.get(f"/partners/{partner.id}/activity?lang=en").get_data(as_text=True)
    assert first.count("Invitation sent") == 20 and "Member removed" not in first
    assert 'rel="next"' in first
    second = client.get(f"/partners/{partner.id}/activity?page=2&lang=en").get_data(as_text=True)
    assert second.count("Invitation sent") == 2


def test_the_header_of_a_page_without_partner_comes_with_the_session_statement(client, db, make_user, login_as,
                                                                                 count_queries):
    """Pages that act for no partner (account, inbox, staff) show the partner acted for from what the
    session's statement read: the same header as the memberships give, without a query of its own."""
    from tradeportal.partners.models import Partner

    user = make_user()
    add_partner(db, user, name="Alpha AG")
    login_as(user)
    with count_queries() as alone:
        body = client.get("/account?lang=en").get_data(as_text=True)
    assert "<strong>Alpha AG</strong>" in body and "Switch" not in body  # the only one: acted for
    assert not any("FROM membership" in s.split("WHERE")[0] for s in alone.statements[1:])
    second = add_partner(db, user, name="Beta AG")
    body = client.get("/account?lang=en").get_data(as_text=True)
    assert "Choose the business partner you act for" in body and "Acting for" not in body
    client.get(f"/partners/{second.id}")  # acts for Beta from now on
    body = client.get("/account?lang=en").get_data(as_text=True)
    assert "<strong>Beta AG</strong>" in body and "Switch" in body
    db.session.get(Partner, second.id).status = "rejected"  # no longer one to act for
    db.session.commit()
    body = client.get("/account?lang=en").get_data(as_text=True)
    assert "<strong>Alpha AG</strong>" in body and "Switch" not in body


def test_an_address_is_written_one_line_each(app):
    """The address macro keeps each line apart (the class shows the line breaks): no running together."""
    from types import SimpleNamespace

    with app.test_request_context("/"):
        template = app.jinja_env.from_string('{% from "partners/_macros.html" import address %}{{ address(o) }}')
        full = SimpleNamespace(address_line1="Bahnhofstrasse 1", address_line2="Postfach 12", postcode="3003",
                               town="Bern", country="CH")
        assert template.render(o=full) == '<span class="address">Bahnhofstrasse 1\nPostfach 12\n3003 Bern\nCH</span>'
        short = SimpleNamespace(**{**vars(full), "address_line2": None})
        assert template.render(o=short) == '<span class="address">Bahnhofstrasse 1\n3003 Bern\nCH</span>'
