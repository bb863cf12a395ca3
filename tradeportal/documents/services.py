"""Documents: receiving files (web drafts and the API), finding and downloading them.

Public API (the api area calls these; the caller commits once)
---------------------------------------------------------------

``active_categories() -> list[Category]``
``receive_files(*, partner_id, category_id, case_number, files, user_id=None, api_application_id=None, is_test=False) -> Upload``
    All or nothing: raises `UploadRejected` (``.errors``: list of `FileError`) when
    any file (or the category, the case number, the number of files) fails; else
    stores the files, writes the rows (status received), the audit event, flushes.
``documents_query(partner_id, *, category_id=None, case_number=None, date_from=None, date_to=None, is_test=None) -> Select``
``list_rows(partner_id, *, page, page_size, category_id=None, case_number=None, date_from=None, date_to=None) -> tuple[list[Row], bool]``
    The partner's web list (`list_rows(partner_id, page=, page_size=, ...)`): one page of column rows
    (id, received_at, display_name, size, api_application_id, case_number, category_id, upload_id, status,
    is_test, reference, user_id, first_name, last_name) and whether a next page exists.
``category_names() -> list[Row]``
    Every category as (id, name_fr, name_en, name_de), in the order of `all_categories`.
``get_document(partner_id, document_id) -> Document | None``
``open_document(document) -> BinaryIO``
``record_download(document, *, user=None, api_application_id=None) -> None``
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from flask import current_app
from sqlalchemy import Integer, Select, bindparam, delete, exists, literal, select, update
from sqlalchemy.orm import contains_eager, joinedload

from .. import audit, reads
from ..db import day_start, utcnow
from ..extensions import db
from ..pagination import Page, page_of, window
from .checks import CheckedFile, FileError, check_file
from .models import Category, Document, DocumentStatus, Upload, UploadStatus
from .scan import ScanUnavailable, scan
from .storage import get_storage, new_name, track_new

CASE_NUMBER = re.compile(r"^[A-Za-z0-9]{1,10}$")
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass
class IncomingFile:
    name: str  # the name the client gave
    stream: BinaryIO  # readable, seekable


class UploadRejected(Exception):
    """The upload was refused; `errors` names each file (or the field) and the reason."""

    def __init__(self, errors: list[FileError]):
        super().__init__("; ".join(f"{e.name}: {e.code}" for e in errors))
        self.errors = errors


def max_bytes() -> int:
    return int(current_app.config["UPLOAD_MAX_BYTES"])


def max_files() -> int:
    return int(current_app.config["UPLOAD_MAX_FILES"])


def normalise_case_number(value: str | None) -> str | None:
    value = (value or "").strip().upper()
    return value if CASE_NUMBER.match(value) else None


# --- categories -----------------------------------------------------------------------

def active_categories() -> list[Category]:
    return list(db.session.execute(
        select(Category).where(Category.active.is_(True)).order_by(Category.position, Category.id)
    ).scalars())


def all_categories() -> list[Category]:
    return list(db.session.execute(select(Category).order_by(Category.active.desc(), Category.position, Category.id)).scalars())


_CATEGORY_NAMES = None


def category_names() -> list:
    """(id, name_fr, name_en, name_de) of every category, as `all_categories` orders them: column rows
    from a Core statement built once (the list's filter needs nothing else)."""
    global _CATEGORY_NAMES
    if _CATEGORY_NAMES is None:
        c = Category.__table__.c
        _CATEGORY_NAMES = select(c.id, c.name_fr, c.name_en, c.name_de).order_by(c.active.desc(), c.position, c.id)
    return reads.rows(_CATEGORY_NAMES, {})


def active_category(category_id) -> Category | None:
    try:
        category_id = int(category_id)
    except (TypeError, ValueError):
        return None
    category = db.session.get(Category, category_id)
    return category if category is not None and category.active else None


# --- checking and storing files -------------------------------------------------------

def check_one(incoming: IncomingFile) -> CheckedFile | FileError:
    """The content checks, then the virus scan when clamd is configured."""
    result = check_file(incoming.name, incoming.stream, max_bytes())
    socket_path = current_app.config.get("CLAMD_SOCKET")
    if isinstance(result, CheckedFile) and socket_path:
        try:
            found = scan(socket_path, incoming.stream)
        except ScanUnavailable:
            current_app.logger.warning("clamd did not answer for an upload; the file is refused")
            return FileError(result.display_name, "scan_failed")
        if found:
            current_app.logger.warning("clamd found %s in an upload; the file is refused", found)
            return FileError(result.display_name, "virus")
    return result


def _store(upload: Upload, checked: CheckedFile, incoming: IncomingFile, status: str, now: datetime | None) -> Document:
    storage = get_storage()
    name = new_name()
    # Tracked before it is written: a failure inside or right after `put` must not leave it behind.
    track_new(db.session, storage, name)  # deleted again unless this transaction commits
    sha256, size = storage.put(name, incoming.stream)
    document = Document(
        partner_id=upload.partner_id, upload=upload, category_id=upload.category_id, case_number=upload.case_number,
        display_name=checked.display_name, stored_name=name, sha256=sha256, size=size,
        content_type=checked.content_type, status=status, created_at=utcnow(), received_at=now,
        is_test=upload.is_test, uploaded_by_user_id=upload.created_by_user_id,
        api_application_id=upload.api_application_id,
    )
    db.session.add(document)
    return document


def new_reference(now: datetime) -> str:
    for _attempt in range(5):
        reference = f"DOC-{now:%Y}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        if not db.session.execute(select(exists().where(Upload.reference == reference))).scalar():
            return reference
    raise RuntimeError("no free upload reference")


def _audit_received(upload: Upload, documents: list[Document], actor=None) -> None:
    audit.record("documents.uploaded", actor=actor, partner_id=upload.partner_id, object_type="document_upload",
                 object_id=upload.id, details={
                     "reference": upload.reference, "files": len(documents), "category": upload.category_id,
                     "case": upload.case_number, "api_application": upload.api_application_id,
                     "test": upload.is_test, "documents": [d.id for d in documents],
                 })


def receive_files(*, partner_id: int, category_id: int, case_number: str, files: list[IncomingFile],
                  user_id: int | None = None, api_application_id: int | None = None, is_test: bool = False) -> Upload:
    """Check every file, then store them all as one received upload (see the module docstring)."""
    errors: list[FileError] = []
    category = active_category(category_id)
    if category is None:
        errors.append(FileError("", "category"))
    case = normalise_case_number(case_number)
    if case is None:
        errors.append(FileError("", "case_number"))
    if not files:
        errors.append(FileError("", "no_files"))
    checked = []
    for index, incoming in enumerate(files):
        if index >= max_files():
            from .checks import sanitise_name

            errors.append(FileError(sanitise_name(incoming.name)[0], "too_many", params={"count": max_files()}))
            continue
        result = check_one(incoming)
        if isinstance(result, FileError):
            errors.append(result)
        else:
            checked.append((result, incoming))
    if errors:
        raise UploadRejected(errors)
    now = utcnow()
    upload = Upload(partner_id=partner_id, category_id=category.id, case_number=case, status=UploadStatus.RECEIVED,
                    reference=new_reference(now), created_at=now, received_at=now, created_by_user_id=user_id,
                    api_application_id=api_application_id, is_test=is_test)
    db.session.add(upload)
    documents = [_store(upload, result, incoming, DocumentStatus.RECEIVED, now) for result, incoming in checked]
    db.session.flush()
    actor = db.session.get(_user_model(), user_id) if user_id else None
    _audit_received(upload, documents, actor=actor)
    db.session.flush()
    return upload


def _user_model():
    from ..account.models import User

    return User


# --- the web's draft: step 1, staged files, send -----------------------------------------

def create_draft(partner_id: int, user, category: Category, case_number: str) -> Upload:
    upload = Upload(partner_id=partner_id, category_id=category.id, case_number=case_number,
                    status=UploadStatus.DRAFT, created_at=utcnow(), created_by_user_id=user.id)
    db.session.add(upload)
    db.session.flush()
    return upload


def get_draft(partner_id: int, upload_id: int, user) -> Upload | None:
    """A draft of this partner started by this person (drafts are personal); else None."""
    return db.session.execute(
        select(Upload).where(Upload.id == upload_id, Upload.partner_id == partner_id,
                             Upload.status == UploadStatus.DRAFT, Upload.created_by_user_id == user.id)
    ).scalar_one_or_none()


def get_upload(partner_id: int, upload_id: int) -> Upload | None:
    """A received upload of this partner (any member with the right may see its acknowledgement)."""
    return db.session.execute(
        select(Upload).where(Upload.id == upload_id, Upload.partner_id == partner_id,
                             Upload.status == UploadStatus.RECEIVED)
        .options(joinedload(Upload.category), joinedload(Upload.created_by))
    ).scalar_one_or_none()


def upload_documents(upload: Upload) -> list[Document]:
    return list(db.session.execute(
        select(Document).where(Document.upload_id == upload.id).order_by(Document.id)
    ).scalars())


def change_draft(upload: Upload, category: Category, case_number: str) -> None:
    upload.category_id, upload.case_number = category.id, case_number
    db.session.execute(update(Document).where(Document.upload_id == upload.id)
                       .values(category_id=category.id, case_number=case_number))
    db.session.flush()


def stage_files(upload: Upload, files: list[IncomingFile], *, append: bool = False) -> tuple[list[Document], list[FileError]]:
    """Check and store files into a draft; refused ones are kept on the draft to show on its summary.

    `append` keeps the refusals of earlier requests of the same batch (the script
    sends one file per request); a page without the script sends one batch.
    """
    staged = len(upload_documents(upload))
    accepted: list[Document] = []
    errors: list[FileError] = []
    for incoming in files:
        result = check_one(incoming)
        if isinstance(result, FileError):
            errors.append(result)
        elif staged + len(accepted) >= max_files():
            errors.append(FileError(result.display_name, "too_many", params={"count": max_files()}))
        else:
            accepted.append(_store(upload, result, incoming, DocumentStatus.STAGED, None))
    earlier = list(upload.rejections or []) if append else []
    upload.rejections = (earlier + [e.as_json() for e in errors])[-50:] or None
    db.session.flush()
    return accepted, errors


def draft_rejections(upload: Upload) -> list[FileError]:
    return [FileError.from_json(item) for item in (upload.rejections or [])]


def remove_staged(upload: Upload, document_id: int) -> Document | None:
    from .storage import delete_after_commit

    document = db.session.execute(
        select(Document).where(Document.id == document_id, Document.upload_id == upload.id,
                               Document.status == DocumentStatus.STAGED)
    ).scalar_one_or_none()
    if document is None:
        return None
    db.session.delete(document)
    delete_after_commit(db.session, get_storage(), document.stored_name)
    db.session.flush()
    return document


def send_draft(upload: Upload, user) -> bool:
    """Receive the draft: reference, time of receipt, files received. False if it was sent already or is empty."""
    documents = upload_documents(upload)
    if not documents:
        return False
    now = utcnow()
    reference = new_reference(now)
    result = db.session.execute(
        update(Upload).where(Upload.id == upload.id, Upload.status == UploadStatus.DRAFT)
        .values(status=UploadStatus.RECEIVED, reference=reference, received_at=now, rejections=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.execute(
        update(Document).where(Document.upload_id == upload.id, Document.status == DocumentStatus.STAGED)
        .values(status=DocumentStatus.RECEIVED, received_at=now).execution_options(synchronize_session=False)
    )
    db.session.refresh(upload)
    _audit_received(upload, documents, actor=user)
    db.session.flush()
    return True


def cancel_draft(upload: Upload) -> None:
    from .storage import delete_after_commit

    storage = get_storage()
    for document in upload_documents(upload):
        delete_after_commit(db.session, storage, document.stored_name)
    db.session.execute(delete(Document).where(Document.upload_id == upload.id))
    db.session.delete(upload)
    db.session.flush()


# --- finding and downloading ----------------------------------------------------------

def filter_documents(stmt: Select, *, category_id=None, case_number=None, date_from=None, date_to=None,
                     is_test: bool | None = None) -> Select:
    if category_id:
        stmt = stmt.where(Document.category_id == category_id)
    if case_number:
        stmt = stmt.where(Document.case_number == case_number.strip().upper())
    if date_from:
        stmt = stmt.where(Document.received_at >= day_start(date_from))
    if date_to:
        stmt = stmt.where(Document.received_at < day_start(date_to + timedelta(days=1)))
    if is_test is not None:
        stmt = stmt.where(Document.is_test.is_(is_test))
    return stmt


def documents_query(partner_id: int, *, category_id=None, case_number=None, date_from=None, date_to=None,
                    is_test: bool | None = None) -> Select:
    """The partner's received documents, newest first, with their category and upload (one query)."""
    stmt = (select(Document).join(Category, Category.id == Document.category_id)
            .join(Upload, Upload.id == Document.upload_id)
            .where(Document.partner_id == partner_id, Document.status.in_(DocumentStatus.VISIBLE))
            .options(contains_eager(Document.category), contains_eager(Document.upload),
                     joinedload(Document.uploaded_by))
            .order_by(Document.received_at.desc(), Document.id.desc()))
    return filter_documents(stmt, category_id=category_id, case_number=case_number, date_from=date_from,
                            date_to=date_to, is_test=is_test)


def get_document(partner_id: int, document_id: int) -> Document | None:
    """The partner's received document; another partner's (or a staged one) is None."""
    return db.session.execute(
        select(Document).where(Document.id == document_id, Document.partner_id == partner_id,
                               Document.status.in_(DocumentStatus.VISIBLE))
    ).scalar_one_or_none()


def open_document(document: Document) -> BinaryIO:
    return get_storage().open(document.stored_name)


def record_download(document: Document, *, user=None, api_application_id: int | None = None, staff: bool = False) -> None:
    audit.record("documents.downloaded", actor=user, partner_id=document.partner_id, object_type="document",
                 object_id=document.id, details={"api_application": api_application_id, "staff": staff,
                                                 "sha256": document.sha256})
    db.session.flush()


# --- the partner's web list: column rows from statements built once ---------------------------
# Twenty ORM entities with their category, upload and person (`documents_query`) cost several
# million instructions a page; the page needs ten values a row. One Core statement per
# combination of filters is built on first use (values bound at execution), so a request pays
# neither the building nor SQLAlchemy's cache key of a new statement. Same rows, same order,
# same joins (the person is optional, as joinedload made it). The API and staff pages keep
# `documents_query` and its entities.
_list_statements: dict[tuple[bool, bool, bool, bool], Select] = {}


def _list_statement(key: tuple[bool, bool, bool, bool]) -> Select:
    """The page of documents first (its filters, order, LIMIT and OFFSET on the document table
    alone: the index on (partner_id, received_at, id) answers it), then the upload's reference and
    the uploader's name for those rows only. Joined before the LIMIT, a plan made without the
    partner's number (PostgreSQL's generic plan) sorted all of a large partner's documents."""
    stmt = _list_statements.get(key)
    if stmt is not None:
        return stmt
    user = _user_model().__table__
    d, u = Document.__table__.c, Upload.__table__
    page = (select(d.id, d.received_at, d.display_name, d.size, d.api_application_id, d.case_number, d.category_id,
                   d.upload_id, d.status, d.is_test, d.uploaded_by_user_id)
            # IN of fixed values, not one expanding parameter that SQLAlchemy rewrites at every execution
            .where(d.partner_id == bindparam("partner_id"), d.status.in_([literal(v) for v in DocumentStatus.VISIBLE])))
    by_category, by_case, since, until = key
    if by_category:
        page = page.where(d.category_id == bindparam("category_id"))
    if by_case:
        page = page.where(d.case_number == bindparam("case_number"))
    if since:
        page = page.where(d.received_at >= bindparam("received_from"))
    if until:
        page = page.where(d.received_at < bindparam("received_before"))
    page = (page.order_by(d.received_at.desc(), d.id.desc())
            .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))).subquery("page")
    p = page.c
    # category_id and upload_id are required foreign keys: the joins drop no document.
    stmt = (select(p.id, p.received_at, p.display_name, p.size, p.api_application_id, p.case_number, p.category_id,
                   p.upload_id, p.status, p.is_test, u.c.reference, user.c.id.label("user_id"), user.c.first_name,
                   user.c.last_name)
            .select_from(page.join(u, u.c.id == p.upload_id).outerjoin(user, user.c.id == p.uploaded_by_user_id))
            .order_by(p.received_at.desc(), p.id.desc()))
    _list_statements[key] = stmt
    return stmt


def list_rows(partner_id: int, *, number: int, category_id=None, case_number=None, date_from=None,
              date_to=None) -> Page:
    """One page of the partner's received documents (newest first); its items are column rows.
    Filters as `documents_query`."""
    case_number = case_number.strip().upper() if case_number else None
    number, params = window(number)
    params["partner_id"] = partner_id
    if category_id:
        params["category_id"] = category_id
    if case_number:
        params["case_number"] = case_number
    if date_from:
        params["received_from"] = day_start(date_from)
    if date_to:
        params["received_before"] = day_start(date_to + timedelta(days=1))
    stmt = _list_statement((bool(category_id), bool(case_number), bool(date_from), bool(date_to)))
    return page_of(reads.rows(stmt, params), number)
