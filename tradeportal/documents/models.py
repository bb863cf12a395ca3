"""Documents: categories (kept by staff), uploads (a draft, then received) and their files."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..account.models import User
from ..db import utcnow
from ..extensions import db
from ..partners.models import Partner
from ..public.models import Trilingual


class DocumentCategory(Trilingual, db.Model):
    """A kind of document a partner can send (three languages); retired ones (active off) are not offered."""

    __tablename__ = "document_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_fr: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    name_de: Mapped[str] = mapped_column(String(120))
    description_fr: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_de: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


Category = DocumentCategory


class UploadStatus:
    DRAFT = "draft"  # files are being chosen (staged); nothing reached the agency yet
    RECEIVED = "received"  # sent: the reference and the time of receipt are fixed


class DocumentStatus:
    STAGED = "staged"  # stored, part of a draft upload not sent yet
    RECEIVED = "received"
    PROCESSED = "processed"  # staff marked it processed
    VISIBLE = (RECEIVED, PROCESSED)


class Upload(db.Model):
    """One sending of 1 to 10 files for one category and one case number."""

    __tablename__ = "document_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("document_category.id"))
    case_number: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default=UploadStatus.DRAFT)
    # Public reference ("DOC-2026-7K3QZP"), given when the upload is received.
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None]
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    api_application_id: Mapped[int | None] = mapped_column(Integer)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    # Files refused in the last batch of a draft: [{"name", "code", "params"}], shown on its summary.
    rejections: Mapped[list | None] = mapped_column(JSON)

    category: Mapped[DocumentCategory] = relationship()
    partner: Mapped[Partner] = relationship()
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        # The sweeper finds abandoned drafts by status and age.
        Index("ix_document_upload_status_created_at", "status", "created_at"),
    )


class Document(db.Model):
    """One file: stored under a generated name, shown under its sanitised original name."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    upload_id: Mapped[int] = mapped_column(ForeignKey("document_upload.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("document_category.id"))
    case_number: Mapped[str] = mapped_column(String(10))
    display_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.STAGED)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    processed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    api_application_id: Mapped[int | None] = mapped_column(Integer)

    upload: Mapped[Upload] = relationship()
    category: Mapped[DocumentCategory] = relationship()
    partner: Mapped[Partner] = relationship()
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_user_id])

    __table_args__ = (
        # The partner's list (newest first) and the staff's list by state.
        Index("ix_document_partner_id_received_at", "partner_id", "received_at", "id"),
        Index("ix_document_status_received_at", "status", "received_at", "id"),
    )

    @property
    def is_processed(self) -> bool:
        return self.status == DocumentStatus.PROCESSED
