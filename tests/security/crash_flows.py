"""The flows of part 8 (crash consistency) (no tests here).

A flow names the service functions its view calls (`entries`: their calls are the steps),
makes a fresh target for each fault (`setup`), runs the action through HTTP (`act`) and
says what a success leaves behind (`done`). Targets are fresh so that one world serves
every fault of a flow: the snapshot before each faulted request is the state to keep.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

from tradeportal import extensions as ext

from .crash_world import count, grant, member, n, partner, role
from .crash_world import World, orphan_files, refused  # noqa: F401 - the test module's entry to the world
from .world_areas import PDF

TEXT = "Liste des marchandises – Zürich, 3 palettes\n".encode("utf-8")


# --- the flows ------------------------------------------------------------------------------

@dataclass
class Flow:
    name: str  # the figure's key
    entries: Callable  # () -> [service functions the view calls]
    setup: Callable  # (world) -> target, committed
    act: Callable  # (world, target) -> response
    done: Callable  # (world, target, response) -> None; asserts the action happened completely
    mails: int = 0  # e-mails a success sends


def _entries_partners_take_over():
    from tradeportal.partners import services

    return [services.register_from_entry]


def _setup_take_over(w):
    from tradeportal.partners.models import RegisterEntry

    k = n()
    entry = RegisterEntry(identifier=f"CHE-{k:03d}.900.00{k % 10}", name=f"Register Crash {k} AG",
                          name_search=f"register crash {k} ag", legal_form="AG", address_line1=f"Emmenweg {k}",
                          postcode="3400", town="Burgdorf", country="CH")
    ext.db.session.add(entry)
    ext.db.session.commit()
    return entry.id


def _done_take_over(w, entry_id, response):
    from tradeportal.partners.models import Partner, RegisterEntry, VerificationLetter

    entry = ext.db.session.get(RegisterEntry, entry_id)
    assert response.status_code == 302, response.status_code
    found = ext.db.session.execute(select(Partner).where(Partner.registration_key == entry.identifier)).scalar_one()
    assert found.status == "letter_pending"
    assert count(VerificationLetter, VerificationLetter.partner_id == found.id) == 1


TAKE_OVER = Flow(
    "registration_take_over", _entries_partners_take_over, _setup_take_over,
    lambda w, entry_id: w.client(w.registrant).post(f"/partners/register/take-over/{entry_id}",
                                                    data={"locale": "en", "attest": "y"}),
    _done_take_over,
)


def _done_manual(w, name, response):
    from tradeportal.partners.models import Partner

    assert response.status_code == 302, response.status_code
    row = ext.db.session.execute(select(Partner).where(Partner.name == name)).scalar_one()
    assert row.status == "awaiting_check" and row.registered_by_id == w.registrant.id


def _entries_manual():
    from tradeportal.partners import services

    return [services.register_manual]


MANUAL = Flow(
    "registration_manual_entry", _entries_manual, lambda w: f"Private Person {n()}",
    lambda w, name: w.client(w.registrant).post("/partners/register/manual", data={
        "kind": "natural_person", "name": name, "address_line1": "Seeweg 1", "postcode": "3003", "town": "Bern",
        "country": "CH", "locale": "en", "attest": "y"}),
    _done_manual,
)


def _setup_verify(w):
    return partner("awaiting_check", source="manual", registered_by_id=w.registrant.id).id


def _done_verify(w, partner_id, response):
    from tradeportal.notifications.models import Notification
    from tradeportal.partners.models import Partner, VerificationLetter

    assert response.status_code == 302, response.status_code
    row = ext.db.session.get(Partner, partner_id)
    ext.db.session.refresh(row)
    assert row.status == "letter_pending", row.status
    assert count(VerificationLetter, VerificationLetter.partner_id == partner_id) == 1
    assert count(Notification, Notification.partner_id == partner_id, Notification.user_id == w.registrant.id) == 1


def _entries_verify():
    from tradeportal.partners import staff_services

    return [staff_services.verify_manual_entry]


VERIFY = Flow(
    "registration_agency_check", _entries_verify, _setup_verify,
    lambda w, partner_id: w.client(w.staff).post(f"/staff/partners/{partner_id}/verify", data={}),
    _done_verify, mails=1,
)


def _setup_redeem(w):
    from tradeportal.partners import letters

    row = partner("letter_pending", registered_by_id=w.registrant.id)
    letter = letters.queue_letter(row, w.registrant)
    code = letters.format_code(letter.code_plain)
    ext.db.session.commit()
    return row.id, code


def _done_redeem(w, target, response):
    from tradeportal.partners.models import Membership, Partner

    partner_id, _code = target
    assert response.status_code == 302 and "/registration" not in response.headers["Location"], response.status_code
    row = ext.db.session.get(Partner, partner_id)
    ext.db.session.refresh(row)
    assert row.status == "active"
    assert count(Membership, Membership.partner_id == partner_id, Membership.role == "administrator") == 1


def _entries_redeem():
    from tradeportal.partners import letters

    return [letters.redeem_code]


REDEEM = Flow(
    "registration_letter_code", _entries_redeem, _setup_redeem,
    lambda w, t: w.client(w.registrant).post(f"/partners/{t[0]}/code", data={"code": t[1], "accept_terms": "y"}),
    _done_redeem,
)


def _setup_join(w):
    row = partner()
    member(row, w.admin, "administrator")
    member(row, w.deputy, "deputy")
    member(row, w.quiet, "deputy")
    return row.id


def _done_join(w, partner_id, response):
    from tradeportal.notifications.models import Notification
    from tradeportal.partners.models import AccessRequest

    assert response.status_code == 302, response.status_code
    assert count(AccessRequest, AccessRequest.partner_id == partner_id, AccessRequest.status == "pending") == 1
    assert count(Notification, Notification.partner_id == partner_id) == 3


def _entries_join():
    from tradeportal.partners import services

    return [services.ask_to_join]


JOIN = Flow(
    "registration_join_request", _entries_join, _setup_join,
    lambda w, partner_id: w.client(w.registrant).post("/partners/join/ask",
                                                      data={"partner": str(partner_id), "reason": "I work there."}),
    _done_join, mails=2,
)


def _new_draft(w, files=()):
    from tradeportal.documents import services as docs

    draft = docs.create_draft(w.docs_partner.id, w.quiet, w.category, "8000000683")
    if files:
        staged, errors = docs.stage_files(draft, [docs.IncomingFile(name, io.BytesIO(data)) for data, name in files])
        assert len(staged) == len(files) and not errors
    ext.db.session.commit()
    return draft.id


def _draft_url(w, draft_id):
    return f"/partners/{w.docs_partner.id}/documents/uploads/{draft_id}"


def _done_stage(w, draft_id, response):
    from tradeportal.documents.models import Document

    assert response.status_code == 302, response.status_code
    assert count(Document, Document.upload_id == draft_id, Document.status == "staged") == 2


def _entries_documents():
    from tradeportal.documents import services as docs

    return [docs.stage_files]


STAGE = Flow(
    "upload_add_files", _entries_documents, lambda w: _new_draft(w),
    lambda w, draft_id: w.client(w.quiet).post(
        f"{_draft_url(w, draft_id)}/files", content_type="multipart/form-data",
        data={"files": [(io.BytesIO(PDF), "invoice.pdf"), (io.BytesIO(TEXT), "goods.txt")]}),
    _done_stage,
)


def _done_send(w, draft_id, response):
    from tradeportal.documents.models import Upload

    assert response.status_code == 302, response.status_code
    assert ext.db.session.execute(select(Upload.status).where(Upload.id == draft_id)).scalar_one() == "received"


def _entries_send():
    from tradeportal.documents import services as docs

    return [docs.send_draft]


SEND = Flow(
    "upload_send", _entries_send, lambda w: _new_draft(w, [(PDF, "invoice.pdf"), (TEXT, "goods.txt")]),
    lambda w, draft_id: w.client(w.quiet).post(f"{_draft_url(w, draft_id)}/send", data={}),
    _done_send,
)


def _setup_api(w):
    if not hasattr(w, "api_token"):
        from tests.security.world_areas import api_token_for

        w.db = ext.db
        w.api_token = api_token_for(w, w.docs_partner)
    return n()


def _done_api(w, k, response):
    from tradeportal.documents.models import Upload

    assert response.status_code == 201, (response.status_code, response.get_data(as_text=True)[:300])
    reference = response.get_json()["reference"]
    assert count(Upload, Upload.reference == reference, Upload.status == "received") == 1


def _entries_api():
    from tradeportal.documents import services as docs

    return [docs.receive_files]


API_UPLOAD = Flow(
    "upload_api", _entries_api, _setup_api,
    lambda w, k: w.app.test_client().post(
        "/api/v1/documents", headers={"Authorization": f"Bearer {w.api_token}"}, content_type="multipart/form-data",
        data={"category": str(w.category.id), "case_number": f"C{k}",
              "file": [(io.BytesIO(PDF), "invoice.pdf"), (io.BytesIO(TEXT), "goods.txt")]}),
    _done_api,
)


def _setup_request(w):
    return role(f"crash_request_{n()}", review=True).id


def _done_request(w, role_id, response):
    from tradeportal.roles.models import RoleRequest

    assert response.status_code == 302, response.status_code
    assert count(RoleRequest, RoleRequest.partner_id == w.docs_partner.id, RoleRequest.role_id == role_id,
                 RoleRequest.status == "pending") == 1


def _entries_request():
    from tradeportal.roles import grants

    return [grants.request_role]


ROLE_REQUEST = Flow(
    "role_request", _entries_request, _setup_request,
    lambda w, role_id: w.client(w.admin).post(f"/partners/{w.docs_partner.id}/roles/{role_id}/request", data={}),
    _done_request,
)


def _setup_decision(w):
    row = partner()
    member(row, w.admin, "administrator")
    member(row, w.deputy, "deputy")
    member(row, w.quiet, "deputy")
    member(row, w.viewer, "member")  # not a manager: not told
    request_row = grant(row, role(f"crash_role_{n()}", review=True), status="pending")
    return request_row.id


def _decided(status):
    def done(w, request_id, response):
        from tradeportal.notifications.models import Notification
        from tradeportal.roles.models import RoleRequest

        assert response.status_code == 302, response.status_code
        row = ext.db.session.get(RoleRequest, request_id)
        ext.db.session.refresh(row)
        assert row.status == status, row.status
        assert count(Notification, Notification.partner_id == row.partner_id, Notification.kind == "role_decision") == 3
    return done


def _entries_approve():
    from tradeportal.roles import grants

    return [grants.approve]


def _entries_reject():
    from tradeportal.roles import grants

    return [grants.reject]


APPROVE = Flow(
    "role_decision_approve", _entries_approve, _setup_decision,
    lambda w, request_id: w.client(w.staff).post(f"/staff/role-requests/{request_id}", data={"decision": "approve"}),
    _decided("active"), mails=2,
)
REJECT = Flow(
    "role_decision_reject", _entries_reject, _setup_decision,
    lambda w, request_id: w.client(w.staff).post(f"/staff/role-requests/{request_id}",
                                                 data={"decision": "reject", "reason": "Not eligible."}),
    _decided("rejected"), mails=2,
)


def _setup_processed(w):
    from tradeportal.documents import services as docs

    case = f"P{n()}"
    upload = docs.receive_files(partner_id=w.docs_partner.id, category_id=w.category.id, case_number=case,
                                files=[docs.IncomingFile("invoice.pdf", io.BytesIO(PDF))], user_id=w.quiet.id)
    ext.db.session.commit()
    return docs.upload_documents(upload)[0].id, case


def _done_processed(w, target, response):
    from tradeportal.documents.models import Document
    from tradeportal.notifications.models import Notification

    assert response.status_code == 302, response.status_code
    document_id, case = target
    assert ext.db.session.execute(select(Document.status).where(Document.id == document_id)).scalar_one() == "processed"
    # Administrator, deputy and both members holding "view documents": four people, three e-mails.
    assert count(Notification, Notification.kind == "document_processed",
                 Notification.link.endswith(f"case_number={case}")) == 4


def _entries_processed():
    from tradeportal.documents import staff_services

    return [staff_services.mark_processed]


PROCESSED = Flow(
    "fan_out_document_processed", _entries_processed, _setup_processed,
    lambda w, t: w.client(w.staff).post(f"/staff/documents/{t[0]}/processed", data={}),
    _done_processed, mails=3,
)

HTTP_FLOWS = [TAKE_OVER, MANUAL, VERIFY, REDEEM, JOIN, STAGE, SEND, API_UPLOAD, ROLE_REQUEST, APPROVE, REJECT,
              PROCESSED]
