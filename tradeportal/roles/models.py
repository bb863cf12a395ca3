"""The catalogue of business partner roles, and the roles partners request and hold."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..account.models import User
from ..db import utcnow
from ..extensions import db
from ..partners.models import Partner
from ..public.models import Trilingual

# Portal services a role can open.
SERVICES = ("certificates", "api_self_service", "documents", "secure_messages", "payments")


class Role(Trilingual, db.Model):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable key (demo data, agency notices to a role's holders): not changed after creation.
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
    # A retired role (False) cannot be requested; the grants it has keep working.
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def service_set(self) -> set[str]:
        return {s for s in self.services.split(",") if s}


class GrantStatus:
    PENDING = "pending"  # waiting for the agency's review
    ACTIVE = "active"  # the role is held: it opens its services
    REJECTED = "rejected"  # the agency refused the request (with a reason)
    REVOKED = "revoked"  # the agency took an active role back (with a reason)
    WITHDRAWN = "withdrawn"  # the partner withdrew its pending request
    ALL = (PENDING, ACTIVE, REJECTED, REVOKED, WITHDRAWN)
    OPEN = (PENDING, ACTIVE)


# A partner holds at most one open (pending or active) request per role. Both SQLite
# and PostgreSQL have partial unique indexes, so the database itself refuses a second one.
_OPEN = text("status IN ('pending', 'active')")


class RoleRequest(db.Model):
    """One request of a partner for one role; once active it is the partner's grant of that role.

    Closed requests (rejected, revoked, withdrawn) stay as the history; the role can
    then be requested again, which makes a new row.
    """

    __tablename__ = "role_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id"))
    status: Mapped[str] = mapped_column(String(20), default=GrantStatus.PENDING)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    activated_at: Mapped[datetime | None]
    # The last decision: approval, rejection, revocation or withdrawal (None: made active at once).
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)

    partner: Mapped[Partner] = relationship()
    role: Mapped[Role] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        Index("uq_role_request_open", "partner_id", "role_id", unique=True,
              sqlite_where=_OPEN, postgresql_where=_OPEN),
        Index("ix_role_request_partner_id_status", "partner_id", "status"),
        # The staff queue (pending, oldest first) and the holders of a role.
        Index("ix_role_request_status_requested_at", "status", "requested_at", "id"),
        Index("ix_role_request_role_id_status", "role_id", "status"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in GrantStatus.OPEN


# The grant of a role is the request that became active: one table, two names.
RoleGrant = RoleRequest
