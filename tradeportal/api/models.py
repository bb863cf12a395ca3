"""API applications, their tokens, the partner's API notification feed and webhook deliveries.

Secrets are never stored: client secrets and tokens as SHA-256 hex digests, webhook
secrets derived from the secret key and a random nonce (see webhooks.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import utcnow
from ..extensions import db

ENVIRONMENTS = ("test", "live")


class ApiApplication(db.Model):
    """A business software connected by a partner ("consumer" in the seeds)."""

    __tablename__ = "api_application"

    is_api_application = True  # what access.api_token recognises

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    environment: Mapped[str] = mapped_column(String(10))  # test | live
    scopes: Mapped[str] = mapped_column(String(300), default="")  # space-separated
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    secret_created_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The keys page may be shown once, to this person, until this time (see services.reveal).
    reveal_kind: Mapped[str | None] = mapped_column(String(20))
    reveal_user_id: Mapped[int | None] = mapped_column(Integer)
    reveal_until: Mapped[datetime | None]
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_nonce: Mapped[str | None] = mapped_column(String(64))
    # Highest api_notification id already queued for the webhook.
    webhook_cursor: Mapped[int] = mapped_column(Integer, default=0)

    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def is_test(self) -> bool:
        return self.environment == "test"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def scope_set(self) -> set[str]:
        return {s for s in (self.scopes or "").split() if s}


class ApiToken(db.Model):
    """An access or refresh token. A refresh token's `family` is the chain it belongs to."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("api_application.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # access | refresh
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]  # refresh tokens: exchanged (single use)
    revoked_at: Mapped[datetime | None]


class ApiNotification(db.Model):
    """What the partner's API applications read: one row per event, not per member.

    Filled from the partner notifications the portal creates (see feed.py), and,
    for test applications, from the test-only endpoint (`is_test`).
    """

    __tablename__ = "api_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key, like notification.partner_id: whatever the portal notifies is kept.
    partner_id: Mapped[int] = mapped_column(Integer)
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    notice_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_api_notification_partner_id_is_test_id", "partner_id", "is_test", "id"),)


class WebhookDelivery(db.Model):
    __tablename__ = "api_webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("api_application.id", ondelete="CASCADE"))
    notification_id: Mapped[int] = mapped_column(ForeignKey("api_notification.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("application_id", "notification_id"),
        Index("ix_api_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_api_webhook_delivery_application_id_id", "application_id", "id"),
    )


class DownloadTicket(db.Model):
    """Allows one download of the keys just shown (10 minutes, single use)."""

    __tablename__ = "api_download_ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("api_application.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
