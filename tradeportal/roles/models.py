"""The catalogue of business partner roles."""
from __future__ import annotations

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..public.models import Trilingual

# Portal services a role can open.
SERVICES = ("certificates", "api_self_service", "documents", "secure_messages", "payments")


class Role(Trilingual, db.Model):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_fr: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    name_de: Mapped[str] = mapped_column(String(120))
    description_fr: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_de: Mapped[str] = mapped_column(Text, default="")
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # Comma-separated names from SERVICES.
    services: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def service_set(self) -> set[str]:
        return {s for s in self.services.split(",") if s}
