"""The agency's side: documents received, marking them processed, categories, and the sweeper."""
from __future__ import annotations

import time
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import contains_eager

from .. import audit
from ..access import Right
from ..db import utcnow
from ..extensions import db
from ..partners.models import Partner
from .models import Category, Document, DocumentStatus, Upload, UploadStatus
from .services import filter_documents
from .storage import delete_after_commit, get_storage

STATES = ("received", "processed", "all", "test")
DRAFT_LIFETIME = timedelta(hours=24)
ORPHAN_AGE = timedelta(hours=1)
SWEEP_INTERVAL = timedelta(minutes=10)
LANGUAGES = ("fr", "en", "de")
CATEGORY_FIELDS = tuple(f"{n}_{c}" for n in ("name", "description") for c in LANGUAGES) + ("position", "active")


def staff_query(*, state: str = "received", partner: str = "", category_id=None, case_number=None):
    """Received documents of every partner with their partner and category (one query), oldest unprocessed first."""
    stmt = (select(Document).join(Partner, Partner.id == Document.partner_id)
            .join(Category, Category.id == Document.category_id).join(Upload, Upload.id == Document.upload_id)
            .options(contains_eager(Document.partner), contains_eager(Document.category), contains_eager(Document.upload)))
    if state == "received":
        stmt = stmt.where(Document.status == DocumentStatus.RECEIVED, Document.is_test.is_(False)).order_by(
            Document.received_at, Document.id)
    elif state == "processed":
        stmt = stmt.where(Document.status == DocumentStatus.PROCESSED, Document.is_test.is_(False)).order_by(
            Document.processed_at.desc(), Document.id.desc())
    elif state == "test":
        stmt = stmt.where(Document.status.in_(DocumentStatus.VISIBLE), Document.is_test.is_(True)).order_by(
            Document.received_at.desc(), Document.id.desc())
    else:
        stmt = stmt.where(Document.status.in_(DocumentStatus.VISIBLE), Document.is_test.is_(False)).order_by(
            Document.received_at.desc(), Document.id.desc())
    partner = " ".join((partner or "").split())
    if partner:
        condition = or_(Partner.name_search.startswith(partner.lower(), autoescape=True), Partner.identifier == partner)
        if partner.isdigit():
            condition = or_(condition, Partner.id == int(partner))
        stmt = stmt.where(condition)
    return filter_documents(stmt, category_id=category_id, case_number=case_number)


def staff_document(document_id: int) -> Document | None:
    return db.session.execute(
        select(Document).where(Document.id == document_id, Document.status.in_(DocumentStatus.VISIBLE))
    ).scalar_one_or_none()


def mark_processed(staff_user, document: Document) -> bool:
    """Received → processed (a conditional UPDATE: two staff members cannot both do it); notifies the partner."""
    now = utcnow()
    result = db.session.execute(
        update(Document).where(Document.id == document.id, Document.status == DocumentStatus.RECEIVED)
        .values(status=DocumentStatus.PROCESSED, processed_at=now, processed_by_id=staff_user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(document)
    upload = document.upload
    audit.record("documents.processed", actor=staff_user, partner_id=document.partner_id, object_type="document",
                 object_id=document.id, details={"reference": upload.reference, "case": document.case_number})
    if not document.is_test:
        _notify(document, upload)
    db.session.flush()
    return True


def _notify(document: Document, upload: Upload) -> None:
    from ..notifications import services as notifications

    link = url_for("documents.index", partner_id=document.partner_id, case_number=document.case_number)
    notifications.notify_partner(
        document.partner_id, Right.VIEW_DOCUMENTS, "document_processed",
        _l("Document processed: %(name)s", name=document.display_name),
        _l("The agency has processed your document %(name)s (case or reference number %(case)s, upload %(reference)s).",
           name=document.display_name, case=document.case_number, reference=upload.reference),
        link=link,
    )


# --- categories -----------------------------------------------------------------------------

def save_category(actor, category: Category | None, data: dict) -> tuple[Category, bool]:
    """Create or change a category (three languages, active flag); audited. Returns (category, changed)."""
    created = category is None
    if created:
        category = Category()
        db.session.add(category)
    changes = {}
    for key in CATEGORY_FIELDS:
        value = data.get(key)
        if key.startswith("name_"):
            value = " ".join((value or "").split())
        elif key.startswith("description_"):
            value = (value or "").strip()
        elif key == "position":
            value = int(value or 0)
        else:
            value = bool(value)
        if getattr(category, key, None) != value:
            changes[key] = True if key.startswith("description") else [getattr(category, key, None), value]
            setattr(category, key, value)
    if not changes and not created:
        return category, False
    db.session.flush()
    audit.record("documents.category_created" if created else "documents.category_changed", actor=actor,
                 object_type="document_category", object_id=category.id, details=changes)
    return category, True


# --- the sweeper (a worker task) ------------------------------------------------------------

_last_sweep = {"at": None}


def purge_abandoned(force: bool = False) -> str | None:
    """Drafts older than a day, and files without a row (a process killed before its commit).

    The worker calls it on every pass (seconds apart); it walks the whole store, so it
    runs at most once per SWEEP_INTERVAL in a process unless `force`.
    """
    now = time.monotonic()
    if not force and _last_sweep["at"] is not None and now - _last_sweep["at"] < SWEEP_INTERVAL.total_seconds():
        return None
    _last_sweep["at"] = now
    storage = get_storage()
    cutoff = utcnow() - DRAFT_LIFETIME
    drafts = list(db.session.execute(
        select(Upload.id).where(Upload.status == UploadStatus.DRAFT, Upload.created_at < cutoff).limit(500)
    ).scalars())
    files = 0
    if drafts:
        names = db.session.execute(select(Document.stored_name).where(Document.upload_id.in_(drafts))).scalars().all()
        for name in names:
            delete_after_commit(db.session, storage, name)
        db.session.execute(delete(Document).where(Document.upload_id.in_(drafts)))
        db.session.execute(delete(Upload).where(Upload.id.in_(drafts)))
        files += len(names)
    db.session.commit()
    orphans = 0
    batch: list[str] = []
    for entry in storage.names_older_than(ORPHAN_AGE.total_seconds()):
        if entry.startswith("tmp/"):
            storage.delete_temporary(entry)
            orphans += 1
            continue
        batch.append(entry)
        if len(batch) >= 500:
            orphans += _delete_orphans(storage, batch)
            batch = []
    if batch:
        orphans += _delete_orphans(storage, batch)
    db.session.remove()
    if drafts or orphans:
        return f"documents: {len(drafts)} abandoned drafts ({files} files) and {orphans} orphan files deleted"
    return None


def _delete_orphans(storage, names: list[str]) -> int:
    known = set(db.session.execute(select(Document.stored_name).where(Document.stored_name.in_(names))).scalars())
    count = 0
    for name in names:
        if name not in known:
            try:
                storage.delete(name)
                count += 1
            except (OSError, ValueError):
                current_app.logger.warning("could not delete the orphan upload %s", name)
    return count
