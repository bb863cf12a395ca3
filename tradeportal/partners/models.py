"""Business partners and the agency's company register."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db


class RegisterEntry(db.Model):
    """One company of the register the agency imports (flask tp import-register)."""

    __tablename__ = "register_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    # Lower-case copy of the name, for case-insensitive prefix search on every database.
    name_search: Mapped[str] = mapped_column(String(200), index=True)
    legal_form: Mapped[str] = mapped_column(String(80))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(16), index=True)
    town: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    head_office_identifier: Mapped[str | None] = mapped_column(String(32))
    branch_number: Mapped[str | None] = mapped_column(String(16))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
