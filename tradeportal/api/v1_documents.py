"""Documents through the API, on tradeportal/documents/services.py (the same checks as the web upload)."""
from __future__ import annotations

from flask import g, jsonify, request, send_file

from ..access import api_token
from ..documents import services as docs
from ..extensions import db
from .problems import field_error, problem
from .serialise import iso
from .v1 import MAX_ID, parse_cursor_args, v1


def category_json(category) -> dict:
    return {"id": category.id, "name": category.localized("name")}


def document_json(d) -> dict:
    return {
        "id": str(d.id), "reference": d.upload.reference if d.upload else None, "category": category_json(d.category),
        "case_number": d.case_number, "name": d.display_name, "size": d.size, "content_type": d.content_type,
        "sha256": d.sha256, "received_at": iso(d.received_at), "processed": d.status == "processed",
        "test": bool(d.is_test),
    }


@v1.get("/document-categories")
@api_token("documents:write")
def document_categories():
    return jsonify(items=[category_json(c) for c in docs.active_categories()])


@v1.get("/documents")
@api_token("documents:read")
def documents():
    """Newest first; the cursor is the id of the last document of the previous page (`before`)."""
    from ..documents.models import Document

    _since, limit, errors = parse_cursor_args()
    before_text = request.args.get("before")
    if before_text is not None and (not before_text.isascii() or not before_text.isdigit() or len(before_text) > 18):
        errors.append(field_error("before", "before must be a cursor returned by this API (digits)"))
    if errors:
        return problem("invalid_request", errors=errors)
    application = g.api_application
    stmt = docs.documents_query(application.partner_id, is_test=application.is_test)
    stmt = stmt.order_by(None).order_by(Document.id.desc())
    if before_text:
        stmt = stmt.where(Document.id < min(int(before_text), MAX_ID))
    rows = list(db.session.execute(stmt.limit(limit + 1)).unique().scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(items=[document_json(d) for d in rows], next_cursor=str(rows[-1].id) if has_more else None,
                   has_more=has_more)


@v1.post("/documents")
@api_token("documents:write")
def upload():
    application = g.api_application
    files = [docs.IncomingFile(f.filename or "", f.stream) for f in request.files.getlist("file") if f]
    try:
        category = request.form.get("category", "")
        category_id = int(category) if category.isascii() and category.isdigit() and int(category) <= MAX_ID else None
        row = docs.receive_files(partner_id=application.partner_id, category_id=category_id,
                                 case_number=request.form.get("case_number", ""), files=files,
                                 api_application_id=application.id, is_test=application.is_test)
    except docs.UploadRejected as rejected:
        db.session.rollback()
        return problem("upload_rejected", errors=[
            {"field": "file" if e.name else _field_of(e.code), "name": e.name, "code": e.code, "message": str(e.message)}
            for e in rejected.errors])
    db.session.commit()
    uploaded = list(db.session.execute(
        docs.documents_query(application.partner_id).where(docs.Document.upload_id == row.id)
    ).unique().scalars())
    return jsonify(reference=row.reference, received_at=iso(row.received_at),
                   items=[document_json(d) for d in uploaded]), 201


def _field_of(code: str) -> str:
    return {"category": "category", "case_number": "case_number"}.get(code, "file")


@v1.get("/documents/<int:document_id>")
@api_token("documents:read")
def document(document_id: int):
    found = _own(document_id)
    if found is None:
        return problem("not_found")
    return jsonify(document_json(found))


@v1.get("/documents/<int:document_id>/content")
@api_token("documents:read")
def content(document_id: int):
    found = _own(document_id)
    if found is None:
        return problem("not_found")
    docs.record_download(found, api_application_id=g.api_application.id)
    db.session.commit()
    return send_file(docs.open_document(found), mimetype=found.content_type, as_attachment=True,
                     download_name=found.display_name)


def _own(document_id: int):
    """The application's partner's document, in its environment (test or live); else None (a 404)."""
    if document_id > MAX_ID:
        return None
    found = docs.get_document(g.api_application.partner_id, document_id)
    if found is None or bool(found.is_test) != g.api_application.is_test:
        return None
    return found
