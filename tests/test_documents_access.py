"""Documents: the list and downloads (tenancy, headers, audit), staff processing, crash safety, clamd, query budgets."""
from __future__ import annotations

import io
import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.test_documents_support import (  # noqa: F401 - fixture
    EXE, PDF, add_category, add_files, docs_world, send, start_upload, text_of,
)
from tests.test_roles_support import add_member, add_partner, add_role, grant
from tradeportal.access import Right, StaffPermission
from tradeportal.audit import AuditEvent
from tradeportal.documents import services as svc
from tradeportal.documents.models import Document, Upload
from tradeportal.notifications.models import Notification


def stored(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def receive(app, w, names=("a.pdf",), case="C1", **kwargs) -> Upload:
    with app.test_request_context():
        upload = svc.receive_files(partner_id=w.partner.id, category_id=w.category.id, case_number=case,
                                   files=[svc.IncomingFile(n, io.BytesIO(PDF)) for n in names], **kwargs)
        svc.db.session.commit()
        return upload.id


def first_document(db, upload_id=None) -> Document:
    db.session.expire_all()
    stmt = select(Document).order_by(Document.id)
    if upload_id:
        stmt = stmt.where(Document.upload_id == upload_id)
    return db.session.execute(stmt).scalars().first()


def test_list_filters_and_test_label(app, db, docs_world):
    w = docs_world
    receive(app, w, ["first.pdf"], case="AAA1")
    receive(app, w, ["second.pdf"], case="BBB2", api_application_id=3, is_test=True)
    other_category = add_category(db, "Invoices", position=20)
    with app.test_request_context():
        svc.receive_files(partner_id=w.partner.id, category_id=other_category.id, case_number="AAA1",
                          files=[svc.IncomingFile("third.pdf", io.BytesIO(PDF))])
        svc.db.session.commit()
    page = text_of(w.client.get(w.base))
    assert page.index("third.pdf") < page.index("second.pdf") < page.index("first.pdf")  # newest first
    assert "Test" in page
    assert "first.pdf" not in text_of(w.client.get(f"{w.base}?case_number=bbb2"))
    filtered = text_of(w.client.get(f"{w.base}?category={other_category.id}"))
    assert "third.pdf" in filtered and "first.pdf" not in filtered
    response = w.client.get(f"{w.base}?date_from=2026-05-01&date_to=2026-04-01")
    assert response.status_code == 422 and "The end date must be the same as or after the start date" in text_of(response)
    assert "first.pdf" not in text_of(w.client.get(f"{w.base}?date_to=2000-01-01"))


def test_download_headers_and_audit(app, db, docs_world):
    w = docs_world
    upload_id = receive(app, w, ["Facture été.pdf"])
    document = first_document(db)
    response = w.client.get(f"{w.base}/{document.id}/download")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''Facture%20%C3%A9t%C3%A9.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Cache-Control"] == "no-store"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "documents.downloaded")).scalar_one()
    assert event.object_id == str(document.id) and event.actor_user_id == w.user.id
    pdf = w.client.get(f"{w.base}/receipts/{upload_id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_another_partner_gets_404_on_list_download_and_uploads(app, db, docs_world, make_user, login_as):
    w = docs_world
    upload_id = receive(app, w)
    document = first_document(db)
    draft = start_upload(w)
    outsider = make_user()
    other = add_partner(db, "Elsewhere SA")
    grant(db, other, w.role)
    add_member(db, other, outsider, "administrator")
    client = app.test_client()
    login_as(outsider, client)
    for url in (w.base, f"{w.base}/{document.id}/download", f"{w.base}/receipts/{upload_id}.pdf", draft,
                f"{w.base}/uploads/{upload_id}", f"{w.base}/uploads/{upload_id}/acknowledgement.pdf", f"{w.base}/upload"):
        assert client.get(url).status_code == 404, url
    # Through their own partner's URLs, the other partner's objects do not exist either.
    own = f"/partners/{other.id}/documents"
    assert client.get(f"{own}/{document.id}/download").status_code == 404
    assert client.get(f"{own}/receipts/{upload_id}.pdf").status_code == 404
    assert client.get(f"{own}/uploads/{upload_id}").status_code == 404
    assert client.post_form(f"{own}/uploads/{upload_id}/send", {}, token_from=own).status_code == 404


def test_rights_and_drafts_are_personal(app, db, docs_world, make_user, login_as):
    w = docs_world
    draft = start_upload(w)
    uploader = make_user()
    add_member(db, w.partner, uploader, "member", rights=[Right.UPLOAD_DOCUMENTS])
    client = app.test_client()
    login_as(uploader, client)
    assert client.get(w.base).status_code == 403  # no right to view
    assert client.get("/documents").headers["Location"].endswith(f"{w.base}/upload")
    assert client.get(draft).status_code == 404  # another person's draft
    viewer = make_user()
    add_member(db, w.partner, viewer, "member", rights=[Right.VIEW_DOCUMENTS])
    login_as(viewer, client)
    assert client.get(f"{w.base}/upload").status_code == 403
    assert client.get("/documents").headers["Location"].endswith(w.base)


def test_no_orphan_file_after_a_fault_between_the_file_write_and_the_commit(app, db, docs_world, monkeypatch):
    w = docs_world
    draft = start_upload(w)
    from tradeportal.documents import services

    real_store = services._store

    def store_then_fail(*args, **kwargs):
        document = real_store(*args, **kwargs)
        assert stored(app), "the file is written before the failure"
        raise RuntimeError("injected fault after the file write")

    monkeypatch.setattr(services, "_store", store_then_fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = add_files(w, draft, [(PDF, "a.pdf")])
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert stored(app) == [] and first_document(db) is None

    # The same with a failing commit: the rows are flushed, the file renamed, the commit raises.
    monkeypatch.setattr(services, "_store", real_store)
    with app.test_request_context():
        session = svc.db.session

        def failing_commit():
            raise RuntimeError("injected fault at commit")

        # Its own patch context: undoing it must not undo the fixture's upload folder.
        with pytest.MonkeyPatch.context() as commit_patch:
            commit_patch.setattr(session, "commit", failing_commit)
            with pytest.raises(RuntimeError):
                svc.receive_files(partner_id=w.partner.id, category_id=w.category.id, case_number="1",
                                  files=[svc.IncomingFile("b.pdf", io.BytesIO(PDF))])
                assert stored(app)
                session.commit()
        session.rollback()
    assert stored(app) == [] and first_document(db) is None


def test_sweeper_purges_abandoned_drafts_and_files_without_a_row(app, db, docs_world):
    from datetime import timedelta

    from tradeportal import cli
    from tradeportal.documents.staff_services import purge_abandoned
    from tradeportal.documents.storage import get_storage

    assert purge_abandoned in cli.WORKER_TASKS
    w = docs_world
    draft = start_upload(w)
    add_files(w, draft, [(PDF, "kept.pdf")])
    receive(app, w, ["received.pdf"])
    with app.app_context():
        storage = get_storage()
        storage.put("ab" * 16, io.BytesIO(b"left by a killed process"))
        (Path(app.config["UPLOAD_DIR"]) / "tmp" / "cd.part").write_bytes(b"half")
    old = time.time() - 7200
    for path in stored(app):
        os.utime(path, (old, old))
    db.session.execute(Upload.__table__.update().where(Upload.status == "draft")
                       .values(created_at=svc.utcnow() - timedelta(days=2)))
    db.session.commit()
    with app.app_context():
        line = purge_abandoned(force=True)
        assert purge_abandoned() is None  # the worker's next pass, seconds later: not again so soon
    assert "1 abandoned drafts (1 files)" in line
    names = sorted(p.name for p in stored(app))
    assert len(names) == 1 and names[0] == first_document(db).stored_name  # only the received file stays


def test_staff_list_download_and_mark_processed_notifies_the_partner(app, db, docs_world, make_user, login_as):
    w = docs_world
    receive(app, w, ["proof.pdf"], case="77")
    receive(app, w, ["test.pdf"], case="78", is_test=True, api_application_id=1)
    document = first_document(db)
    staff_user = make_user(staff_permissions=[StaffPermission.DOCUMENTS])
    client = app.test_client()
    login_as(staff_user, client)
    listing = text_of(client.get("/staff/documents"))
    assert "proof.pdf" in listing and "Lac Freight Sàrl" in listing and "test.pdf" not in listing
    assert "test.pdf" in text_of(client.get("/staff/documents?state=test"))
    assert "proof.pdf" not in text_of(client.get("/staff/documents?partner=elsewhere"))
    assert "proof.pdf" in text_of(client.get("/staff/documents?partner=lac&case_number=77"))
    response = client.get(f"/staff/documents/{document.id}/download")
    assert response.status_code == 200 and response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    response = client.post_form(f"/staff/documents/{document.id}/processed", {"back": "state=received"},
                                token_from="/staff/documents")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/documents?state=received")
    db.session.expire_all()
    assert first_document(db).status == "processed" and first_document(db).processed_at
    notes = db.session.execute(select(Notification).where(Notification.kind == "document_processed")).scalars().all()
    assert [n.user_id for n in notes] == [w.user.id] and "proof.pdf" in notes[0].subject
    assert notes[0].link.startswith(f"{w.base}?")
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "documents.processed")).scalar_one()
    # A second click changes nothing and notifies nobody again.
    client.post_form(f"/staff/documents/{document.id}/processed", {}, token_from="/staff/documents")
    assert len(db.session.execute(select(Notification)).scalars().all()) == 1
    assert "Processed" in text_of(w.client.get(w.base))
    # Without the permission: 403; not staff: 404.
    other_staff = make_user(staff_permissions=[StaffPermission.ROLES])
    login_as(other_staff, client)
    assert client.get("/staff/documents").status_code == 403
    assert w.client.get("/staff/documents").status_code == 404


def test_staff_manage_categories(app, db, docs_world, make_user, login_as):
    staff_user = make_user(staff_permissions=[StaffPermission.DOCUMENTS])
    client = app.test_client()
    login_as(staff_user, client)
    url = "/staff/document-categories/new"
    response = client.post_form(url, {"name_fr": "Factures", "name_en": "", "position": "x"}, token_from=url)
    assert response.status_code == 422
    text = text_of(response)
    assert "Enter the name in English" in text and "Enter the position as a whole number" in text
    response = client.post_form(url, {"name_fr": "Factures", "name_en": "Invoices", "name_de": "Rechnungen",
                                      "position": "5", "active": "y"}, token_from=url)
    assert response.status_code == 302
    assert "Invoices" in text_of(client.get("/staff/document-categories"))
    category = svc.active_categories()[0]
    assert category.name_en == "Invoices"  # position 5 comes before the fixture's 10
    edit = f"/staff/document-categories/{category.id}/edit"
    client.post_form(edit, {"name_fr": "Factures", "name_en": "Invoices", "name_de": "Rechnungen", "position": "5"},
                     token_from=edit)
    db.session.expire_all()
    assert category.id not in [c.id for c in svc.active_categories()]  # retired
    assert docs_world.client.get(f"{docs_world.base}/upload").get_data(as_text=True).count('name="category"') == 1


class FakeClamd:
    """A tiny clamd speaking INSTREAM on a unix socket; finds 'EICAR' in the stream."""

    def __init__(self, path):
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(5)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\0") or b"INSTREAM" not in data:
                    data += conn.recv(10)
                body = b""
                while True:
                    size = b""
                    while len(size) < 4:
                        size += conn.recv(4 - len(size))
                    length = struct.unpack("!L", size)[0]
                    if not length:
                        break
                    chunk = b""
                    while len(chunk) < length:
                        chunk += conn.recv(length - len(chunk))
                    body += chunk
                conn.sendall(b"stream: Eicar-Test-Signature FOUND\0" if b"EICAR" in body else b"stream: OK\0")

    def close(self):
        self.server.close()


def test_clamd_scan_refuses_infected_files_and_fails_closed(app, db, docs_world, monkeypatch, tmp_path):
    w = docs_world
    clamd = FakeClamd(str(tmp_path / "clamd.sock"))
    monkeypatch.setitem(app.config, "CLAMD_SOCKET", clamd.path)
    draft = start_upload(w)
    response = add_files(w, draft, [(PDF, "clean.pdf"), (PDF + b"EICAR", "infected.pdf")])
    assert response.status_code == 422 and "infected.pdf was refused by the virus scan." in text_of(response)
    assert [d.display_name for d in db.session.execute(select(Document)).scalars()] == ["clean.pdf"]
    clamd.close()
    monkeypatch.setitem(app.config, "CLAMD_SOCKET", str(tmp_path / "missing.sock"))
    response = add_files(w, draft, [(PDF, "later.pdf")])
    assert "later.pdf could not be checked for viruses" in text_of(response)


def test_query_budget_one_versus_fifty_documents(app, db, docs_world, count_queries, make_user, login_as):
    w = docs_world
    staff_user = make_user(staff_permissions=[StaffPermission.DOCUMENTS])
    staff_client = app.test_client()
    login_as(staff_user, staff_client)

    def counts():
        result = []
        for client, url in ((w.client, w.base), (staff_client, "/staff/documents")):
            client.get(url)  # warm caches (translations, templates)
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            result.append(counter.count)
        return result

    receive(app, w, ["one.pdf"])
    one = counts()
    receive(app, w, [f"f{n}.pdf" for n in range(10)])
    for n in range(4):
        receive(app, w, [f"g{n}-{m}.pdf" for m in range(10)], case=f"C{n}")
    assert db.session.execute(select(Document)).scalars().all().__len__() == 51
    assert counts() == one


def test_lists_are_paginated_and_keep_their_filters(app, db, docs_world, make_user, login_as):
    from tradeportal.pagination import PAGE_SIZE

    w = docs_world
    names = [f"p{n:02d}.pdf" for n in range(PAGE_SIZE + 1)]
    for start in range(0, len(names), 10):
        receive(app, w, names[start:start + 10], case="P1")
    receive(app, w, ["other-case.pdf"], case="Q1")
    staff_user = make_user(staff_permissions=[StaffPermission.DOCUMENTS])
    staff_client = app.test_client()
    login_as(staff_user, staff_client)
    for client, url, row in ((w.client, f"{w.base}?case_number=P1", "/download"),
                             (staff_client, "/staff/documents?case_number=P1", "/download")):
        first = client.get(url).get_data(as_text=True)
        assert first.count(f'{row}" download>') == PAGE_SIZE and "other-case.pdf" not in first
        next_link = first.split('rel="next" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        assert "case_number=P1" in next_link and "page=2" in next_link
        second = client.get(next_link).get_data(as_text=True)
        assert second.count(f'{row}" download>') == 1 and 'rel="prev"' in second and 'rel="next"' not in second
        assert "other-case.pdf" not in second
    # The date filter keeps today's documents and leaves out those of another day.
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])).date().isoformat()  # the day as the agency counts it
    assert "other-case.pdf" in text_of(w.client.get(f"{w.base}?date_from={today}&date_to={today}&case_number=Q1"))
    assert "other-case.pdf" not in text_of(w.client.get(f"{w.base}?date_from=2099-01-01"))


def test_demo_categories_and_documents_are_seeded_once_with_their_files(app, db, tmp_path, monkeypatch):
    from sqlalchemy import func

    from tradeportal.demo import seed
    from tradeportal.documents.models import Category
    from tradeportal.documents.storage import get_storage

    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))

    def counts():
        return [db.session.execute(select(func.count()).select_from(m)).scalar() for m in (Category, Upload, Document)]

    with app.app_context():
        seed()
        assert counts() == [3, 2, 3]
        seed()
        assert counts() == [3, 2, 3]
        storage = get_storage()
        documents = db.session.execute(select(Document)).scalars().all()
        assert all(storage.exists(d.stored_name) for d in documents)
        assert sorted(d.status for d in documents) == ["processed", "received", "received"]
        names = {c.name_en: (c.name_fr, c.name_de) for c in db.session.execute(select(Category)).scalars()}
    assert names["Certificate of origin"] == ("Certificat d'origine", "Ursprungsnachweis")
    assert len(stored(app)) == 3
