"""Notifications (one row per recipient) and agency notices (fanned out by the worker)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db
from ..public.models import Trilingual


class Notification(db.Model):
    """A message for one person, already rendered in their language.

    A partner audience is fanned out at creation: every member sees their own
    row, which they read or mark unread independently. `partner_id` only says
    which partner it was about (no FK: the partners tables are another branch).
    """

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    partner_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("agency_notice.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (
        # The inbox: one person's rows, newest first (B-trees are read backwards as fast).
        Index("ix_notification_user_id_created_at", "user_id", "created_at", "id"),
        # The badge and the "unread" filter: only unread rows are in this partial index
        # (SQLite and PostgreSQL both have them), so their cost follows the unread
        # count, not the size of the table or of the person's history.
        Index("ix_notification_unread", "user_id", "created_at", "id",
              sqlite_where=text("read_at IS NULL"), postgresql_where=text("read_at IS NULL")),
        # A notice reaches a person once, however often the worker resumes.
        UniqueConstraint("notice_id", "user_id"),
    )

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class AgencyNotice(Trilingual, db.Model):
    """A notice written by the agency in three languages for an audience.

    Sending only queues it; the worker task creates the notifications in
    batches, remembering the last user id done (`cursor_user_id`).
    """

    __tablename__ = "agency_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_fr: Mapped[str] = mapped_column(String(200))
    subject_en: Mapped[str] = mapped_column(String(200))
    subject_de: Mapped[str] = mapped_column(String(200))
    body_fr: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    body_de: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    audience: Mapped[str] = mapped_column(String(20))  # everyone | role | partner
    audience_value: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)  # queued | sending | done
    cursor_user_id: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
