"""Query budgets (issue #9): every page's number of SQL statements, asserted exactly,
and the same with 1 and with 50 rows of what it lists.

A change that adds a query to a page makes these fail on purpose: either the query
is needed (then raise the budget here, in the same change, and say why) or it is a
regression (an N+1, a lazy load, a lookup repeated in the same request).
"""
from __future__ import annotations

import pytest

from tradeportal.access import StaffPermission
from tradeportal.db import utcnow

# Statements per page for a signed-in member acting for one active partner. The shared part of
# every signed-in page is 1 statement: the session with its person, the unread count of the bell,
# the header's partners, and the membership of the partner acted for with that partner and the
# services of its roles (auth.sessions; partners.resolver then needs no memberships query on that
# partner's pages, nor the roles' gate a services query).
BUDGET = {
    "dashboard": 4,  # one query for the registrations, letter steps and own access requests; one for the partner's role and access requests; the latest notifications
    "inbox": 2,  # the session statement brings the header (bell count, partner acted for)
    "inbox_filtered": 2,
    "search": 2,  # the htmx fragment: no header, so only the session and the search
    "members": 4,
    "roles": 3,
    "staff_queue": 2,
    "documents": 3,  # the categories (names, filter), the page of documents
}


@pytest.fixture
def world(db, make_user):
    """A member administrating an active partner that holds one role."""
    from tradeportal.partners.models import Membership, Partner
    from tradeportal.roles.models import Role, RoleRequest

    me = make_user()
    partner = _partner(db, "Alpen Logistik AG", "CHE-100.000.001")
    db.session.add(Membership(partner_id=partner.id, user_id=me.id, role="administrator", rights=""))
    role = Role(code="goods", name_fr="Marchandises", name_en="Goods", name_de="Waren",
                services="certificates,api_self_service,documents")
    db.session.add(role)
    db.session.flush()
    db.session.add(RoleRequest(partner_id=partner.id, role_id=role.id, status="active", requested_by_id=me.id,
                               activated_at=utcnow()))
    db.session.commit()
    return {"me": me, "partner": partner, "role": role}


def _partner(db, name, identifier):
    from tradeportal.partners.models import Partner

    partner = Partner(kind="legal_entity", status="active", source="register", identifier=identifier,
                      registration_key=identifier, name=name, name_search=name.lower(), legal_form="AG",
                      address_line1="Bahnhofstrasse 1", postcode="3003", town="Bern", country="CH", locale="en",
                      activated_at=utcnow())
    db.session.add(partner)
    db.session.flush()
    return partner


def _count(client, count_queries, url, headers=None, status=200):
    client.get(url, headers=headers)  # warm: nothing cached from an earlier page counts
    with count_queries() as counter:
        response = client.get(url, headers=headers)
    assert response.status_code == status, (url, response.status_code)
    return counter


def _budget(name, one, fifty):
    assert one.count == fifty.count, (name, one.count, fifty.count, fifty.statements)
    assert fifty.count == BUDGET[name], (name, fifty.count, "\n".join(s.split("\n")[0][:120] for s in fifty.statements))


def _notifications(db, user, count, start=0):
    from tradeportal.notifications.models import Notification

    db.session.add_all([Notification(user_id=user.id, kind="security", subject=f"n{start + i}", body="",
                                     created_at=utcnow()) for i in range(count)])
    db.session.commit()


def test_dashboard_and_inbox_budgets_for_1_and_50_notifications(client, db, world, login_as, count_queries):
    login_as(world["me"])
    _notifications(db, world["me"], 1)
    urls = {"dashboard": "/dashboard", "inbox": "/notifications",
            "inbox_filtered": "/notifications?state=unread&kind=security&date_from=2020-01-01"}
    one = {name: _count(client, count_queries, url) for name, url in urls.items()}
    _notifications(db, world["me"], 49, start=1)
    for name, url in urls.items():
        _budget(name, one[name], _count(client, count_queries, url))


def test_partner_search_fragment_budget_for_1_and_50_partners(client, db, world, login_as, count_queries):
    login_as(world["me"])
    headers = {"HX-Request": "true"}
    url = "/partners/join?q=rhein"
    _partner(db, "Rhein Cargo 0 AG", "CHE-200.000.000")
    db.session.commit()
    one = _count(client, count_queries, url, headers)
    for i in range(1, 50):
        _partner(db, f"Rhein Cargo {i} AG", f"CHE-200.000.{i:03d}")
    db.session.commit()
    _budget("search", one, _count(client, count_queries, url, headers))


def test_members_page_budget_for_1_and_50_members(client, db, world, login_as, make_user, count_queries):
    from tradeportal.partners.models import Membership

    login_as(world["me"])
    url = f"/partners/{world['partner'].id}/members"
    one = _count(client, count_queries, url)
    for _ in range(49):
        db.session.add(Membership(partner_id=world["partner"].id, user_id=make_user().id, role="member", rights=""))
    db.session.commit()
    _budget("members", one, _count(client, count_queries, url))


def test_roles_page_budget_for_1_and_50_role_requests(client, db, world, login_as, count_queries):
    from tradeportal.roles.models import RoleRequest

    login_as(world["me"])
    url = f"/partners/{world['partner'].id}/roles"
    one = _count(client, count_queries, url)
    # The history: closed requests of the same role (open ones are one per role).
    db.session.add_all([RoleRequest(partner_id=world["partner"].id, role_id=world["role"].id, status="rejected",
                                    requested_by_id=world["me"].id, decided_at=utcnow(), reason="no")
                        for _ in range(49)])
    db.session.commit()
    _budget("roles", one, _count(client, count_queries, url))


def test_staff_role_queue_budget_for_1_and_50_pending_requests(client, db, world, login_as, make_user, count_queries):
    from tradeportal.roles.models import RoleRequest

    staff = make_user(staff_permissions=[StaffPermission.ROLES])
    login_as(staff)

    def pending(i):
        partner = _partner(db, f"Queue {i} AG", f"CHE-300.000.{i:03d}")
        db.session.add(RoleRequest(partner_id=partner.id, role_id=world["role"].id, status="pending",
                                   requested_by_id=world["me"].id))

    pending(0)
    db.session.commit()
    one = _count(client, count_queries, "/staff/role-requests")
    for i in range(1, 50):
        pending(i)
    db.session.commit()
    _budget("staff_queue", one, _count(client, count_queries, "/staff/role-requests"))


def test_documents_list_budget_for_1_and_50_documents(app, client, db, world, login_as, count_queries):
    if "documents.index" not in app.view_functions:
        pytest.skip("the documents area is not built yet")
    from tradeportal.documents.models import Category, Document, Upload

    login_as(world["me"])
    category = Category(name_fr="Factures", name_en="Invoices", name_de="Rechnungen")
    db.session.add(category)
    db.session.flush()
    upload = Upload(partner_id=world["partner"].id, category_id=category.id, case_number="12345678",
                    status="received", reference="R-0001", created_by_user_id=world["me"].id)
    db.session.add(upload)
    db.session.flush()

    def documents(start, count):
        for i in range(start, start + count):
            db.session.add(Document(partner_id=world["partner"].id, upload_id=upload.id, category_id=category.id,
                                    case_number="12345678", display_name=f"invoice-{i}.pdf", stored_name=f"s{i:063d}",
                                    sha256="0" * 64, size=1000, content_type="application/pdf", status="received",
                                    received_at=utcnow(), uploaded_by_user_id=world["me"].id))
        db.session.commit()

    documents(0, 1)
    url = f"/partners/{world['partner'].id}/documents"
    one = _count(client, count_queries, url)
    documents(1, 49)
    _budget("documents", one, _count(client, count_queries, url))


def test_a_person_of_two_partners_loads_the_memberships_only_where_the_session_cannot_answer(
        client, db, world, login_as, count_queries):
    """The session's statement reads one membership: of the partner chosen in the session, else of
    the first. With two partners, the dashboard before a choice needs the list (one statement more);
    a page of the chosen partner does not; a page of the other partner loads the list and shows it."""
    from tradeportal.partners.models import Membership

    other = _partner(db, "Zeta Zoll GmbH", "CHE-400.000.001")
    db.session.add(Membership(partner_id=other.id, user_id=world["me"].id, role="administrator", rights=""))
    db.session.commit()
    login_as(world["me"])
    chooser = client.get("/dashboard")
    assert chooser.status_code == 302 and "/partners/choose" in chooser.headers["Location"]
    documents = f"/partners/{world['partner'].id}/documents"
    assert _count(client, count_queries, documents).count == BUDGET["documents"]
    # The other partner's page: the session names the first partner, so the list is loaded.
    other_page = client.get(f"/partners/{other.id}/documents")
    assert other_page.status_code == 403  # no role opens documents there
    assert b"Zeta Zoll GmbH" in other_page.data
    # Now acting for the other partner: its pages are answered by the session's statement again.
    assert _count(client, count_queries, f"/partners/{other.id}/members").count == BUDGET["members"]
    assert _count(client, count_queries, "/dashboard").count == BUDGET["dashboard"] + 1  # the list of both


def test_the_inbox_names_the_partner_acted_for_without_a_query(client, db, world, login_as, count_queries):
    """Notifications about the partner acted for take its name from the session's statement; a
    partner the request has not read (the person left it, say) is named by one more query."""
    from tradeportal.notifications.models import Notification

    login_as(world["me"])
    db.session.add_all([Notification(user_id=world["me"].id, kind="security", subject=f"own {i}", body="",
                                     partner_id=world["partner"].id) for i in range(3)])
    db.session.commit()
    client.get(f"/partners/{world['partner'].id}")  # acting for it
    own = _count(client, count_queries, "/notifications?lang=en")
    assert own.count == BUDGET["inbox"]
    former = _partner(db, "Former Freight AG", "CHE-500.000.001")
    db.session.add(Notification(user_id=world["me"].id, kind="security", subject="old", body="", partner_id=former.id))
    db.session.commit()
    both = _count(client, count_queries, "/notifications?lang=en")
    assert both.count == BUDGET["inbox"] + 1
    page = client.get("/notifications?lang=en").get_data(as_text=True)
    assert "Former Freight AG" in page and "Alpen Logistik AG" in page
