"""Public content: news for the home page, the current terms, feedback."""
from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy import select

from ..db import utcnow
from ..extensions import db
from .models import Feedback, NewsItem, TermsVersion


def latest_news(limit: int = 5) -> list[NewsItem]:
    return list(
        db.session.execute(
            select(NewsItem).where(NewsItem.published_at <= utcnow()).order_by(NewsItem.published_at.desc()).limit(limit)
        ).scalars()
    )


def published_news_item(news_id: int) -> NewsItem | None:
    return db.session.execute(
        select(NewsItem).where(NewsItem.id == news_id, NewsItem.published_at <= utcnow())
    ).scalar_one_or_none()


def current_terms() -> TermsVersion | None:
    return db.session.execute(
        select(TermsVersion).where(TermsVersion.published_at <= utcnow()).order_by(TermsVersion.version.desc()).limit(1)
    ).scalar_one_or_none()


def safe_page_url(value: str | None) -> str:
    """Keep only a path on this site: feedback never stores or links elsewhere."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]


def leave_feedback(user, page_url: str, text: str) -> Feedback:
    """Store feedback about a page; staff read it in the back office."""
    feedback = Feedback(
        page_url=safe_page_url(page_url),
        text=text.strip(),
        locale=str(get_locale()),
        user_id=getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None,
    )
    db.session.add(feedback)
    db.session.flush()
    return feedback
