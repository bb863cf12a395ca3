"""The user account: one person's login, never shared."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db


def normalise_email(address: str) -> str:
    """The form an address is compared and kept unique in (case-insensitive)."""
    return address.strip().lower()


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    email_normalized: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_extension: Mapped[str | None] = mapped_column(String(10))
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    email_confirmed_at: Mapped[datetime | None]
    # Second factor: base32 TOTP secret and the last accepted time step (replay guard).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # The secret offered at the first set-up, until a code proves the app has it (kept on the
    # server, never in the cookie; the same one is offered again if the person comes back).
    totp_candidate_secret: Mapped[str | None] = mapped_column(String(64))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_permissions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def second_factor_enrolled(self) -> bool:
        return self.totp_enrolled_at is not None

    def staff_permission_set(self) -> set[str]:
        return {p for p in (self.staff_permissions or "").split(",") if p}

    def has_staff_permission(self, permission) -> bool:
        value = getattr(permission, "value", permission)
        return self.is_staff and value in self.staff_permission_set()

    def __repr__(self) -> str:
        return f"<User {self.id}>"
