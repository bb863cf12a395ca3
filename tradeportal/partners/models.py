"""Business partners, the agency's company register, memberships, letters, invitations, access requests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..account.models import User
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

    # PostgreSQL only uses an index for LIKE 'abc%' with the pattern operator class
    # (the default one follows the collation); SQLite searches by range on the plain index.
    __table_args__ = (
        Index("ix_register_entry_name_prefix", "name_search", postgresql_ops={"name_search": "varchar_pattern_ops"}),
        Index("ix_register_entry_identifier_prefix", "identifier", postgresql_ops={"identifier": "varchar_pattern_ops"}),
    )

    @property
    def is_branch(self) -> bool:
        return bool(self.head_office_identifier)


class PartnerKind:
    LEGAL_ENTITY = "legal_entity"
    NATURAL_PERSON = "natural_person"
    BRANCH = "branch"
    ALL = (LEGAL_ENTITY, NATURAL_PERSON, BRANCH)


class PartnerStatus:
    AWAITING_CHECK = "awaiting_check"  # manual entry: the agency checks it before a letter goes out
    LETTER_PENDING = "letter_pending"  # a letter with a one-time code is queued or on its way
    ACTIVE = "active"  # the code was redeemed: the partner has an administrator
    REJECTED = "rejected"  # the agency refused the manual entry
    ALL = (AWAITING_CHECK, LETTER_PENDING, ACTIVE, REJECTED)


NAME_SEARCH_TYPE = String(200).with_variant(String(200, collation="C"), "postgresql")


class Partner(db.Model):
    """A business partner: a legal entity, a natural person or a branch of a partner."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(String(10))  # "register" or "manual"
    identifier: Mapped[str | None] = mapped_column(String(32), index=True)
    # What makes a partner unique (its identifier, or head office + branch number);
    # the database refuses a second registration. Cleared when the agency rejects the entry.
    registration_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Byte order ("C") on PostgreSQL, as SQLite orders text: its index then answers "starts with"
    # as a range (partners.services._prefix) and the order of the search at once. Under another
    # collation a prefix needs LIKE, which PostgreSQL answered by walking the names in order.
    name_search: Mapped[str] = mapped_column(NAME_SEARCH_TYPE, index=True)
    legal_form: Mapped[str | None] = mapped_column(String(80))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(16))
    town: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    head_office_identifier: Mapped[str | None] = mapped_column(String(32), index=True)
    branch_number: Mapped[str | None] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(5))  # language of its letters
    register_entry_id: Mapped[int | None] = mapped_column(ForeignKey("register_entry.id", ondelete="SET NULL"))
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    checked_at: Mapped[datetime | None]
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    activated_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(Text)

    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def display_status(self) -> str:
        return "suspended" if self.is_suspended else self.status

    @property
    def is_manual(self) -> bool:
        return self.source == "manual"

    @property
    def address_lines(self) -> list[str]:
        lines = [self.address_line1, self.address_line2, f"{self.postcode} {self.town}".strip(), self.country]
        return [line for line in lines if line]


class MemberRole:
    ADMINISTRATOR = "administrator"
    DEPUTY = "deputy"
    MEMBER = "member"
    ALL = (ADMINISTRATOR, DEPUTY, MEMBER)
    MANAGERS = (ADMINISTRATOR, DEPUTY)


class Membership(db.Model):
    """A person working for a partner, with a role and the rights given to them."""

    __tablename__ = "partner_membership"
    __table_args__ = (UniqueConstraint("partner_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default=MemberRole.MEMBER)
    # Comma-separated values of access.Right (administrators and deputies hold them all).
    rights: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    partner: Mapped[Partner] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_manager(self) -> bool:
        return self.role in MemberRole.MANAGERS

    def right_set(self) -> set[str]:
        return {r for r in (self.rights or "").split(",") if r}

    def has_right(self, right) -> bool:
        if right is None or self.is_manager:
            return True
        return getattr(right, "value", right) in self.right_set()


class VerificationLetter(db.Model):
    """A postal letter carrying a one-time code that makes its redeemer the partner's administrator."""

    __tablename__ = "verification_letter"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # HMAC-SHA256 (keyed with SECRET_KEY) of the normalised code.
    code_hash: Mapped[str] = mapped_column(String(64))
    # The code itself, only until the letter is posted (it must be printed); then wiped.
    code_plain: Mapped[str | None] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(5))
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_address: Mapped[str] = mapped_column(Text)  # lines joined by "\n", snapshot at creation
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    posted_at: Mapped[datetime | None] = mapped_column(index=True)
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    redeemed_at: Mapped[datetime | None]
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(40))

    partner: Mapped[Partner] = relationship()

    def is_live(self, now: datetime) -> bool:
        return self.redeemed_at is None and self.revoked_at is None and self.expires_at > now

    def state(self, now: datetime) -> str:
        if self.redeemed_at:
            return "redeemed"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "posted" if self.posted_at else "queued"


class Invitation(db.Model):
    """An administrator invites a colleague by e-mail; only the SHA-256 of the link's token is kept."""

    __tablename__ = "partner_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    email_normalized: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(20), default=MemberRole.MEMBER)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None]

    partner: Mapped[Partner] = relationship()

    def state(self, now: datetime) -> str:
        if self.accepted_at:
            return "accepted"
        if self.withdrawn_at:
            return "withdrawn"
        if self.expires_at <= now:
            return "expired"
        return "pending"


class AccessRequest(db.Model):
    """A person asks to join a partner; its administrators approve or refuse."""

    __tablename__ = "access_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending/approved/refused/withdrawn
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decision_message: Mapped[str | None] = mapped_column(Text)

    partner: Mapped[Partner] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
