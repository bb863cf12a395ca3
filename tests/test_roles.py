"""Role requests: request, review, reject, revoke, withdraw, duplicates, retired roles, tenancy."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from tests.test_roles_support import (  # noqa: F401 - fixtures
    add_member, audit_actions, catalogue, grant, notifications_of, outbox_to, requests_of, team,
)
from tradeportal.access import StaffPermission
from tradeportal.roles import grants
from tradeportal.roles.models import RoleRequest

CONTACT = {"contact_name": "Carla Contact", "contact_email": "carla@example.com", "contact_phone": "+41 58 462 60 00"}


def _request(client, team, code, data=None):
    url = f"/partners/{team.partner.id}/roles/{team.roles[code].id}/request"
    return client.post_form(url, data or {}, token_from=url)


@pytest.fixture
def roles_staff(make_user):
    return make_user(first_name="Sandra", last_name="Staff", staff_permissions=[StaffPermission.ROLES])


def _decide(app, login_as, staff_user, row, data):
    staff_client = app.test_client()
    login_as(staff_user, staff_client)
    url = f"/staff/role-requests/{row.id}"
    return staff_client.post_form(url, data, token_from=url)


def test_a_role_without_review_is_active_at_once(client, db, login_as, team):
    login_as(team.admin)
    page = client.get(f"/partners/{team.partner.id}/roles").get_data(as_text=True)
    for name in ("Goods traffic", "Transport", "Authorised consignee", "Authorised consignor", "Payments"):
        assert name in page
    assert "Not requested" in page
    response = _request(client, team, "transport")
    assert response.status_code == 302
    (row,) = requests_of(db, team.partner)
    assert (row.status, row.requested_by_id, row.contact_name) == ("active", team.admin.id, None)
    assert row.activated_at is not None and row.decided_by_id is None
    assert "roles.requested" in audit_actions(db, team.partner.id)
    page = client.get(f"/partners/{team.partner.id}/roles").get_data(as_text=True)
    assert "Active" in page and "Ada Admin" in page


def test_a_reviewed_role_is_pending_until_staff_approve_and_the_managers_are_notified(
        app, client, db, login_as, team, roles_staff):
    login_as(team.admin)
    response = _request(client, team, "authorised_consignor")
    assert response.status_code == 422  # the contact person is required for this role
    body = response.get_data(as_text=True)
    assert "Enter the name of the contact person" in body
    assert "Enter the e-mail address of the contact person" in body and "Enter the phone number of the contact person" in body
    assert requests_of(db, team.partner) == []
    response = _request(client, team, "authorised_consignor", dict(CONTACT, contact_phone="call me"))
    assert response.status_code == 422 and "Enter a phone number with digits only" in response.get_data(as_text=True)
    assert _request(client, team, "authorised_consignor", CONTACT).status_code == 302
    (row,) = requests_of(db, team.partner)
    assert (row.status, row.contact_name, row.contact_email, row.contact_phone) == (
        "pending", "Carla Contact", "carla@example.com", "+41 58 462 60 00")
    assert "Pending" in client.get(f"/partners/{team.partner.id}/roles").get_data(as_text=True)

    queue = app.test_client()
    login_as(roles_staff, queue)
    body = queue.get("/staff/role-requests").get_data(as_text=True)
    assert "Rhein Handel AG" in body and "Authorised consignor" in body and team.partner.identifier in body
    assert "Bahnhofstrasse" in body
    response = _decide(app, login_as, roles_staff, row, {"decision": "approve"})
    assert response.status_code == 302
    (row,) = requests_of(db, team.partner)
    assert (row.status, row.decided_by_id) == ("active", roles_staff.id) and row.activated_at is not None
    events = audit_actions(db, team.partner.id)
    assert "roles.request_approved" in events
    for person in (team.admin, team.deputy):
        (note,) = notifications_of(db, person, "role_decision")
        assert note.subject == "Role Authorised consignor approved" and note.partner_id == team.partner.id
        assert note.link == f"/partners/{team.partner.id}/roles/requests/{row.id}"
        assert any("Authorised consignor" in m.subject for m in outbox_to(db, person.email))
    assert notifications_of(db, team.member, "role_decision") == []
    assert notifications_of(db, team.outsider) == []


def test_the_notification_is_in_the_recipients_language(app, client, db, login_as, make_user, team, roles_staff):
    deputy_fr = make_user(locale="fr")
    add_member(db, team.partner, deputy_fr, "deputy")
    row = grant(db, team.partner, team.roles["authorised_consignee"], status="pending")
    _decide(app, login_as, roles_staff, row, {"decision": "approve"})
    (note,) = notifications_of(db, deputy_fr, "role_decision")
    assert "Destinataire agréé" in note.subject


def test_reject_needs_a_reason_and_the_partner_sees_it(app, client, db, login_as, team, roles_staff):
    row = grant(db, team.partner, team.roles["authorised_consignee"], status="pending", requested_by=team.admin)
    response = _decide(app, login_as, roles_staff, row, {"decision": "reject", "reason": "  "})
    assert response.status_code == 422
    assert "Enter the reason for the rejection" in response.get_data(as_text=True)
    assert requests_of(db, team.partner)[0].status == "pending"
    response = _decide(app, login_as, roles_staff, row, {"decision": "reject", "reason": "No bond deposited."})
    assert response.status_code == 302
    (row,) = requests_of(db, team.partner)
    assert (row.status, row.reason) == ("rejected", "No bond deposited.")
    assert "roles.request_rejected" in audit_actions(db, team.partner.id)
    (note,) = notifications_of(db, team.admin, "role_decision")
    assert "No bond deposited." in note.body
    login_as(team.admin)
    page = client.get(f"/partners/{team.partner.id}/roles").get_data(as_text=True)
    assert "Rejected" in page and "No bond deposited." in page and "Request again" in page
    detail = client.get(f"/partners/{team.partner.id}/roles/requests/{row.id}").get_data(as_text=True)
    assert "No bond deposited." in detail
    # A second decision on the same request is refused.
    response = _decide(app, login_as, roles_staff, row, {"decision": "approve"})
    assert requests_of(db, team.partner)[0].status == "rejected"


def test_staff_revoke_an_active_role_with_a_reason(app, client, db, login_as, team, roles_staff):
    row = grant(db, team.partner, team.roles["transport"])
    staff_client = app.test_client()
    login_as(roles_staff, staff_client)
    url = f"/staff/role-requests/{row.id}/revoke"
    response = staff_client.post_form(url, {"reason": ""}, token_from=url)
    assert response.status_code == 422 and "Enter the reason for the revocation" in response.get_data(as_text=True)
    response = staff_client.post_form(url, {"reason": "Licence expired."}, token_from=url)
    assert response.status_code == 302
    (row,) = requests_of(db, team.partner)
    assert (row.status, row.reason, row.decided_by_id) == ("revoked", "Licence expired.", roles_staff.id)
    assert "roles.revoked" in audit_actions(db, team.partner.id)
    assert "Licence expired." in notifications_of(db, team.deputy, "role_decision")[0].body
    login_as(team.admin)
    page = client.get(f"/partners/{team.partner.id}/roles").get_data(as_text=True)
    assert "Revoked" in page and "Licence expired." in page
    # Only an active role can be revoked.
    response = staff_client.post_form(url, {"reason": "again"}, token_from=f"/staff/role-requests/{row.id}")
    assert response.status_code == 302 and requests_of(db, team.partner)[0].decided_at == row.decided_at


def test_withdraw_a_pending_request(client, db, login_as, team):
    row = grant(db, team.partner, team.roles["authorised_consignee"], status="pending", requested_by=team.admin)
    login_as(team.deputy)
    url = f"/partners/{team.partner.id}/roles/requests/{row.id}"
    assert "Withdraw the request" in client.get(url).get_data(as_text=True)
    response = client.post_form(f"{url}/withdraw", {"back": "detail"}, token_from=url)
    assert response.status_code == 302
    (row,) = requests_of(db, team.partner)
    assert (row.status, row.decided_by_id) == ("withdrawn", team.deputy.id)
    assert "roles.request_withdrawn" in audit_actions(db, team.partner.id)
    # Twice: nothing changes, the person is told.
    response = client.post_form(f"{url}/withdraw", {}, token_from=url, follow_redirects=True)
    assert "This request has changed in the meantime" in response.get_data(as_text=True)
    # The role can be requested again: a new row, the history kept.
    assert _request(client, team, "authorised_consignee", CONTACT).status_code == 302
    assert [r.status for r in requests_of(db, team.partner)] == ["withdrawn", "pending"]


def test_withdraw_with_htmx_returns_the_list_and_announces_it(client, db, login_as, team):
    row = grant(db, team.partner, team.roles["authorised_consignee"], status="pending")
    login_as(team.admin)
    list_url = f"/partners/{team.partner.id}/roles"
    response = client.post(f"/partners/{team.partner.id}/roles/requests/{row.id}/withdraw",
                           data={"back": "list"}, headers={"HX-Request": "true", "X-CSRFToken": client.csrf_token(list_url)})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'id="roles-list"' in body
    assert "Withdrawn" in body and 'hx-swap-oob' in body and "is withdrawn" in body
    assert "HX-Request" in response.headers["Vary"]


def test_no_two_open_requests_for_the_same_role(client, db, login_as, team):
    login_as(team.admin)
    assert _request(client, team, "transport").status_code == 302
    response = _request(client, team, "transport")
    assert response.status_code == 409 and "already holds this role" in response.get_data(as_text=True)
    assert len(requests_of(db, team.partner)) == 1
    # The service refuses it too, and the database refuses it even when the service's check is skipped.
    with client.application.test_request_context(), pytest.raises(grants.RoleError):
        grants.request_role(team.admin, team.partner, team.roles["transport"])
    db.session.rollback()
    db.session.add(RoleRequest(partner_id=team.partner.id, role_id=team.roles["transport"].id, status="pending"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Closed requests do not count: two rejected ones and one pending coexist.
    role = team.roles["authorised_consignee"]
    for status in ("rejected", "rejected", "pending"):
        db.session.add(RoleRequest(partner_id=team.partner.id, role_id=role.id, status=status))
        db.session.commit()
    # Another partner may hold the same role.
    grant(db, team.other_partner, team.roles["transport"])


def test_a_retired_role_cannot_be_requested_but_its_grants_stay(client, db, login_as, team):
    transport = team.roles["transport"]
    grant(db, team.partner, transport)
    consignee = team.roles["authorised_consignee"]
    consignee.active = False
    db.session.commit()
    login_as(team.admin)
    url = f"/partners/{team.partner.id}/roles/{consignee.id}/request"
    response = client.post_form(url, CONTACT, token_from=f"/partners/{team.partner.id}/roles")
    assert response.status_code == 409 and "retired" in response.get_data(as_text=True)
    assert [r.role_id for r in requests_of(db, team.partner)] == [transport.id]
    with client.application.test_request_context(), pytest.raises(grants.RoleError):
        grants.request_role(team.admin, team.partner, consignee, {"name": "a", "email": "a@b.c", "phone": "123456"})
    db.session.rollback()
    transport.active = False
    db.session.commit()
    page = client.get(f"/partners/{team.partner.id}/roles").get_data(as_text=True)
    assert "Transport" in page and "Authorised consignee" not in page  # retired and never requested: hidden
    from tradeportal.roles.services import partner_services

    with client.application.test_request_context():
        assert "certificates" in partner_services(team.partner.id)


def test_only_managers_of_the_partner_manage_its_roles(client, db, login_as, team):
    row = grant(db, team.other_partner, team.roles["transport"])
    login_as(team.member)
    response = client.get(f"/partners/{team.partner.id}/roles")
    assert response.status_code == 403 and "Ada Admin" in response.get_data(as_text=True)
    assert client.get(f"/partners/{team.partner.id}/roles/{team.roles['transport'].id}/request").status_code == 403
    login_as(team.admin)
    # Another partner's roles, and its requests through our own URL: 404, never 403.
    assert client.get(f"/partners/{team.other_partner.id}/roles").status_code == 404
    assert client.get(f"/partners/{team.partner.id}/roles/requests/{row.id}").status_code == 404
    response = client.post_form(f"/partners/{team.partner.id}/roles/requests/{row.id}/withdraw", {},
                                token_from=f"/partners/{team.partner.id}/roles")
    assert response.status_code == 404
    assert client.get(f"/partners/{team.partner.id}/roles/999999/request").status_code == 404


def test_a_suspended_partner_cannot_request_roles(client, db, login_as, team):
    from tradeportal.db import utcnow

    team.partner.suspended_at = utcnow()
    db.session.commit()
    login_as(team.admin)
    assert _request(client, team, "transport").status_code == 403
    assert requests_of(db, team.partner) == []
