"""Helpers for the API tests (no tests here): a partner whose role opens API self-service, and keys."""
from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PASSWORD
from tests.test_roles_support import add_catalogue, add_member, add_partner, grant

KEY = re.compile(r'id="(client-id|client-secret|access-token|refresh-token)" type="text" value="([^"]+)"')


def api_team(db, make_user, name="Rhein Handel AG"):
    class Team:
        pass

    t = Team()
    from tradeportal.roles.models import Role

    roles = {r.code: r for r in db.session.query(Role).all()} or add_catalogue(db)
    t.partner = add_partner(db, name)
    grant(db, t.partner, roles["goods_traffic"])
    t.admin = make_user(first_name="Ada", last_name="Admin")
    t.deputy = make_user(first_name="Dora", last_name="Deputy")
    add_member(db, t.partner, t.admin, "administrator")
    add_member(db, t.partner, t.deputy, "deputy")
    return t


@pytest.fixture
def team(db, make_user):
    return api_team(db, make_user)


def create_application(client, partner_id, *, name="Customs Pro", environment="live",
                       scopes=("partner:read", "notifications:read", "notifications:write", "documents:read", "documents:write")):
    """Create through the pages; returns (keys dict, application id)."""
    url = f"/partners/{partner_id}/api/new"
    response = client.post_form(url, {"name": name, "description": "", "scopes": list(scopes),
                                      "environment": environment, "password": TEST_PASSWORD}, token_from=url)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    keys_url = response.headers["Location"]
    page = client.get(keys_url)
    assert page.status_code == 200
    keys = dict(KEY.findall(page.get_data(as_text=True)))
    application_id = int(keys_url.rstrip("/").split("/")[-2])
    return keys, application_id, page


ALL_SCOPES = ("partner:read", "notifications:read", "notifications:write", "documents:read", "documents:write")


def issue_keys(db, team, *, environment="live", scopes=ALL_SCOPES, name="Customs Pro") -> dict:
    """An application and its keys through the services (no pages): client_id, client_secret, access, refresh."""
    from tradeportal.api import services

    application = services.create_application(team.admin, team.partner, name=name, description="", scopes=list(scopes),
                                              environment=environment)
    assert services.claim_reveal(team.admin, application, "credentials")
    credentials = services.issue_credentials(team.admin, team.partner, application)
    db.session.commit()
    return {"id": application.id, "client_id": credentials.client_id, "client_secret": credentials.client_secret,
            "access": credentials.access_token, "refresh": credentials.refresh_token}


def bearer(keys: dict, **headers) -> dict:
    return {"Authorization": f"Bearer {keys['access']}", **headers}
