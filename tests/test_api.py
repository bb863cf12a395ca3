"""API self-service: applications, keys shown once, download once, rotate, revoke, access rules."""
from __future__ import annotations

import json

from sqlalchemy import select

from tests.conftest import TEST_PASSWORD
from tests.test_api_support import KEY, create_application, team  # noqa: F401 - fixture
from tests.test_roles_support import add_member, add_partner, audit_actions, notifications_of
from tradeportal.access import Right
from tradeportal.api.models import ApiApplication, ApiToken
from tradeportal.audit import AuditEvent


def _token(client, keys, **data):
    data.setdefault("grant_type", "client_credentials")
    return client.post("/api/v1/token", data=data, auth=(keys["client-id"], keys["client-secret"]))


def test_create_shows_the_keys_once_and_stores_only_hashes(client, db, login_as, team):
    login_as(team.admin)
    keys, app_id, page = create_application(client, team.partner.id)
    assert page.headers["Cache-Control"] == "no-store"
    assert keys["client-secret"].startswith("tpcs_") and keys["access-token"].startswith("tpat_")
    assert keys["refresh-token"].startswith("tprt_") and len(keys["client-secret"]) >= 5 + 43
    again = client.get(f"/partners/{team.partner.id}/api/{app_id}/keys")
    assert again.status_code == 410 and not KEY.findall(again.get_data(as_text=True))
    assert keys["client-secret"] not in again.get_data(as_text=True)
    db.session.expire_all()
    application = db.session.get(ApiApplication, app_id)
    stored = json.dumps([application.client_secret_hash] + [t.token_hash for t in db.session.execute(select(ApiToken)).scalars()])
    for value in (keys["client-secret"], keys["access-token"], keys["refresh-token"]):
        assert value not in stored
    # The list shows the application with its environment, scopes and state.
    body = client.get(f"/partners/{team.partner.id}/api").get_data(as_text=True)
    assert "Customs Pro" in body and "Live" in body and "Mark notifications as read" in body and "Never" in body


def test_the_download_works_once_with_the_page_ticket(client, db, login_as, team):
    login_as(team.admin)
    keys, app_id, page = create_application(client, team.partner.id)
    html = page.get_data(as_text=True)
    import re

    fields = dict(re.findall(r'<input id="(ticket|client_secret|access_token|refresh_token)" name="\1" type="hidden" value="([^"]+)"', html))
    assert set(fields) == {"ticket", "client_secret", "access_token", "refresh_token"}
    url = f"/partners/{team.partner.id}/api/{app_id}/keys/download"
    forged = client.post_form(url, {**fields, "client_secret": "tpcs_forged"}, token_from=f"/partners/{team.partner.id}/api")
    assert forged.status_code == 410
    first = client.post_form(url, fields, token_from=f"/partners/{team.partner.id}/api")
    assert first.status_code == 200 and "attachment" in first.headers["Content-Disposition"]
    assert first.headers["Cache-Control"] == "no-store"
    data = json.loads(first.get_data(as_text=True))
    assert data["client_secret"] == keys["client-secret"] and data["client_id"] == keys["client-id"]
    second = client.post_form(url, fields, token_from=f"/partners/{team.partner.id}/api")
    assert second.status_code == 410


def test_each_action_asks_for_the_password_is_audited_and_tells_the_other_administrators(client, db, login_as, team):
    login_as(team.admin)
    url = f"/partners/{team.partner.id}/api/new"
    wrong = client.post_form(url, {"name": "Customs Pro", "scopes": ["partner:read"], "environment": "live",
                                   "password": "not-the-password"}, token_from=url)
    assert wrong.status_code == 422
    body = wrong.get_data(as_text=True)
    assert "The password is not right" in body and 'value="Customs Pro"' in body
    assert "account.reauthentication_failed" in audit_actions(db)
    empty = client.post_form(url, {"name": "", "environment": "", "password": ""}, token_from=url)
    body = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "Enter the name of the application" in body
    assert "Choose at least one thing the application may do" in body and "Choose the environment" in body
    assert db.session.execute(select(ApiApplication)).first() is None

    keys, app_id, _page = create_application(client, team.partner.id)
    rotate = f"/partners/{team.partner.id}/api/{app_id}/rotate"
    assert client.post_form(rotate, {"password": "nope"}, token_from=rotate).status_code == 422
    assert _token(client, keys).status_code == 200
    done = client.post_form(rotate, {"password": TEST_PASSWORD}, token_from=rotate)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/api/{app_id}/keys")
    assert _token(client, keys).status_code == 401  # the old secret stopped at once
    new_keys = dict(KEY.findall(client.get(done.headers["Location"]).get_data(as_text=True)))
    assert new_keys["client-secret"] != keys["client-secret"] and _token(client, new_keys).status_code == 200

    revoke = f"/partners/{team.partner.id}/api/{app_id}/revoke"
    assert client.post_form(revoke, {"password": TEST_PASSWORD}, token_from=revoke).status_code == 303
    headers = {"Authorization": f"Bearer {new_keys['access-token']}"}
    assert client.get("/api/v1/partner", headers=headers).status_code == 401
    assert _token(client, new_keys).status_code == 401
    assert client.get(revoke).status_code == 404

    actions = audit_actions(db, team.partner.id)
    for action in ("api.application_created", "api.keys_shown", "api.secret_rotated", "api.application_revoked"):
        assert action in actions
    subjects = [n.subject for n in notifications_of(db, team.deputy, "api_application")]
    assert subjects == ["API application Customs Pro created", "Secret of the API application Customs Pro replaced",
                        "API application Customs Pro revoked"]
    assert notifications_of(db, team.admin, "api_application") == []  # the actor is not told
    details = json.dumps([e.details for e in db.session.execute(select(AuditEvent)).scalars()])
    for secret in list(keys.values())[1:] + list(new_keys.values())[1:]:
        assert secret not in details


def test_who_may_use_the_pages(client, db, login_as, make_user, team):
    member = make_user()
    outsider_partner = add_partner(db, "Jura Textil SA")
    membership = add_member(db, team.partner, member, "member")
    login_as(member)
    assert client.get(f"/partners/{team.partner.id}/api").status_code == 403  # no right
    membership.rights = Right.MANAGE_API.value
    db.session.commit()
    assert client.get(f"/partners/{team.partner.id}/api").status_code == 200
    assert client.get(f"/partners/{outsider_partner.id}/api").status_code == 404  # not a member
    # A partner without a role that opens the service: the role gate explains.
    add_member(db, outsider_partner, member, "administrator")
    assert client.get(f"/partners/{outsider_partner.id}/api").status_code == 403
    from tradeportal.roles.models import Role
    from tests.test_roles_support import grant

    grant(db, outsider_partner, db.session.execute(select(Role).where(Role.code == "goods_traffic")).scalar_one())
    # Another partner's application is a 404 on every page.
    login_as(team.admin)
    _keys, app_id, _ = create_application(client, team.partner.id)
    login_as(member)
    for path in ("", "/keys", "/rotate", "/revoke", "/webhook"):
        assert client.get(f"/partners/{outsider_partner.id}/api/{app_id}{path}").status_code == 404
    anonymous = client.application.test_client()
    assert anonymous.get(f"/partners/{team.partner.id}/api").status_code == 302


def test_the_tile_links_to_api_self_service(client, db, login_as, team):
    login_as(team.admin)
    body = client.get("/dashboard").get_data(as_text=True)
    assert 'id="tile-api_self_service"' in body and f'href="/partners/{team.partner.id}/api"' in body


def test_the_list_page_costs_the_same_for_1_or_30_applications(client, db, login_as, team, count_queries):
    login_as(team.admin)
    create_application(client, team.partner.id, name="App 0")
    url = f"/partners/{team.partner.id}/api"
    client.get(url)
    with count_queries() as one:
        assert client.get(url).status_code == 200
    from tradeportal.api.services import CLIENT_ID_PREFIX
    from tradeportal.db import utcnow

    for n in range(29):
        db.session.add(ApiApplication(partner_id=team.partner.id, name=f"App {n + 1}", environment="test",
                                      scopes="partner:read", client_id=f"{CLIENT_ID_PREFIX}{n:024d}", created_at=utcnow(),
                                      created_by_id=team.admin.id, description=""))
    db.session.commit()
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert many.count == one.count
