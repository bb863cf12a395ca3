"""Verification letters: the one-time code, its redemption, the staff queue and the PDF.

The code has 10 characters from Crockford's base-32 alphabet (50 bits), shown as
"ABCDE-FGHJK". Only its HMAC-SHA256 (keyed with SECRET_KEY) is needed to check
it; the code itself is kept in `code_plain` only until the letter is marked as
posted, because the letter must still be printed (see docs/PARTNERS.md).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from markupsafe import Markup
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..db import utcnow
from ..extensions import db
from ..pdf import render_pdf
from .models import MemberRole, Membership, Partner, PartnerKind, PartnerStatus, RegisterEntry, VerificationLetter

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
CODE_LENGTH = 10
VALIDITY = timedelta(days=14)
MAX_WRONG_CODES = 5
LETTERS_PER_WINDOW = 3
LETTER_WINDOW = timedelta(days=30)
# Letters a person mistakes for each other are read as the one the alphabet keeps.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class LetterError(Exception):
    """A rule refused the action; the message is for the person."""


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def normalise_code(value: str) -> str | None:
    """The canonical code typed in any case, with or without spaces and hyphens; None if malformed."""
    text = "".join(ch for ch in (value or "").upper() if ch not in " -.\t").translate(_LOOKALIKES)
    if len(text) != CODE_LENGTH or any(ch not in ALPHABET for ch in text):
        return None
    return text


def hash_code(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"tradeportal.letter-code:" + code.encode(), hashlib.sha256).hexdigest()


# --- the letter's recipient ------------------------------------------------------

def letter_recipient(partner: Partner) -> tuple[str, list[str]]:
    """Name and address lines the letter goes to: a branch's letter goes to its head office."""
    if partner.kind != PartnerKind.BRANCH:
        return partner.name, partner.address_lines
    head = db.session.execute(
        select(Partner).where(Partner.registration_key == partner.head_office_identifier)
    ).scalar_one_or_none()
    if head is None:
        head = db.session.execute(
            select(RegisterEntry).where(RegisterEntry.identifier == partner.head_office_identifier)
        ).scalar_one_or_none()
    if head is None:
        raise LetterError("head office unknown")
    lines = [head.address_line1, head.address_line2, f"{head.postcode} {head.town}", head.country]
    return head.name, [line for line in lines if line]


def live_letter(partner: Partner) -> VerificationLetter | None:
    now = utcnow()
    return db.session.execute(
        select(VerificationLetter)
        .where(
            VerificationLetter.partner_id == partner.id,
            VerificationLetter.redeemed_at.is_(None),
            VerificationLetter.revoked_at.is_(None),
            VerificationLetter.expires_at > now,
        )
        .order_by(VerificationLetter.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def letters_of(partner: Partner) -> list[VerificationLetter]:
    return list(db.session.execute(
        select(VerificationLetter).where(VerificationLetter.partner_id == partner.id).order_by(VerificationLetter.id.desc())
    ).scalars())


def letters_left(partner: Partner) -> int:
    since = utcnow() - LETTER_WINDOW
    count = db.session.execute(
        select(func.count()).select_from(VerificationLetter)
        .where(VerificationLetter.partner_id == partner.id, VerificationLetter.created_at > since)
    ).scalar_one()
    return max(0, LETTERS_PER_WINDOW - count)


def queue_letter(partner: Partner, requested_by, reason: str = "registration") -> VerificationLetter:
    """Queue a letter with a new code; any live code of the partner dies. At most 3 per 30 days."""
    if letters_left(partner) <= 0:
        raise LetterError("limit")
    now = utcnow()
    db.session.execute(
        update(VerificationLetter)
        .where(VerificationLetter.partner_id == partner.id, VerificationLetter.redeemed_at.is_(None),
               VerificationLetter.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason="replaced", code_plain=None)
    )
    name, lines = letter_recipient(partner)
    code = new_code()
    letter = VerificationLetter(
        partner_id=partner.id, requested_by_id=getattr(requested_by, "id", None),
        code_hash=hash_code(code), code_plain=code, locale=partner.locale,
        recipient_name=name, recipient_address="\n".join(lines),
        created_at=now, expires_at=now + VALIDITY, failed_attempts=0,
    )
    db.session.add(letter)
    db.session.flush()
    audit.record("partners.letter_queued", actor=requested_by, partner_id=partner.id,
                 object_type="verification_letter", object_id=letter.id, details={"reason": reason})
    if current_app.config.get("ENVIRONMENT") == "development":
        _log_for_development(letter, partner, code)
    return letter


def request_new_letter(user, partner: Partner) -> VerificationLetter:
    if partner.status != PartnerStatus.LETTER_PENDING or partner.is_suspended:
        raise LetterError("state")
    return queue_letter(partner, user, reason="requested_again")


# --- redemption ----------------------------------------------------------------------

@dataclass
class Redemption:
    outcome: str  # "redeemed", "wrong", "no_code" (none valid: request a new letter), "used" (someone else was first)
    attempts_left: int = 0


def redeem_code(user, partner: Partner, typed: str) -> Redemption:
    """Make `user` the administrator of `partner` if `typed` is its live code.

    Single use is decided by the database: the conditional UPDATE succeeds for
    exactly one of two simultaneous redemptions. Wrong codes are counted on the
    letter; the fifth kills it.
    """
    code = normalise_code(typed)
    letter = live_letter(partner)
    if letter is None or letter.failed_attempts >= MAX_WRONG_CODES:
        return Redemption("no_code")
    now = utcnow()
    if code is None or not hmac.compare_digest(hash_code(code), letter.code_hash):
        db.session.execute(update(VerificationLetter).where(VerificationLetter.id == letter.id)
                           .values(failed_attempts=VerificationLetter.failed_attempts + 1))
        db.session.execute(
            update(VerificationLetter)
            .where(VerificationLetter.id == letter.id, VerificationLetter.revoked_at.is_(None),
                   VerificationLetter.failed_attempts >= MAX_WRONG_CODES)
            .values(revoked_at=now, revoke_reason="too_many_wrong_codes", code_plain=None)
        )
        db.session.refresh(letter)
        audit.record("partners.code_wrong", actor=user, partner_id=partner.id, object_type="verification_letter",
                     object_id=letter.id, subject_user_id=user.id, details={"attempt": letter.failed_attempts})
        left = max(0, MAX_WRONG_CODES - letter.failed_attempts)
        return Redemption("wrong", left)  # left == 0: the code died with this attempt
    result = db.session.execute(
        update(VerificationLetter)
        .where(
            VerificationLetter.id == letter.id,
            VerificationLetter.code_hash == letter.code_hash,
            VerificationLetter.redeemed_at.is_(None),
            VerificationLetter.revoked_at.is_(None),
            VerificationLetter.expires_at > now,
            VerificationLetter.failed_attempts < MAX_WRONG_CODES,
        )
        .values(redeemed_at=now, redeemed_by_id=user.id, code_plain=None)
    )
    if result.rowcount != 1:
        return Redemption("used")
    _become_administrator(user, partner, now)
    audit.record("partners.code_redeemed", actor=user, partner_id=partner.id, object_type="verification_letter",
                 object_id=letter.id, subject_user_id=user.id)
    return Redemption("redeemed")


def _become_administrator(user, partner: Partner, now) -> None:
    from .models import AccessRequest

    membership = db.session.execute(
        select(Membership).where(Membership.partner_id == partner.id, Membership.user_id == user.id)
    ).scalar_one_or_none()
    if membership is None:
        db.session.add(Membership(partner_id=partner.id, user_id=user.id, role=MemberRole.ADMINISTRATOR,
                                  rights="", added_by_id=user.id, created_at=now))
    else:
        membership.role = MemberRole.ADMINISTRATOR
    partner.status = PartnerStatus.ACTIVE
    partner.activated_at = now
    # Their own request to join is answered by the code.
    db.session.execute(
        update(AccessRequest)
        .where(AccessRequest.partner_id == partner.id, AccessRequest.user_id == user.id, AccessRequest.status == "pending")
        .values(status="approved", decided_at=now, decided_by_id=user.id)
    )
    db.session.flush()


# --- the staff queue and the PDF ----------------------------------------------------------

def pending_letters_stmt(upto: int | None = None):
    stmt = (
        select(VerificationLetter)
        .join(Partner, Partner.id == VerificationLetter.partner_id)
        .where(
            VerificationLetter.posted_at.is_(None),
            VerificationLetter.redeemed_at.is_(None),
            VerificationLetter.revoked_at.is_(None),
            VerificationLetter.code_plain.is_not(None),
            VerificationLetter.expires_at > utcnow(),
            Partner.suspended_at.is_(None),
        )
        .order_by(VerificationLetter.id)
    )
    if upto is not None:
        stmt = stmt.where(VerificationLetter.id <= upto)
    return stmt


def pending_letters(upto: int | None = None, limit: int = 500) -> list[VerificationLetter]:
    return list(db.session.execute(pending_letters_stmt(upto).limit(limit)).scalars())


def mark_posted(staff_user, upto: int) -> int:
    """Mark the pending letters up to id `upto` as posted and wipe their codes."""
    now = utcnow()
    letters = pending_letters(upto, limit=10_000)
    for letter in letters:
        letter.posted_at = now
        letter.posted_by_id = staff_user.id
        letter.code_plain = None
        audit.record("partners.letter_posted", actor=staff_user, partner_id=letter.partner_id,
                     object_type="verification_letter", object_id=letter.id)
    db.session.flush()
    return len(letters)


def render_letters_pdf(letters: list[VerificationLetter], locale: str) -> bytes:
    """One PDF, one A4 page per letter, each in its partner's language."""
    config = current_app.config
    pages = []
    for letter in letters:
        partner = letter.partner
        with force_locale(letter.locale):
            pages.append(Markup(render_template(
                "pdf/letter.html", letter=letter, partner=partner, code=format_code(letter.code_plain),
                address_lines=letter.recipient_address.split("\n"), agency_name=config["AGENCY_NAME"],
                contact_address=config["CONTACT_ADDRESS"], contact_email=config["CONTACT_EMAIL"],
                contact_phone=config["CONTACT_PHONE"], base_url=config["BASE_URL"].rstrip("/"),
            )))
    return render_pdf("pdf/letters.html", locale, pages=pages)


# --- development: the letter in the mail log ----------------------------------------------

def _log_for_development(letter: VerificationLetter, partner: Partner, code: str) -> None:
    text = (
        f"=== {utcnow().isoformat()} ===\nTo: (postal letter) {letter.recipient_name}\n"
        f"Subject: Verification letter for {partner.name} (partner {partner.id})\n\n"
        f"One-time code: {format_code(code)}\nValid until: {letter.expires_at.isoformat()}\n"
        f"Address:\n{letter.recipient_address}\n\n"
    )
    db.session.info.setdefault("tp_dev_letters", []).append((current_app.config["MAIL_LOG"], text))


@event.listens_for(Session, "after_commit")
def _write_dev_letters(session):
    for path, text in session.info.pop("tp_dev_letters", []):
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)


@event.listens_for(Session, "after_rollback")
def _forget_dev_letters(session):
    session.info.pop("tp_dev_letters", None)
