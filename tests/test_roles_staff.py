"""Back office: the role catalogue and the review queue (who may, what is audited, query budget)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.test_roles_support import add_partner, add_role, audit_actions, catalogue, grant, team  # noqa: F401
from tradeportal.access import StaffPermission
from tradeportal.audit import AuditEvent
from tradeportal.roles.models import Role

STAFF_URLS = ["/staff/roles", "/staff/roles/new", "/staff/role-requests"]
NEW_ROLE = {
    "code": "excise_warehouse", "name_fr": "Entrepositaire agréé", "name_en": "Authorised warehousekeeper",
    "name_de": "Zugelassener Lagerinhaber", "description_en": "Holds goods under excise duty suspension.",
    "services": ["documents", "payments"], "needs_review": "y", "active": "y",
}


@pytest.mark.parametrize("url", STAFF_URLS)
def test_the_back_office_pages_need_the_roles_permission(client, db, make_user, login_as, catalogue, url):
    login_as(make_user())
    assert client.get(url).status_code == 404  # not staff: the back office does not exist
    login_as(make_user(staff_permissions=[StaffPermission.SUPPORT]))
    assert client.get(url).status_code == 403
    login_as(make_user(staff_permissions=[StaffPermission.ROLES]))
    assert client.get(url).status_code == 200


def test_detail_edit_and_revoke_pages_need_the_roles_permission(client, db, make_user, login_as, team):
    row = grant(db, team.partner, team.roles["transport"])
    urls = [f"/staff/roles/{team.roles['transport'].id}/edit", f"/staff/role-requests/{row.id}",
            f"/staff/role-requests/{row.id}/revoke"]
    login_as(team.admin)
    assert [client.get(u).status_code for u in urls] == [404, 404, 404]
    login_as(make_user(staff_permissions=[StaffPermission.PARTNERS]))
    assert [client.get(u).status_code for u in urls] == [403, 403, 403]
    # The POSTs too: nothing changes.
    response = client.post_form(urls[1], {"decision": "approve"}, token_from="/staff/")
    assert response.status_code == 403


def test_staff_create_a_role_in_three_languages(client, db, make_user, login_as, catalogue):
    staff_user = make_user(staff_permissions=[StaffPermission.ROLES])
    login_as(staff_user)
    menu = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/roles"' in menu and 'href="/staff/role-requests"' in menu
    response = client.post_form("/staff/roles/new", dict(NEW_ROLE, name_de="", code="Bad Code"), token_from="/staff/roles/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Enter the name in German" in body and "lower-case letters" in body
    assert 'value="Entrepositaire agréé"' in body  # values kept
    response = client.post_form("/staff/roles/new", NEW_ROLE, token_from="/staff/roles/new")
    assert response.status_code == 302
    role = db.session.execute(select(Role).where(Role.code == "excise_warehouse")).scalar_one()
    assert (role.name_de, role.services, role.needs_review, role.needs_contact, role.active) == (
        "Zugelassener Lagerinhaber", "documents,payments", True, False, True)
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "roles.role_created")).scalar_one()
    assert event.actor_user_id == staff_user.id and event.details["role"] == "excise_warehouse"
    # The code is unique.
    response = client.post_form("/staff/roles/new", NEW_ROLE, token_from="/staff/roles/new")
    assert response.status_code == 422 and "exists already" in response.get_data(as_text=True)
    # An unknown service is refused.
    response = client.post_form("/staff/roles/new", dict(NEW_ROLE, code="other", services=["teleportation"]),
                                token_from="/staff/roles/new")
    assert response.status_code == 422


def test_staff_edit_and_retire_a_role(client, db, make_user, login_as, team):
    staff_user = make_user(staff_permissions=[StaffPermission.ROLES])
    login_as(staff_user)
    transport = team.roles["transport"]
    grant(db, team.partner, transport)
    url = f"/staff/roles/{transport.id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert 'checked id="services-0"' in form and 'checked id="services-2"' in form  # certificates, documents
    assert 'checked id="services-1"' not in form
    data = {"name_fr": "Transport", "name_en": "Road transport", "name_de": "Transport", "services": ["certificates"],
            "code": "hacked"}
    response = client.post_form(url, data, token_from=url)  # not ticking "active" retires it
    assert response.status_code == 302
    db.session.expire_all()
    assert (transport.code, transport.name_en, transport.services, transport.active) == (
        "transport", "Road transport", "certificates", False)
    assert "roles.role_retired" in audit_actions(db)
    # The partner keeps the retired role; it is no longer offered to others.
    login_as(team.admin)
    assert "Road transport" in client.get(f"/partners/{team.partner.id}/roles").get_data(as_text=True)
    login_as(team.outsider)
    assert "Road transport" not in client.get(f"/partners/{team.other_partner.id}/roles").get_data(as_text=True)


def test_the_queue_lists_pending_requests_oldest_first_with_bounded_queries(
        client, db, make_user, login_as, count_queries, catalogue):
    login_as(make_user(staff_permissions=[StaffPermission.ROLES]))
    consignee = catalogue["authorised_consignee"]
    first = add_partner(db, "Aare Import AG")
    grant(db, first, consignee, status="pending", requested_by=make_user(first_name="Ivo", last_name="First"))
    with count_queries() as one:
        body = client.get("/staff/role-requests").get_data(as_text=True)
    assert "Aare Import AG" in body and "Ivo First" in body
    roles = [add_role(db, f"extra_{n}", review=True) for n in range(24)]
    for n, role in enumerate(roles):
        partner = add_partner(db, f"Zeta {n:02d} AG")
        grant(db, partner, role, status="pending", requested_by=make_user())
    with count_queries() as many:
        body = client.get("/staff/role-requests").get_data(as_text=True)
    assert one.count == many.count, many.statements
    assert body.index("Aare Import AG") < body.index("Zeta 00 AG")  # oldest first
    assert "Next page" in body
    assert "Zeta 23 AG" in client.get("/staff/role-requests?page=2").get_data(as_text=True)
    # Active roles and closed requests have their own lists; search by name.
    grant(db, first, catalogue["transport"])
    assert "Transport" in client.get("/staff/role-requests?status=active&q=aare").get_data(as_text=True)
    assert "Aare Import AG" not in client.get("/staff/role-requests?status=active&q=zeta").get_data(as_text=True)
