"""Tenancy: a member of partner A gets a 404 on every URL of partner B, and on B's objects under A's URLs."""
from __future__ import annotations

import pytest
from flask import Flask

from tests.test_partners_support import add_partner
from tradeportal.access import StaffPermission


def _partner_rules(app: Flask):
    rules = []
    for rule in app.url_map.iter_rules():
        if "partner_id" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                rules.append((rule.endpoint, rule.rule, method))
    return rules


def _all_partner_rules():
    from tradeportal import create_app

    app = create_app({"ENVIRONMENT": "testing", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return _partner_rules(app)


PARTNER_RULES = _all_partner_rules()


def test_the_matrix_covers_the_partner_routes():
    endpoints = {endpoint for endpoint, _rule, _method in PARTNER_RULES}
    for expected in ("partners.profile", "partners.members", "partners.activity", "partners.invite", "partners.leave",
                     "partners.member_role", "partners.member_remove", "partners.invitation_withdraw",
                     "partners.access_request", "partners.redeem", "partners.registration", "partners.new_letter",
                     "staff.partner"):
        assert expected in endpoints


@pytest.fixture
def two_partners(app, db, make_user):
    from tradeportal.partners.members import invite
    from tradeportal.partners.models import AccessRequest, Membership
    from tradeportal.partners.services import ask_to_join

    admin_a, admin_b, member_b, requester = make_user(), make_user(), make_user(), make_user()
    a = add_partner(db, admin_a, name="Partner A AG")
    b = add_partner(db, admin_b, name="Partner B AG", members=[(member_b, "member")])
    with app.test_request_context():
        invitation = invite(admin_b, b, "invitee@example.com", "member", "en")
        ask_to_join(requester, b, "please")
        db.session.commit()
        ids = {
            "membership_id": db.session.query(Membership).filter_by(partner_id=b.id, user_id=member_b.id).one().id,
            "invitation_id": invitation.id,
            "request_id": db.session.query(AccessRequest).filter_by(partner_id=b.id).one().id,
        }
    return a, b, admin_a, ids


def _url(rule: str, values: dict) -> str:
    url = rule
    for name, value in values.items():
        url = url.replace(f"<int:{name}>", str(value))
    return url


@pytest.mark.parametrize("endpoint, rule, method", PARTNER_RULES, ids=[f"{m} {r}" for _e, r, m in PARTNER_RULES])
def test_member_of_a_gets_404_on_every_url_of_b(client, login_as, two_partners, endpoint, rule, method):
    a, b, admin_a, ids = two_partners
    login_as(admin_a)
    url = _url(rule, {"partner_id": b.id, **ids})
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post_form(url, {"role": "member", "code": "ABCDE-23456", "accept_terms": "y",
                                          "decision": "approve", "reason": "x"}, token_from="/dashboard")
    assert response.status_code == 404, f"{method} {url} answered {response.status_code}"


OBJECT_RULES = [r for r in PARTNER_RULES if any(f"<int:{n}>" in r[1] for n in ("membership_id", "invitation_id", "request_id"))]


@pytest.mark.parametrize("endpoint, rule, method", OBJECT_RULES, ids=[f"{m} {r}" for _e, r, m in OBJECT_RULES])
def test_objects_of_b_under_the_urls_of_a_are_404(client, login_as, two_partners, endpoint, rule, method):
    a, b, admin_a, ids = two_partners
    login_as(admin_a)
    url = _url(rule, {"partner_id": a.id, **ids})
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post_form(url, {"role": "administrator", "decision": "approve"}, token_from="/dashboard")
    assert response.status_code == 404, f"{method} {url} answered {response.status_code}"


def test_nothing_changed_for_b(client, db, login_as, two_partners):
    from tradeportal.partners.models import AccessRequest, Invitation, Membership

    a, b, admin_a, ids = two_partners
    login_as(admin_a)
    client.post_form(f"/partners/{a.id}/members/{ids['membership_id']}/remove", {}, token_from="/dashboard")
    client.post_form(f"/partners/{a.id}/invitations/{ids['invitation_id']}/withdraw", {}, token_from="/dashboard")
    db.session.expire_all()
    assert db.session.get(Membership, ids["membership_id"]) is not None
    assert db.session.get(Invitation, ids["invitation_id"]).withdrawn_at is None
    assert db.session.get(AccessRequest, ids["request_id"]).status == "pending"


def test_suspended_partner_shows_a_clear_page(client, db, make_user, login_as):
    from tradeportal.db import utcnow

    admin = make_user()
    partner = add_partner(db, admin, suspended_at=utcnow(), suspension_reason="Unpaid fees")
    login_as(admin)
    response = client.get(f"/partners/{partner.id}?lang=en")
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "suspended" in body and "Unpaid fees" in body


def test_resolver_without_partner_in_the_url_uses_the_partner_acted_for(app, db, make_user):
    from flask import session
    from flask_login import login_user

    from tradeportal.access import Right
    from tradeportal.partners.resolver import ACTING_KEY, resolve_partner

    user, other = make_user(), make_user()
    first = add_partner(db, user, name="First AG")
    add_partner(db, other, name="Foreign AG")
    with app.test_request_context("/documents"):
        login_user(user)
        partner, membership = resolve_partner(user, None, False)
        assert partner.id == first.id  # the only one
        second = add_partner(db, user, name="Second AG")
    with app.test_request_context("/documents"):
        login_user(user)
        assert resolve_partner(user, None, False).status_code == 302  # several: choose first
    with app.test_request_context("/documents"):
        login_user(user)
        session[ACTING_KEY] = second.id
        partner, membership = resolve_partner(user, None, False)
        assert partner.id == second.id
        assert resolve_partner(user, Right.UPLOAD_DOCUMENTS, True)[0].id == second.id  # administrators hold every right


def test_member_without_a_right_gets_a_403_that_names_it(app, db, make_user):
    from flask import session
    from flask_login import login_user

    from tradeportal.access import Right
    from tradeportal.partners.resolver import ACTING_KEY, resolve_partner

    admin, member = make_user(), make_user()
    partner = add_partner(db, admin, members=[(member, "member")])
    with app.test_request_context("/documents/upload?lang=en"):
        login_user(member)
        session[ACTING_KEY] = partner.id
        response = resolve_partner(member, Right.UPLOAD_DOCUMENTS, False)
        assert response.status_code == 403
        body = response.get_data(as_text=True)
        assert "Upload documents" in body and admin.full_name in body
    from tradeportal.partners.models import Membership

    row = db.session.query(Membership).filter_by(user_id=member.id).one()
    row.rights = "upload_documents"
    db.session.commit()
    with app.test_request_context("/documents/upload"):
        login_user(member)
        session[ACTING_KEY] = partner.id
        assert resolve_partner(member, Right.UPLOAD_DOCUMENTS, False)[0].id == partner.id


def test_staff_without_partners_permission_cannot_see_partners(client, db, make_user, login_as):
    partner = add_partner(db, make_user())
    login_as(make_user(staff_permissions=[StaffPermission.LETTERS]))
    assert client.get(f"/staff/partners/{partner.id}").status_code == 403


def test_a_session_naming_another_persons_partner_reads_nothing_of_it(client, db, login_as, two_partners):
    """The session's statement reads the membership of the partner the session names (issue #9):
    only the signed-in person's own. A session naming partner B (as after leaving B) shows nothing
    of B: B's pages are 404, the header does not name it, A's pages work."""
    a, b, admin_a, _ids = two_partners
    login_as(admin_a)
    with client.session_transaction() as session:
        session["acting_partner_id"] = b.id
    for url in (f"/partners/{b.id}", f"/partners/{b.id}/members", f"/partners/{b.id}/documents"):
        assert client.get(url).status_code == 404, url
    with client.session_transaction() as session:
        session["acting_partner_id"] = b.id
    inbox = client.get("/notifications?lang=en").get_data(as_text=True)
    assert "Partner B AG" not in inbox and "Partner A AG" in inbox  # alone, A is the one acted for
    assert client.get(f"/partners/{a.id}").status_code == 200


def test_a_member_removed_while_acting_for_the_partner_loses_it_at_once(client, db, login_as, make_user):
    """Acting for a partner is no permission: the next request after the membership ends is a 404."""
    from tradeportal.partners.models import Membership

    admin, colleague = make_user(), make_user()
    partner = add_partner(db, admin, name="Leaving AG", members=[(colleague, "member")])
    login_as(colleague)
    assert client.get(f"/partners/{partner.id}").status_code == 200  # now acting for it
    db.session.query(Membership).filter_by(partner_id=partner.id, user_id=colleague.id).delete()
    db.session.commit()
    assert client.get(f"/partners/{partner.id}").status_code == 404
    assert "Leaving AG" not in client.get("/notifications?lang=en").get_data(as_text=True)
