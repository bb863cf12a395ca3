"""The rights × roles matrix for every gated route: a page is served only with both.

Built from `app.url_map`: every rule whose view is `partner_member(right)`. The
services themselves (documents, API self-service, …) are later issues, so the
app under test also carries one probe route per right, with and without a
partner id in the URL; their views only say "served". Routes the later issues
add are checked here automatically.
"""
from __future__ import annotations

import pytest
from flask import Blueprint, g, url_for
from sqlalchemy import delete

from tests.conftest import PortalClient
from tests.test_roles_support import add_member, add_partner, add_role, catalogue  # noqa: F401 - fixture
from tradeportal.access import Right, partner_member
from tradeportal.partners.models import Membership
from tradeportal.partners.resolver import RIGHT_LABELS
from tradeportal.roles.models import SERVICES, RoleRequest
from tradeportal.roles.services import RIGHT_SERVICE, SERVICE_LABELS

CONFIG_KEYS = ("TESTING", "SECRET_KEY", "INSTANCE_PATH", "SQLALCHEMY_DATABASE_URI", "RATELIMIT_ENABLED", "SMTP_HOST",
               "BASE_URL", "UPLOAD_DIR")


def probe_blueprint() -> Blueprint:
    bp = Blueprint("rights_probe", __name__)
    for right in Right:
        def view(partner_id=None, _right=right):
            return f"served {_right.value} for {g.partner.name}"

        bp.add_url_rule(f"/probe/partners/<int:partner_id>/{right.value}", f"partner_{right.value}",
                        partner_member(right)(view))
        bp.add_url_rule(f"/probe/acting/{right.value}", f"acting_{right.value}", partner_member(right)(view))
    return bp


def make_probe_app(app):
    """The same application (same database and secret), plus the probe routes."""
    from tradeportal import create_app

    config = {key: app.config[key] for key in CONFIG_KEYS}
    probe = create_app(dict(config, ENVIRONMENT="testing"))
    probe.register_blueprint(probe_blueprint())
    probe.test_client_class = PortalClient
    return probe


@pytest.fixture(scope="module")
def probe_app(app):
    return make_probe_app(app)


def gated_rules(app) -> list:
    rules = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if getattr(view, "access", None) == "partner_member" and getattr(view, "access_detail", None):
            rules.append((rule, Right(view.access_detail)))
    return sorted(rules, key=lambda pair: pair[0].rule)


def _url(app, rule, partner_id) -> str:
    values = {}
    for name in rule.arguments:
        values[name] = partner_id if name == "partner_id" else (999_999 if "id" in name else "x")
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _call(client, rule, url):
    if "GET" in rule.methods:
        return client.get(url)
    return client.post_form(url, {}, token_from="/dashboard")


def english(app, label) -> str:
    with app.test_request_context("/?lang=en"):
        return str(label)


def _simple(rule) -> bool:
    return set(rule.arguments) <= {"partner_id"} and "GET" in rule.methods


@pytest.fixture
def world(db, make_user, catalogue, probe_app, login_as):
    """A partner with its administrator and a member; for each service, a role opening only it and one opening all others."""

    class World:
        pass

    w = World()
    w.partner = add_partner(db, "Matrix Handel AG")
    w.admin = make_user(first_name="Ada", last_name="Admin")
    w.member = make_user(first_name="Max", last_name="Member")
    add_member(db, w.partner, w.admin, "administrator")
    w.membership = add_member(db, w.partner, w.member, "member")
    w.only = {s: add_role(db, f"only_{s}", services=s, name=f"Only {s}") for s in SERVICES}
    w.all_but = {s: add_role(db, f"all_but_{s}", services=",".join(x for x in SERVICES if x != s), name=f"All but {s}")
                 for s in SERVICES}
    w.client = probe_app.test_client()

    def set_role(role):
        db.session.execute(delete(RoleRequest).where(RoleRequest.partner_id == w.partner.id))
        db.session.add(RoleRequest(partner_id=w.partner.id, role_id=role.id, status="active"))
        db.session.commit()

    def set_rights(rights):
        db.session.get(Membership, w.membership.id).rights = ",".join(r.value for r in rights)
        db.session.commit()

    w.set_role, w.set_rights = set_role, set_rights
    w.login = lambda user: login_as(user, w.client)
    return w


def test_the_matrix_covers_every_right(probe_app):
    rules = gated_rules(probe_app)
    assert {right for _rule, right in rules} == set(Right)
    assert len(rules) >= 2 * len(Right)


@pytest.mark.parametrize("has_right, has_role", [(True, True), (True, False), (False, True), (False, False)])
def test_a_member_needs_the_right_and_a_role_that_opens_its_service(probe_app, db, world, has_right, has_role):
    world.login(world.member)
    failures = []
    for rule, right in gated_rules(probe_app):
        service = RIGHT_SERVICE[right]
        world.set_rights([right] if has_right else [r for r in Right if r != right])
        world.set_role(world.only[service] if has_role else world.all_but[service])
        response = _call(world.client, rule, _url(probe_app, rule, world.partner.id))
        body = response.get_data(as_text=True)
        where = f"{rule.rule} ({right.value}, right={has_right}, role={has_role})"
        if has_right and has_role:
            if _simple(rule) and response.status_code not in (200, 302):
                failures.append(f"{where}: {response.status_code}, expected the page")
            elif response.status_code in (403, 404) and _simple(rule) or "<h1>You do not have access" in body:
                failures.append(f"{where}: {response.status_code}")
            continue
        if response.status_code != 403 or "<h1>" not in body or "Ada Admin" not in body:
            failures.append(f"{where}: {response.status_code}, expected the explanation page naming the administrator")
        elif not has_right and english(probe_app, RIGHT_LABELS[right]) not in body:
            failures.append(f"{where}: the page does not name the missing right")
        elif has_right and not has_role and (
                f"has no role that opens this service: {english(probe_app, SERVICE_LABELS[service])}." not in body
                or f"Only {service}" not in body):
            failures.append(f"{where}: the page does not name the missing service and the roles that open it")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("has_role", [True, False])
def test_administrators_hold_every_right_but_still_need_the_role(probe_app, db, world, has_role):
    world.login(world.admin)
    failures = []
    for rule, right in gated_rules(probe_app):
        service = RIGHT_SERVICE[right]
        world.set_role(world.only[service] if has_role else world.all_but[service])
        response = _call(world.client, rule, _url(probe_app, rule, world.partner.id))
        if has_role and _simple(rule) and response.status_code not in (200, 302):
            failures.append(f"{rule.rule}: {response.status_code}")
        if not has_role:
            body = response.get_data(as_text=True)
            if response.status_code != 403 or "Go to the roles of Matrix Handel AG" not in body:
                failures.append(f"{rule.rule}: {response.status_code}, expected the link to the roles page")
    assert not failures, "\n".join(failures)


def test_a_member_of_another_partner_gets_404(probe_app, db, make_user, world):
    outsider = make_user()
    other = add_partner(db, "Elsewhere SA")
    add_member(db, other, outsider, "administrator")
    for role in world.only.values():
        db.session.add(RoleRequest(partner_id=other.id, role_id=role.id, status="active"))
    db.session.commit()
    world.login(outsider)
    checked = 0
    for rule, _right in gated_rules(probe_app):
        if "partner_id" not in rule.arguments:
            continue
        response = _call(world.client, rule, _url(probe_app, rule, world.partner.id))
        assert response.status_code == 404, rule.rule
        checked += 1
    assert checked >= len(Right)


def test_the_probe_serves_the_page_with_both(probe_app, db, world):
    world.login(world.member)
    world.set_rights([Right.MANAGE_API])
    world.set_role(world.only["api_self_service"])
    response = world.client.get(f"/probe/partners/{world.partner.id}/manage_api")
    assert response.status_code == 200 and response.get_data(as_text=True) == "served manage_api for Matrix Handel AG"
    assert world.client.get("/probe/acting/manage_api").status_code == 200
