"""Server-side sign-in sessions, so that any session can be ended from anywhere."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..account.models import User
from ..db import utcnow
from ..extensions import db


class UserSession(db.Model):
    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the random token kept in the signed cookie; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
