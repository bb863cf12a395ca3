"""Public content: news, terms of use and feedback on pages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db


class Trilingual:
    """Mixin for rows with <field>_fr, <field>_en and <field>_de columns."""

    def localized(self, field: str, locale: str | None = None) -> str:
        if locale is None:
            from ..i18n import current_language

            locale = current_language()
        value = getattr(self, f"{field}_{locale}", None)
        if value:
            return value
        for fallback in ("fr", "en", "de"):
            value = getattr(self, f"{field}_{fallback}", None)
            if value:
                return value
        return ""


class NewsItem(Trilingual, db.Model):
    __tablename__ = "news_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    published_at: Mapped[datetime] = mapped_column(index=True)
    title_fr: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    title_de: Mapped[str] = mapped_column(String(200))
    body_fr: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    body_de: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TermsVersion(Trilingual, db.Model):
    """A published version of the terms of use; the newest published one is current."""

    __tablename__ = "terms_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    body_fr: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    body_de: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class Feedback(db.Model):
    """What a visitor said about a page; staff read it in the back office."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    page_url: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(5))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]
