"""Helpers for the documents tests (no tests here): a partner with the documents service, files of every kind."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.test_roles_support import add_member, add_partner, add_role, grant
from tradeportal.access import Right
from tradeportal.documents.models import Category

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"This program cannot be run in DOS mode."
TEXT = "Liste des marchandises – Zürich, 3 palettes\n".encode("utf-8")


def ooxml(kind: str, extra: dict | None = None) -> bytes:
    main = {"docx": ("word/document.xml", "wordprocessingml.document.main"),
            "xlsx": ("xl/workbook.xml", "spreadsheetml.sheet.main")}[kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", f'<?xml version="1.0"?><Types><Override PartName="/{main[0]}" '
                                                f'ContentType="application/vnd.openxmlformats-officedocument.{main[1]}+xml"/></Types>')
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr(main[0], "<document>Hello</document>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def macro_docx() -> bytes:
    return ooxml("docx", {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro code"})


def zip_bomb_xlsx() -> bytes:
    """50 MB of zeros deflated to about 50 kB, inside an otherwise valid-looking workbook."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b"\x00" * (1024 * 1024)
            for _ in range(50):
                fh.write(block)
    return buffer.getvalue()


def add_category(db, name="Product documentation", position=10, active=True) -> Category:
    category = Category(name_fr=f"{name} (fr)", name_en=name, name_de=f"{name} (de)", description_fr="",
                        description_en="Drawings, photographs and data sheets.", description_de="",
                        position=position, active=active)
    db.session.add(category)
    db.session.commit()
    return category


@pytest.fixture
def docs_world(app, db, make_user, login_as, client, tmp_path, monkeypatch):
    """A partner whose role opens documents, a member with both rights, a category; an empty upload folder."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))

    class World:
        pass

    w = World()
    w.partner = add_partner(db, "Lac Freight Sàrl")
    w.role = add_role(db, "transport", services="certificates,documents")
    grant(db, w.partner, w.role)
    w.user = make_user(first_name="Mia", last_name="Member")
    w.membership = add_member(db, w.partner, w.user, "member", rights=[Right.UPLOAD_DOCUMENTS, Right.VIEW_DOCUMENTS])
    w.category = add_category(db)
    w.client = login_as(w.user)
    w.base = f"/partners/{w.partner.id}/documents"
    return w


def start_upload(world, case_number="8000000683", category=None) -> str:
    """Step 1; returns the URL of the draft's summary."""
    response = world.client.post_form(f"{world.base}/upload", {
        "category": str((category or world.category).id), "case_number": case_number,
    }, token_from=f"{world.base}/upload")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def add_files(world, draft_url: str, files: list[tuple[bytes, str]], **kwargs):
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    data.update(kwargs)
    return world.client.post_form(f"{draft_url}/files", data, token_from=draft_url, content_type="multipart/form-data")


def send(world, draft_url: str):
    return world.client.post_form(f"{draft_url}/send", {}, token_from=draft_url)


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'").replace("&amp;", "&")
