"""The agency's back office for partners: check manual entries, suspend and reactivate."""
from __future__ import annotations

from sqlalchemy import select

from tests.test_partners_support import add_partner, audit_actions, new_che, outbox
from tradeportal.access import StaffPermission
from tradeportal.partners.models import Partner, VerificationLetter


def _manual(client, db, login_as, user):
    login_as(user)
    url = "/partners/register/manual"
    data = {"kind": "legal_entity", "name": "Verein Saane", "identifier": new_che(), "address_line1": "Weg 1",
            "postcode": "1700", "town": "Fribourg", "country": "CH", "locale": "fr", "attest": "y"}
    assert client.post_form(url, data, token_from=url).status_code == 302
    return db.session.execute(select(Partner)).scalar_one()


def test_staff_verifies_a_manual_entry_which_queues_the_letter(client, db, make_user, login_as):
    registrant = make_user()
    partner = _manual(client, db, login_as, registrant)
    login_as(make_user(staff_permissions=[StaffPermission.PARTNERS]))
    listing = client.get("/staff/partners").get_data(as_text=True)
    assert "Verein Saane" in listing  # the default list shows entries awaiting the check
    url = f"/staff/partners/{partner.id}/verify"
    assert client.post_form(url, {}, token_from=f"/staff/partners/{partner.id}").status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).status == "letter_pending"
    assert db.session.query(VerificationLetter).filter_by(partner_id=partner.id).count() == 1
    assert "partners.manual_entry_verified" in audit_actions(db, partner.id)
    assert any("checked by the agency" in m.subject for m in outbox(db, registrant.email))


def test_staff_rejects_a_manual_entry_with_a_reason(client, db, make_user, login_as):
    registrant = make_user()
    partner = _manual(client, db, login_as, registrant)
    login_as(make_user(staff_permissions=[StaffPermission.PARTNERS]))
    url = f"/staff/partners/{partner.id}/reject"
    assert client.post_form(url, {"reason": ""}, token_from=url).status_code == 422
    client.post_form(url, {"reason": "No such company at this address."}, token_from=url)
    db.session.expire_all()
    rejected = db.session.get(Partner, partner.id)
    assert rejected.status == "rejected" and rejected.registration_key is None
    assert db.session.query(VerificationLetter).count() == 0
    assert any("No such company" in m.body_text for m in outbox(db, registrant.email))
    login_as(registrant)
    assert "No such company" in client.get(f"/partners/{partner.id}/registration").get_data(as_text=True)


def test_staff_suspends_and_reactivates(client, db, make_user, login_as):
    admin = make_user()
    partner = add_partner(db, admin)
    staff = make_user(staff_permissions=[StaffPermission.PARTNERS])
    login_as(staff)
    url = f"/staff/partners/{partner.id}/suspend"
    client.post_form(url, {"reason": "Fraud suspected"}, token_from=url)
    login_as(admin)
    assert client.get(f"/partners/{partner.id}").status_code == 403
    assert any("suspended" in m.subject for m in outbox(db, admin.email))
    login_as(staff)
    client.post_form(f"/staff/partners/{partner.id}/reactivate", {}, token_from=f"/staff/partners/{partner.id}")
    login_as(admin)
    assert client.get(f"/staff/partners/{partner.id}").status_code == 404  # not staff
    assert client.get(f"/partners/{partner.id}").status_code == 200
    assert {"partners.suspended", "partners.reactivated"} <= set(audit_actions(db, partner.id))


def test_staff_search_and_detail_show_letters_and_members(client, db, make_user, login_as):
    admin = make_user(first_name="Rita", last_name="Rhein")
    partner = add_partner(db, admin, name="Rhein Cargo AG")
    login_as(make_user(staff_permissions=[StaffPermission.PARTNERS]))
    assert "Rhein Cargo AG" in client.get("/staff/partners?q=rhein&status=all").get_data(as_text=True)
    assert "Rhein Cargo AG" in client.get(f"/staff/partners?q={partner.identifier}&status=all").get_data(as_text=True)
    assert "Rhein Cargo AG" not in client.get("/staff/partners?q=jura&status=all").get_data(as_text=True)
    detail = client.get(f"/staff/partners/{partner.id}").get_data(as_text=True)
    assert "Rita Rhein" in detail
    assert "Business partners" in client.get("/staff/?lang=en").get_data(as_text=True)
