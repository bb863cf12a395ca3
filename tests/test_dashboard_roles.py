"""The dashboard's service tiles, pending steps and latest notifications for the partner acted for."""
from __future__ import annotations

from flask import url_for

from tests.test_roles_support import add_partner, add_role, catalogue, grant, team  # noqa: F401 - fixtures
from tradeportal.access import Right
from tradeportal.db import utcnow
from tradeportal.partners.models import AccessRequest


def _tiles(body: str) -> set[str]:
    return {s for s in ("certificates", "api_self_service", "documents", "secure_messages", "payments")
            if f'id="tile-{s}"' in body}


def test_an_administrator_sees_the_services_of_the_active_roles_and_the_pending_steps(client, db, login_as, make_user, team):
    grant(db, team.partner, team.roles["transport"])  # certificates, documents
    pending = grant(db, team.partner, team.roles["authorised_consignor"], status="pending")
    joiner = make_user(first_name="Jo", last_name="Joiner")
    request_row = AccessRequest(partner_id=team.partner.id, user_id=joiner.id, reason="I work here", status="pending",
                                created_at=utcnow())
    db.session.add(request_row)
    db.session.commit()
    login_as(team.admin)
    body = client.get("/dashboard").get_data(as_text=True)
    assert _tiles(body) == {"certificates", "documents"}
    assert "Pending steps" in body
    assert "The role Authorised consignor is waiting for the agency&#39;s review." in body
    assert f'href="/partners/{team.partner.id}/roles/requests/{pending.id}"' in body
    assert f'action="/partners/{team.partner.id}/roles/requests/{pending.id}/withdraw"' in body
    assert "Jo Joiner asks to join Rhein Handel AG." in body
    assert f'href="/partners/{team.partner.id}/access-requests/{request_row.id}"' in body
    assert f'href="/partners/{team.partner.id}/roles"' in body and f'href="/partners/{team.partner.id}/rights"' in body


def test_a_member_sees_only_the_services_of_their_rights_that_a_role_opens(client, db, login_as, team):
    grant(db, team.partner, team.roles["transport"])
    login_as(team.member)
    body = client.get("/dashboard").get_data(as_text=True)
    assert _tiles(body) == set() and "You cannot use a service for Rhein Handel AG yet" in body
    assert "Pending steps" in body and "waiting for the agency" not in body  # roles are the managers' business
    team.member_membership.rights = ",".join([Right.VIEW_DOCUMENTS.value, Right.MANAGE_API.value])
    db.session.commit()
    body = client.get("/dashboard").get_data(as_text=True)
    assert _tiles(body) == {"documents"}
    assert "take effect once a role of your business partner opens them: API self-service." in body
    assert f'href="/partners/{team.partner.id}/roles"' not in body


def test_a_partner_without_roles_is_told_to_request_them(client, db, login_as, team):
    login_as(team.admin)
    body = client.get("/dashboard").get_data(as_text=True)
    assert _tiles(body) == set()
    assert "Rhein Handel AG holds no business partner role yet" in body
    assert f'<a href="/partners/{team.partner.id}/roles">Request roles</a>' in body


def test_a_letter_waiting_for_its_code_is_a_step(client, db, login_as, team):
    waiting = add_partner(db, "Gotthard Cargo AG", status="letter_pending", registered_by_id=team.admin.id)
    login_as(team.admin)
    body = client.get("/dashboard").get_data(as_text=True)
    assert "Enter the one-time code of the verification letter for Gotthard Cargo AG." in body
    assert f'href="/partners/{waiting.id}/code"' in body


def test_a_tile_links_to_its_service_once_the_service_exists(app, client, db, login_as, team):
    from tradeportal.roles import services

    grant(db, team.partner, team.roles["transport"])  # certificates, documents
    with app.test_request_context():
        documents_url = url_for("documents.home")
    saved = dict(services.SERVICE_ENDPOINTS)
    try:
        # A service whose area does not exist in this app (an endpoint with no view): its tile is plain text.
        services.SERVICE_ENDPOINTS["certificates"] = "certificates.not_built_yet"
        login_as(team.admin)
        body = client.get("/dashboard").get_data(as_text=True)
        assert f'<h3 class="service-tile__title"><a href="{documents_url}">Documents</a></h3>' in body
        assert '<h3 class="service-tile__title">Certificates</h3>' in body
    finally:
        services.SERVICE_ENDPOINTS.clear()
        services.SERVICE_ENDPOINTS.update(saved)
    # The documents link opens the partner's documents.
    response = client.get(documents_url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/partners/{team.partner.id}/documents")


def test_latest_notifications_are_the_five_newest(client, db, login_as, team):
    from tradeportal.notifications.models import Notification

    for n in range(7):
        db.session.add(Notification(user_id=team.admin.id, kind="security", subject=f"Message number {n}", body=""))
    db.session.commit()
    login_as(team.admin)
    body = client.get("/dashboard").get_data(as_text=True)
    assert "Latest notifications" in body
    assert "Message number 6" in body and "Message number 2" in body and "Message number 1" not in body


def test_the_dashboard_costs_the_same_queries_for_1_or_20_roles_and_1_or_50_notifications(
        client, db, login_as, count_queries, team):
    from tradeportal.notifications.models import Notification

    grant(db, team.partner, team.roles["transport"])
    db.session.add(Notification(user_id=team.admin.id, kind="security", subject="First", body=""))
    db.session.commit()
    login_as(team.admin)
    client.get("/dashboard")
    with count_queries() as few:
        body = client.get("/dashboard").get_data(as_text=True)
    assert "First" in body
    for n in range(19):
        role = add_role(db, f"bulk_{n}", services="payments" if n % 2 else "secure_messages", review=bool(n % 3))
        grant(db, team.partner, role, status="active" if n % 4 else "pending")
    for n in range(49):
        db.session.add(Notification(user_id=team.admin.id, kind="security", subject=f"Bulk {n}", body=""))
    db.session.commit()
    with count_queries() as many:
        body = client.get("/dashboard").get_data(as_text=True)
    assert _tiles(body) == {"certificates", "documents", "payments", "secure_messages"}
    assert few.count == many.count, "\n".join(many.statements)


def test_withdrawing_from_the_dashboard_refreshes_the_steps_in_place(client, db, login_as, team):
    pending = grant(db, team.partner, team.roles["authorised_consignor"], status="pending")
    grant(db, team.partner, team.roles["transport"])
    login_as(team.admin)
    token = client.csrf_token("/dashboard")
    url = f"/partners/{team.partner.id}/roles/requests/{pending.id}/withdraw"
    response = client.post(url, data={"back": "dashboard"}, headers={"HX-Request": "true", "X-CSRFToken": token})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert body.startswith('<section id="dashboard-steps"') and "Authorised consignor" not in body.split("live-region")[0]
    assert "Your request for the role Authorised consignor is withdrawn." in body
    # Without JavaScript: back to the dashboard.
    pending = grant(db, team.partner, team.roles["authorised_consignee"], status="pending")
    url = f"/partners/{team.partner.id}/roles/requests/{pending.id}/withdraw"
    response = client.post_form(url, {"back": "dashboard"}, token_from="/dashboard")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")


def test_without_a_partner_the_first_set_up_is_shown(client, db, login_as, make_user, catalogue):
    login_as(make_user())
    body = client.get("/dashboard").get_data(as_text=True)
    assert "First set-up" in body and "Your services" not in body and "Pending steps" not in body
