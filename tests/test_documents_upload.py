"""Uploading documents: the two steps, every check on every file, the summary, sending, the acknowledgement."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from tests.test_documents_support import (  # noqa: F401 - fixture
    EXE, JPEG, PDF, TEXT, add_files, docs_world, macro_docx, ooxml, send, start_upload, text_of, zip_bomb_xlsx,
)
from tradeportal.audit import AuditEvent
from tradeportal.documents import services as svc
from tradeportal.documents.checks import check_file, sanitise_name
from tradeportal.documents.models import Document, Upload


def stored_files(app) -> list:
    from pathlib import Path

    root = Path(app.config["UPLOAD_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def documents_of(db, upload_id=None) -> list[Document]:
    db.session.expire_all()
    stmt = select(Document).order_by(Document.id)
    if upload_id:
        stmt = stmt.where(Document.upload_id == upload_id)
    return list(db.session.execute(stmt).scalars())


def test_three_allowed_files_then_every_refusal_keeps_the_good_files(app, db, docs_world):
    w = docs_world
    draft = start_upload(w, case_number="ab12")
    page = w.client.get(draft)
    assert page.status_code == 200 and "step 2 of 2" in page.get_data(as_text=True)
    response = add_files(w, draft, [(PDF, "invoice.pdf"), (ooxml("docx"), "letter.docx"), (ooxml("xlsx"), "list.xlsx")])
    assert response.status_code == 302
    assert [d.display_name for d in documents_of(db)] == ["invoice.pdf", "letter.docx", "list.xlsx"]
    assert all(d.status == "staged" and d.case_number == "AB12" for d in documents_of(db))

    bad = [
        (EXE, "setup.pdf"),
        (macro_docx(), "macro.docx"),
        (zip_bomb_xlsx(), "bomb.xlsx"),
        (PDF, "../../etc/passwd.pdf"),
        (PDF, "invoice\u202efdp.exe.pdf"),
        (b"", "empty.pdf"),
        (EXE, "tool.exe"),
        (ooxml("docx"), "renamed.xlsx"),
    ]
    response = add_files(w, draft, bad + [(JPEG, "photo.jpg")])
    assert response.status_code == 422
    body = text_of(response)
    assert body.count("There is a problem") == 1 and response.get_data(as_text=True).count("<title>Error:") == 1
    expected = [
        "The content of setup.pdf is not a real PDF file",
        "macro.docx contains macros",
        "bomb.xlsx is too large once unpacked",
        "The name of passwd.pdf contains a folder path",
        "The name of invoicefdp.exe.pdf contains a folder path or hidden control characters",
        "empty.pdf is empty",
        "tool.exe is not an accepted type of file",
        "The content of renamed.xlsx is not a real XLSX file",
    ]
    for message in expected:
        assert message in body, message
    assert "\u202e" not in response.get_data(as_text=True)
    # The good files stay: the three of the first batch and the photo of the second.
    names = [d.display_name for d in documents_of(db)]
    assert names == ["invoice.pdf", "letter.docx", "list.xlsx", "photo.jpg"]
    for name in names:
        assert name in body
    # The summary keeps showing the refusals after a reload (the script's flow reads them there).
    assert "macro.docx contains macros" in text_of(w.client.get(draft))

    response = send(w, draft)
    assert response.status_code == 302 and response.headers["Location"].endswith(draft.rsplit("/", 1)[-1])
    confirmation = w.client.get(draft)
    upload = db.session.execute(select(Upload)).scalar_one()
    assert upload.status == "received" and upload.reference.startswith("DOC-") and upload.received_at
    text = text_of(confirmation)
    assert upload.reference in text and "Documents received" in text and "Download the acknowledgement" in text
    assert all(d.status == "received" and d.received_at == upload.received_at for d in documents_of(db))
    assert len(stored_files(app)) == 4
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "documents.uploaded")).scalar_one()
    assert event.details["files"] == 4 and event.details["reference"] == upload.reference
    # Sending twice changes nothing.
    assert send(w, draft).status_code == 302
    assert db.session.execute(select(func.count()).select_from(Upload)).scalar() == 1


def test_eleven_files_refuses_the_eleventh_and_keeps_ten(app, db, docs_world):
    w = docs_world
    draft = start_upload(w)
    files = [(PDF, f"page-{n:02d}.pdf") for n in range(1, 12)]
    response = add_files(w, draft, files)
    assert response.status_code == 422
    assert "page-11.pdf was not added: an upload holds at most 10 files." in text_of(response)
    assert [d.display_name for d in documents_of(db)] == [f"page-{n:02d}.pdf" for n in range(1, 11)]


def test_size_limit_configured_small(app, db, docs_world, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1000)
    w = docs_world
    draft = start_upload(w)
    response = add_files(w, draft, [(PDF + b"x" * (1000 - len(PDF)), "exact.pdf"), (PDF + b"x" * (1001 - len(PDF)), "big.pdf")])
    assert response.status_code == 422
    assert "big.pdf is larger than" in text_of(response)
    assert [d.display_name for d in documents_of(db)] == ["exact.pdf"]


def test_the_real_default_limit_is_15_mb(app, db, docs_world):
    limit = 15 * 1024 * 1024
    assert app.config["UPLOAD_MAX_BYTES"] == limit
    too_big = io.BytesIO(PDF + b"0" * (limit + 1 - len(PDF)))
    error = check_file("scan.pdf", too_big, limit)
    with app.test_request_context("/?lang=en"):
        assert error.code == "too_large" and "scan.pdf is larger than 15 MB" in str(error.message)
    exact = io.BytesIO(PDF + b"0" * (limit - len(PDF)))
    assert check_file("scan.pdf", exact, limit).size == limit
    # And through the page: 15 MB + 1 byte refused, with the message naming the file.
    w = docs_world
    draft = start_upload(w)
    too_big.seek(0)
    response = add_files(w, draft, [(too_big.getvalue(), "scan.pdf"), (PDF, "small.pdf")])
    assert response.status_code == 422 and "scan.pdf is larger than 15 MB" in text_of(response)
    assert [d.display_name for d in documents_of(db)] == ["small.pdf"]


def test_messages_in_the_person_s_language(app, db, docs_world):
    w = docs_world
    draft = start_upload(w)
    response = w.client.post_form(f"{draft}/files?lang=fr", {"files": [(io.BytesIO(b""), "vide.pdf")]},
                                  token_from=draft, content_type="multipart/form-data")
    assert response.status_code == 422
    assert '<html lang="fr">' in response.get_data(as_text=True)
    assert "vide.pdf est vide. Choisissez un fichier qui a un contenu." in text_of(response)


def test_remove_cancel_change_and_no_files(app, db, docs_world):
    w = docs_world
    draft = start_upload(w)
    response = w.client.post_form(f"{draft}/files", {}, token_from=draft, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose at least one file to upload" in text_of(response)
    assert send(w, draft).status_code == 422  # nothing to send yet
    add_files(w, draft, [(PDF, "a.pdf"), (TEXT, "notes.txt")])
    first = documents_of(db)[0]
    response = w.client.post_form(f"{draft}/files/{first.id}/remove", {}, token_from=draft)
    assert response.status_code == 302
    assert [d.display_name for d in documents_of(db)] == ["notes.txt"]
    assert len(stored_files(app)) == 1
    response = w.client.post_form(f"{draft}/details", {"category": str(w.category.id), "case_number": "X9"},
                                  token_from=f"{draft}/details")
    assert response.status_code == 302 and documents_of(db)[0].case_number == "X9"
    response = w.client.post_form(f"{draft}/cancel", {}, token_from=draft)
    assert response.status_code == 302
    assert documents_of(db) == [] and stored_files(app) == []
    assert w.client.get(draft).status_code == 404


def test_step_one_errors(app, db, docs_world):
    w = docs_world
    url = f"{w.base}/upload"
    response = w.client.post_form(url, {"case_number": "TOO-LONG-NUMBER"}, token_from=url)
    assert response.status_code == 422
    text = text_of(response)
    assert "Select the category of the documents" in text
    assert "Enter a case or reference number of 1 to 10 letters and digits" in text
    assert 'value="TOO-LONG-NUMBER"' in response.get_data(as_text=True)


def test_json_answers_for_the_script(app, db, docs_world):
    w = docs_world
    draft = start_upload(w)
    token = w.client.csrf_token(draft)
    response = w.client.post(f"{draft}/files", data={"files": [(io.BytesIO(PDF), "one.pdf")]},
                             headers={"Accept": "application/json", "X-CSRFToken": token}, content_type="multipart/form-data")
    assert response.status_code == 200 and response.json["accepted"][0]["name"] == "one.pdf"
    response = w.client.post(f"{draft}/files", data={"files": [(io.BytesIO(EXE), "two.pdf")], "append": "1"},
                             headers={"Accept": "application/json", "X-CSRFToken": token}, content_type="multipart/form-data")
    assert response.status_code == 422 and "two.pdf" in response.json["rejected"][0]["message"]


def test_names_are_sanitised():
    assert sanitise_name("C:\\Users\\ana\\report.pdf") == ("report.pdf", True)
    assert sanitise_name("../x.pdf") == ("x.pdf", True)
    assert sanitise_name("in\u202evoice.pdf") == ("invoice.pdf", True)
    assert sanitise_name("a\x00b\u200e.pdf") == ("ab.pdf", False)
    name, suspicious = sanitise_name("x" * 300 + ".pdf")
    assert len(name) == 200 and name.endswith(".pdf") and not suspicious


@pytest.mark.parametrize("content, name, ok", [
    (PDF, "a.pdf", True), (JPEG, "a.jpeg", True), (b"II*\x00rest", "a.tif", True), (b"MM\x00*rest", "a.tiff", True),
    (b"{\\rtf1 hello}", "a.rtf", True), (bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 100, "a.doc", True),
    (bytes.fromhex("D0CF11E0A1B11AE1") + "_VBA_PROJECT".encode("utf-16-le"), "a.xls", False),
    ("Grüße".encode("latin-1"), "a.txt", True), (b"a\x00b", "a.txt", False), (JPEG, "a.pdf", False),
    (ooxml("xlsx"), "a.xlsx", True), (b"PK\x03\x04 not really a zip", "a.docx", False),
])
def test_content_checks(content, name, ok):
    from tradeportal.documents.checks import CheckedFile

    assert isinstance(check_file(name, io.BytesIO(content), 10_000_000), CheckedFile) is ok


def test_receive_files_is_all_or_nothing(app, db, docs_world):
    w = docs_world
    with app.test_request_context():
        with pytest.raises(svc.UploadRejected) as rejected:
            svc.receive_files(partner_id=w.partner.id, category_id=w.category.id, case_number="123",
                              files=[svc.IncomingFile("ok.pdf", io.BytesIO(PDF)), svc.IncomingFile("bad.pdf", io.BytesIO(EXE))])
        assert [(e.name, e.code) for e in rejected.value.errors] == [("bad.pdf", "content")]
        db.session.rollback()
        assert documents_of(db) == [] and stored_files(app) == []
        upload = svc.receive_files(partner_id=w.partner.id, category_id=w.category.id, case_number="123",
                                   files=[svc.IncomingFile("ok.pdf", io.BytesIO(PDF))], api_application_id=7, is_test=True)
        db.session.commit()
        assert upload.reference and documents_of(db)[0].is_test and documents_of(db)[0].api_application_id == 7


def _zip(entries: dict) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("content, name, code", [
    # More entries than any office file has: refused before anything is unpacked.
    (_zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<d/>", **{f"word/p{n}.xml": "" for n in range(5001)}}),
     "parts.docx", "archive"),
    # A macro-enabled workbook (.xlsm) renamed .xlsx: its content types say so, even without vbaProject.bin.
    (_zip({"[Content_Types].xml": '<Types><Default ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/></Types>',
           "xl/workbook.xml": "<w/>"}), "book.xlsx", "macro"),
    (_zip({"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<w/>"}), "letter.docx", "content"),
    (_zip({"[Content_Types].xml": "<Types/>", "Documents/1/Pages/1.fpage": "<p/>"}), "print.xps", "content"),
    (_zip({"[Content_Types].xml": "<Types/>", "FixedDocSeq.fdseq": "<s/>"}), "print.xps", None),
])
def test_zip_based_formats_are_bounded_and_without_macros(content, name, code):
    from tradeportal.documents.checks import CheckedFile

    result = check_file(name, io.BytesIO(content), 10_000_000)
    assert (None if isinstance(result, CheckedFile) else result.code) == code
