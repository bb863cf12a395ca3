"""Registering a partner: register search, take-over, manual entry, branches, registering twice, joining."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.test_partners_support import add_entry, add_partner, audit_actions, new_che
from tradeportal.partners.models import AccessRequest, Partner, VerificationLetter


def test_search_by_name_prefix_and_identifier_is_bounded(client, db, make_user, login_as):
    login_as(make_user())
    alpen = add_entry(db, "Alpen Logistik AG")
    add_entry(db, "Alpenblick Trading SA", postcode="1201", town="Genève", legal_form="SA")
    add_entry(db, "Rhein Cargo GmbH")
    body = client.get("/partners/register?q=alpen").get_data(as_text=True)
    assert "Alpen Logistik AG" in body and "Alpenblick Trading SA" in body and "Rhein Cargo" not in body
    body = client.get(f"/partners/register?q={alpen.identifier.replace('.', ' ')}").get_data(as_text=True)
    assert "Alpen Logistik AG" in body and "Alpenblick" not in body
    body = client.get(f"/partners/register?q={alpen.identifier[:9]}").get_data(as_text=True)
    assert "Alpen Logistik AG" in body
    body = client.get("/partners/register?q=alp&postcode=12&legal_form=sa").get_data(as_text=True)
    assert "Alpenblick Trading SA" in body and "Alpen Logistik AG" not in body
    body = client.get("/partners/register?town=gen%C3%A8ve").get_data(as_text=True)
    assert "Alpenblick Trading SA" in body


def test_search_limit(client, db, make_user, login_as):
    from tradeportal.partners import services

    login_as(make_user())
    for n in range(services.SEARCH_LIMIT + 3):
        add_entry(db, f"Helvetia Import {n:02d} AG")
    result = services.search_register("helvetia")
    assert len(result.entries) == services.SEARCH_LIMIT and result.more


def test_htmx_search_returns_the_fragment_and_announces_the_count(client, db, make_user, login_as):
    login_as(make_user())
    add_entry(db, "Jura Textil AG")
    response = client.get("/partners/register?q=jura", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<td>Jura Textil AG" in body
    assert 'id="live-region"' in body and "Companies found: 1." in body
    assert "HX-Request" in response.headers["Vary"]
    page = client.get("/partners/register?q=jura").get_data(as_text=True)
    assert "<html" in page and 'hx-trigger="input changed delay:300ms, search"' in page


def test_take_over_registers_and_queues_a_letter(client, db, make_user, login_as):
    user = make_user()
    login_as(user)
    entry = add_entry(db, "Leman Food SA")
    url = f"/partners/register/take-over/{entry.id}"
    response = client.post_form(url, {"locale": "de"}, token_from=url)
    assert response.status_code == 422  # the attestation is required
    response = client.post_form(url, {"locale": "de", "attest": "y"}, token_from=url)
    assert response.status_code == 302
    partner = db.session.execute(select(Partner)).scalar_one()
    assert (partner.status, partner.identifier, partner.locale, partner.registered_by_id) == ("letter_pending", entry.identifier, "de", user.id)
    letter = db.session.execute(select(VerificationLetter)).scalar_one()
    assert letter.recipient_name == "Leman Food SA" and "3003 Bern" in letter.recipient_address
    assert "partners.registered" in audit_actions(db, partner.id)
    assert client.get(response.headers["Location"]).status_code == 200


def test_registering_twice_is_refused_and_offers_to_join(client, db, make_user, login_as):
    first = make_user()
    entry = add_entry(db, "Sarine Bois SA")
    from tradeportal.partners.services import RegistrationError, register_from_entry

    register_from_entry(first, entry, "fr")
    db.session.commit()
    login_as(make_user())
    url = f"/partners/register/take-over/{entry.id}"
    response = client.get(url)
    assert response.status_code == 409 and "/partners/join/ask?partner=" in response.get_data(as_text=True)
    with pytest.raises(RegistrationError):
        register_from_entry(first, entry, "fr")
    db.session.rollback()
    # The database itself refuses a second row with the same registration key.
    from sqlalchemy.exc import IntegrityError

    db.session.add(Partner(kind="legal_entity", status="letter_pending", source="manual", identifier=entry.identifier,
                           registration_key=entry.identifier, name="x", name_search="x", address_line1="a",
                           postcode="1", town="t", country="CH", locale="fr"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.query(Partner).count() == 1


def test_search_shows_registered_entries_as_ask_to_join(client, db, make_user, login_as):
    entry = add_entry(db, "Thur Metall AG")
    add_partner(db, make_user(), name="Thur Metall AG", identifier=entry.identifier)
    login_as(make_user())
    body = client.get("/partners/register?q=thur").get_data(as_text=True)
    assert "Already registered." in body and "Take over" not in body


def test_manual_entry_waits_for_the_agency_and_sends_no_letter(client, db, make_user, login_as):
    login_as(make_user())
    url = "/partners/register/manual"
    data = {"kind": "legal_entity", "name": "Verein Alpenblick", "identifier": "CHE-123.456.780", "address_line1": "Weg 1",
            "postcode": "3000", "town": "Bern", "country": "ch", "locale": "fr", "attest": "y"}
    response = client.post_form(url, data, token_from=url)
    assert response.status_code == 422 and "valid identification number" in response.get_data(as_text=True)
    data["identifier"] = new_che()
    response = client.post_form(url, data, token_from=url)
    assert response.status_code == 302
    partner = db.session.execute(select(Partner)).scalar_one()
    assert partner.status == "awaiting_check" and partner.country == "CH"
    assert db.session.query(VerificationLetter).count() == 0
    # Editable until the agency checked it.
    edit = f"/partners/{partner.id}/registration/edit"
    data["name"] = "Verein Alpenblick Bern"
    assert client.post_form(edit, data, token_from=edit).status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, partner.id).name == "Verein Alpenblick Bern"


def test_manual_entry_of_a_company_in_the_register_is_refused(client, db, make_user, login_as):
    login_as(make_user())
    entry = add_entry(db, "Emme Papier AG")
    url = "/partners/register/manual"
    data = {"kind": "legal_entity", "name": "Emme", "identifier": entry.identifier, "address_line1": "Weg 1",
            "postcode": "3000", "town": "Bern", "country": "CH", "locale": "fr", "attest": "y"}
    response = client.post_form(url, data, token_from=url)
    assert response.status_code == 422 and "take it over" in response.get_data(as_text=True)


def test_natural_person_needs_no_identifier(client, db, make_user, login_as):
    login_as(make_user())
    url = "/partners/register/manual"
    data = {"kind": "natural_person", "name": "Eva Muster", "address_line1": "Weg 1", "postcode": "3000",
            "town": "Bern", "country": "CH", "locale": "en", "attest": "y"}
    assert client.post_form(url, data, token_from=url).status_code == 302
    partner = db.session.execute(select(Partner)).scalar_one()
    assert partner.kind == "natural_person" and partner.identifier is None and partner.registration_key is None


def test_branch_of_the_register_takes_its_own_identifier(client, db, make_user, login_as):
    login_as(make_user())
    head = add_entry(db, "Ticino Chemie SA", address_line1="Via Nassa 5", postcode="6900", town="Lugano")
    branch = add_entry(db, "Ticino Chemie SA, succursale Bern", head=head.identifier, branch_number="0042")
    url = f"/partners/register/take-over/{branch.id}"
    assert "Via Nassa 5" in client.get(url).get_data(as_text=True)
    assert client.post_form(url, {"locale": "fr", "attest": "y"}, token_from=url).status_code == 302
    partner = db.session.execute(select(Partner)).scalar_one()
    assert partner.kind == "branch" and partner.head_office_identifier == head.identifier and partner.branch_number == "0042"


def test_manual_branch_needs_a_known_head_office(client, db, make_user, login_as):
    login_as(make_user())
    url = "/partners/register/manual"
    data = {"kind": "branch", "name": "Filiale Basel", "address_line1": "Weg 1", "postcode": "4051", "town": "Basel",
            "country": "CH", "locale": "de", "attest": "y", "head_office_identifier": new_che(), "branch_number": "7"}
    response = client.post_form(url, data, token_from=url)
    assert response.status_code == 422 and "head office" in response.get_data(as_text=True)
    head = add_entry(db, "Reuss Maschinen AG")
    data["head_office_identifier"] = head.identifier
    assert client.post_form(url, data, token_from=url).status_code == 302
    assert db.session.execute(select(Partner)).scalar_one().registration_key == f"{head.identifier}/7"
    # The same branch number of the same head office cannot be entered twice.
    response = client.post_form(url, data, token_from=url)
    assert response.status_code == 409


def test_join_search_and_access_request(client, db, make_user, login_as):
    admin = make_user()
    partner = add_partner(db, admin, name="Gotthard Freight AG")
    add_partner(db, None, name="Gotthard Private", kind="natural_person", identifier=None, registration_key=None)
    login_as(make_user())
    body = client.get("/partners/join?q=gotthard").get_data(as_text=True)
    assert "Gotthard Freight AG" in body and "Gotthard Private" not in body
    url = f"/partners/join/ask?partner={partner.id}"
    response = client.post_form(url, {"partner": partner.id, "reason": ""}, token_from=url)
    assert response.status_code == 422
    response = client.post_form(url, {"partner": partner.id, "reason": "I run the customs desk."}, token_from=url)
    assert response.status_code == 302
    request_row = db.session.execute(select(AccessRequest)).scalar_one()
    assert request_row.reason == "I run the customs desk." and request_row.status == "pending"
    from tests.test_partners_support import outbox

    assert any("asks to join" in m.subject for m in outbox(db, admin.email))
    response = client.post_form(url, {"partner": partner.id, "reason": "again"}, token_from=url)
    assert response.status_code == 422  # one pending request at a time


def test_dashboard_offers_the_first_set_up_to_a_person_without_partner(client, db, make_user, login_as):
    login_as(make_user())
    body = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert "Register my company" in body and "Ask to join my employer" in body
