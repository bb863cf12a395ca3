"""Rights of members: given by administrators and deputies, audited, notified; the role gate's mapping."""
from __future__ import annotations

from sqlalchemy import select

from tests.test_roles_support import add_member, audit_actions, catalogue, grant, notifications_of, team  # noqa: F401
from tradeportal.access import Right
from tradeportal.audit import AuditEvent
from tradeportal.partners.resolver import RIGHT_LABELS
from tradeportal.roles.models import SERVICES
from tradeportal.roles.services import RIGHT_SERVICE, SERVICE_LABELS


def test_every_right_belongs_to_one_known_service():
    assert set(RIGHT_SERVICE) == set(Right)
    assert set(RIGHT_SERVICE.values()) <= set(SERVICES)
    assert RIGHT_SERVICE[Right.VIEW_DOCUMENTS] == RIGHT_SERVICE[Right.UPLOAD_DOCUMENTS] == "documents"
    assert RIGHT_SERVICE[Right.MANAGE_API] == "api_self_service"
    assert RIGHT_SERVICE[Right.CREATE_CERTIFICATES] == "certificates"
    assert RIGHT_SERVICE[Right.SEND_MESSAGES] == "secure_messages"
    assert RIGHT_SERVICE[Right.VIEW_PAYMENTS] == "payments"
    assert set(RIGHT_LABELS) == set(Right) and set(SERVICE_LABELS) == set(SERVICES)


def test_an_administrator_gives_rights_to_a_member(client, db, login_as, team):
    grant(db, team.partner, team.roles["transport"])  # opens certificates and documents
    login_as(team.admin)
    overview = client.get(f"/partners/{team.partner.id}/rights").get_data(as_text=True)
    assert "Max Member" in overview and "No right" in overview and "Every right" in overview
    url = f"/partners/{team.partner.id}/members/{team.member_membership.id}/rights"
    form = client.get(url).get_data(as_text=True)
    for label in ("View documents", "Upload documents", "Manage API applications", "Create certificates",
                  "Send secure messages", "View payments"):
        assert label in form
    for service in ("Documents", "API self-service", "Certificates", "Secure messages", "Payments"):
        assert f"Service: {service}" in form
    assert "Not open yet" in form and "Goods traffic" in form  # API self-service: the roles that would open it
    response = client.post_form(url, {"rights": ["view_documents", "manage_api"]}, token_from=url)
    assert response.status_code == 302
    db.session.expire_all()
    assert team.member_membership.rights == "view_documents,manage_api"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "roles.rights_changed")).scalar_one()
    assert (event.partner_id, event.subject_user_id, event.details["to"]) == (
        team.partner.id, team.member.id, ["view_documents", "manage_api"])
    (note,) = notifications_of(db, team.member, "rights_changed")
    assert "View documents" in note.body and "Manage API applications" in note.body
    overview = client.get(f"/partners/{team.partner.id}/rights").get_data(as_text=True)
    assert "no active role opens API self-service yet" in overview
    # Saving the same rights again changes nothing and tells nobody.
    client.post_form(url, {"rights": ["manage_api", "view_documents"]}, token_from=url)
    assert len(notifications_of(db, team.member, "rights_changed")) == 1
    # Taking every right away.
    client.post_form(url, {}, token_from=url)
    db.session.expire_all()
    assert team.member_membership.rights == ""
    assert "took away your rights" in notifications_of(db, team.member, "rights_changed")[-1].body


def test_unknown_rights_are_refused(client, db, login_as, team):
    login_as(team.deputy)
    url = f"/partners/{team.partner.id}/members/{team.member_membership.id}/rights"
    response = client.post_form(url, {"rights": ["view_documents", "launch_rockets"]}, token_from=url)
    assert response.status_code == 422
    db.session.expire_all()
    assert team.member_membership.rights == ""


def test_administrators_and_deputies_hold_every_right_and_get_no_checkboxes(client, db, login_as, team):
    login_as(team.admin)
    url = f"/partners/{team.partner.id}/members/{team.deputy_membership.id}/rights"
    page = client.get(url).get_data(as_text=True)
    assert "holds every right" in page and 'type="checkbox"' not in page
    client.post_form(url, {"rights": ["view_documents"]}, token_from=url)
    db.session.expire_all()
    assert team.deputy_membership.rights == "" and "roles.rights_changed" not in audit_actions(db)


def test_only_managers_give_rights_and_only_to_their_own_members(client, db, login_as, make_user, team):
    other_member = add_member(db, team.other_partner, make_user(), "member")
    login_as(team.member)
    url = f"/partners/{team.partner.id}/members/{team.member_membership.id}/rights"
    assert client.get(url).status_code == 403
    assert client.get(f"/partners/{team.partner.id}/rights").status_code == 403
    login_as(team.admin)
    assert client.get(f"/partners/{team.partner.id}/members/{other_member.id}/rights").status_code == 404
    assert client.get(f"/partners/{team.other_partner.id}/members/{other_member.id}/rights").status_code == 404
