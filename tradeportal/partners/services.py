"""Registering a partner: register lookup, take-over, manual entry, joining an existing partner."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, func, literal, literal_column, or_, select, union_all
from sqlalchemy.exc import IntegrityError

from .. import audit, reads
from ..db import utcnow
from ..extensions import db
from .identifiers import accepted_schemes, identifier_prefixes, normalise
from .letters import queue_letter
from .models import AccessRequest, MemberRole, Membership, Partner, PartnerKind, PartnerStatus, RegisterEntry

SEARCH_LIMIT = 25
JOIN_LIMIT = 10


class RegistrationError(Exception):
    """A rule refused the registration; `partner` is the one already registered, if any."""

    def __init__(self, message, partner: Partner | None = None):
        super().__init__(message)
        self.message = message
        self.partner = partner


def search_key(text: str) -> str:
    return " ".join((text or "").lower().split())


def _prefix_is_like(column) -> bool:
    """Whether "starts with" must be a LIKE on this database: PostgreSQL under a collation that is
    not byte order. In byte order (SQLite's text, partner.name_search on PostgreSQL) a range of the
    index is exactly "starts with"; unlike LIKE with a parameter, it stays a range in a generic plan."""
    dialect = db.session.get_bind().dialect
    return dialect.name == "postgresql" and getattr(column.type.dialect_impl(dialect), "collation", None) != "C"


def _like_pattern(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _range_end(prefix: str) -> str:
    """The first text after every text that starts with `prefix` (in byte order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _prefix(column, prefix: str):
    """`column` starts with `prefix`, in a form the database answers from an index."""
    if _prefix_is_like(column):
        return column.like(_like_pattern(prefix), escape="\\")
    return and_(column >= prefix, column < _range_end(prefix))


@dataclass
class SearchResult:
    entries: list = field(default_factory=list)
    more: bool = False
    registered: dict = field(default_factory=dict)  # identifier -> Partner already registered
    searched: bool = False


def search_register(q: str = "", legal_form: str = "", postcode: str = "", town: str = "") -> SearchResult:
    """Companies of the register by identifier, name prefix, legal form, postcode prefix, town; bounded."""
    conditions = []
    q = (q or "").strip()
    if q:
        found = normalise(q, accepted_schemes())
        if found:
            conditions.append(RegisterEntry.identifier == found[1])
        elif identifier_prefixes(q):
            conditions.append(or_(*[_prefix(RegisterEntry.identifier, p) for p in identifier_prefixes(q)]))
        else:
            conditions.append(_prefix(RegisterEntry.name_search, search_key(q)))
    if (postcode or "").strip():
        conditions.append(_prefix(RegisterEntry.postcode, postcode.strip().upper()))
    if (legal_form or "").strip():
        conditions.append(func.lower(RegisterEntry.legal_form) == legal_form.strip().lower())
    if (town or "").strip():
        conditions.append(func.lower(RegisterEntry.town) == town.strip().lower())
    if not conditions:
        return SearchResult()
    rows = list(db.session.execute(
        select(RegisterEntry).where(*conditions).order_by(RegisterEntry.name_search, RegisterEntry.id).limit(SEARCH_LIMIT + 1)
    ).scalars())
    entries = rows[:SEARCH_LIMIT]
    registered = {}
    if entries:
        keys = [e.identifier for e in entries]
        for partner in db.session.execute(select(Partner).where(Partner.registration_key.in_(keys))).scalars():
            registered[partner.registration_key] = partner
    return SearchResult(entries, len(rows) > SEARCH_LIMIT, registered, True)


def _already_registered(key: str | None) -> Partner | None:
    if not key:
        return None
    return db.session.execute(select(Partner).where(Partner.registration_key == key)).scalar_one_or_none()


def _insert_partner(partner: Partner) -> Partner:
    """Add `partner`; the unique registration key in the database refuses a second registration."""
    try:
        with db.session.begin_nested():
            db.session.add(partner)
            db.session.flush()
    except IntegrityError:
        raise RegistrationError(_l("This business partner is already registered."),
                                _already_registered(partner.registration_key)) from None
    return partner


def register_from_entry(user, entry: RegisterEntry, locale: str) -> Partner:
    """Take over a company of the register: the partner exists at once and its letter is queued."""
    existing = _already_registered(entry.identifier)
    if existing is not None:
        raise RegistrationError(_l("This business partner is already registered."), existing)
    partner = _insert_partner(Partner(
        kind=PartnerKind.BRANCH if entry.is_branch else PartnerKind.LEGAL_ENTITY,
        status=PartnerStatus.LETTER_PENDING, source="register",
        identifier=entry.identifier, registration_key=entry.identifier,
        name=entry.name, name_search=search_key(entry.name), legal_form=entry.legal_form,
        address_line1=entry.address_line1, address_line2=entry.address_line2, postcode=entry.postcode,
        town=entry.town, country=entry.country, head_office_identifier=entry.head_office_identifier,
        branch_number=entry.branch_number, locale=locale, register_entry_id=entry.id, registered_by_id=user.id,
    ))
    audit.record("partners.registered", actor=user, partner_id=partner.id, object_type="partner",
                 object_id=partner.id, details={"source": "register", "identifier": entry.identifier})
    queue_letter(partner, user)
    return partner


def _manual_key(kind: str, identifier: str | None, head: str | None, branch_number: str | None) -> str | None:
    if identifier:
        return identifier
    if kind == PartnerKind.BRANCH and head and branch_number:
        return f"{head}/{branch_number}"
    return None


def head_office_known(identifier: str) -> bool:
    in_register = db.session.execute(select(exists().where(RegisterEntry.identifier == identifier))).scalar()
    registered = db.session.execute(select(exists().where(
        Partner.registration_key == identifier, Partner.status != PartnerStatus.REJECTED))).scalar()
    return bool(in_register or registered)


def _apply_manual(partner: Partner, data: dict) -> None:
    for key in ("kind", "identifier", "name", "legal_form", "address_line1", "address_line2", "postcode", "town",
                "country", "head_office_identifier", "branch_number", "locale"):
        if key in data:
            setattr(partner, key, data[key] or None if key in ("identifier", "legal_form", "address_line2",
                                                               "head_office_identifier", "branch_number") else data[key])
    partner.name_search = search_key(partner.name)
    partner.registration_key = _manual_key(partner.kind, partner.identifier, partner.head_office_identifier,
                                           partner.branch_number)


def _check_manual(data: dict) -> None:
    identifier = data.get("identifier")
    if identifier and db.session.execute(select(exists().where(RegisterEntry.identifier == identifier))).scalar():
        raise RegistrationError(_l("This company is in the company register: find it with the search and take it over."))
    if data.get("kind") == PartnerKind.BRANCH and not head_office_known(data.get("head_office_identifier") or ""):
        raise RegistrationError(_l("No company with this head office identifier is known. Check the identifier."))


def register_manual(user, data: dict) -> Partner:
    """A partner not found in the register; the agency checks it before a letter is sent."""
    _check_manual(data)
    partner = Partner(status=PartnerStatus.AWAITING_CHECK, source="manual", registered_by_id=user.id)
    _apply_manual(partner, data)
    existing = _already_registered(partner.registration_key)
    if existing is not None:
        raise RegistrationError(_l("This business partner is already registered."), existing)
    _insert_partner(partner)
    audit.record("partners.registered", actor=user, partner_id=partner.id, object_type="partner",
                 object_id=partner.id, details={"source": "manual", "kind": partner.kind})
    return partner


def update_manual_entry(user, partner: Partner, data: dict) -> None:
    """The registrant corrects a manual entry while the agency has not checked it yet."""
    if not (partner.is_manual and partner.status == PartnerStatus.AWAITING_CHECK and partner.registered_by_id == user.id):
        abort(404)
    _check_manual(data)
    _apply_manual(partner, data)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise RegistrationError(_l("This business partner is already registered.")) from None
    audit.record("partners.manual_entry_changed", actor=user, partner_id=partner.id, object_type="partner",
                 object_id=partner.id)


# --- the people who may enter a partner's code ------------------------------------------

def is_claimant(user, partner: Partner) -> bool:
    """The registrant, or a person whose request to join is pending, may enter the letter's code."""
    if partner.registered_by_id == user.id:
        return True
    return bool(db.session.execute(select(exists().where(
        AccessRequest.partner_id == partner.id, AccessRequest.user_id == user.id, AccessRequest.status == "pending"
    ))).scalar())


def claimable_partner_or_404(user, partner_id: int) -> Partner:
    partner = db.session.get(Partner, partner_id)
    if partner is None or not is_claimant(user, partner):
        abort(404)
    return partner


# --- the person's own partners ----------------------------------------------------------

def memberships_of(user) -> list[Membership]:
    return list(db.session.execute(
        select(Membership).join(Partner).where(Membership.user_id == user.id).order_by(Partner.name_search)
    ).scalars())


def registrations_of(user) -> list[Partner]:
    """Partners this person registered that have no administrator yet (or were rejected)."""
    return list(db.session.execute(
        select(Partner).where(Partner.registered_by_id == user.id, Partner.status != PartnerStatus.ACTIVE)
        .order_by(Partner.created_at.desc())
    ).scalars())


def access_requests_of(user) -> list[AccessRequest]:
    return list(db.session.execute(
        select(AccessRequest).where(AccessRequest.user_id == user.id)
        .order_by(AccessRequest.created_at.desc()).limit(20)
    ).scalars())


class WaitingPartner(NamedTuple):
    """A partner of `registrations_of`, as the dashboard reads it (columns, not an entity)."""
    id: int
    name: str
    status: str
    suspended_at: object
    created_at: object

    @property
    def display_status(self) -> str:  # as Partner.display_status (partners/_macros.html status_tag)
        return "suspended" if self.suspended_at is not None else self.status


class WaitingRequest(NamedTuple):
    """A pending request of `access_requests_of`, with what the dashboard shows of its partner."""
    id: int
    partner_id: int
    partner_name: str
    partner_status: str


_WAITING = None  # built once: Core columns, run on the session's connection


def _waiting_statement():
    """One statement for both lists of `waiting_of`: the registrations (kind 0) and, among the
    person's 20 latest access requests, the pending ones with their partner (kind 1)."""
    global _WAITING
    if _WAITING is None:
        p, a = Partner.__table__.c, AccessRequest.__table__.c
        user_id = bindparam("user_id")
        registrations = (select(literal_column("0").label("kind"), p.id, p.name, p.status, p.suspended_at,
                                p.created_at, p.id.label("partner_id"))
                         .where(p.registered_by_id == user_id, p.status != literal(PartnerStatus.ACTIVE)))
        latest = (select(a.id, a.partner_id, a.status, a.created_at).where(a.user_id == user_id)
                  .order_by(a.created_at.desc()).limit(20).subquery())
        requests = (select(literal_column("1").label("kind"), latest.c.id, p.name, p.status, p.suspended_at,
                           latest.c.created_at, latest.c.partner_id)
                    .join_from(latest, Partner.__table__, p.id == latest.c.partner_id)
                    .where(latest.c.status == literal("pending")))
        both = union_all(registrations, requests)
        _WAITING = both.order_by(both.selected_columns.kind, both.selected_columns.created_at.desc())
    return _WAITING


def waiting_of(user) -> tuple[list[WaitingPartner], list[WaitingRequest]]:
    """For the dashboard, in one query: `registrations_of(user)` as `WaitingPartner` rows, and the
    pending ones among `access_requests_of(user)` as `WaitingRequest` rows (same order)."""
    registrations, requests = [], []
    for kind, id_, name, status, suspended_at, created_at, partner_id in reads.rows(
            _waiting_statement(), {"user_id": user.id}):
        if kind:
            requests.append(WaitingRequest(id_, partner_id, name, status))
        else:
            registrations.append(WaitingPartner(id_, name, status, suspended_at, created_at))
    return registrations, requests


# --- joining ----------------------------------------------------------------------------------

_join_statements: dict = {}


def _join_statement(by_identifier: bool, like: bool):
    """The search of partners to join, built once per kind of condition: by identifier, by name
    prefix as a range (or as a LIKE, see `_prefix_is_like`). Run by `reads.rows`."""
    key = (by_identifier, like)
    stmt = _join_statements.get(key)
    if stmt is None:
        p = Partner.__table__.c
        if by_identifier:
            condition = p.identifier == bindparam("identifier")
        elif like:
            condition = p.name_search.like(bindparam("pattern"), escape="\\")
        else:
            condition = and_(p.name_search >= bindparam("low"), p.name_search < bindparam("high"))
        stmt = _join_statements[key] = (
            select(p.id, p.name, p.identifier, p.town)
            # IN of fixed values, not one expanding parameter that SQLAlchemy rewrites at every execution
            .where(condition, p.kind != literal(PartnerKind.NATURAL_PERSON),
                   p.status.in_([literal(PartnerStatus.LETTER_PENDING), literal(PartnerStatus.ACTIVE)]))
            .order_by(p.name_search).limit(JOIN_LIMIT)
        )
    return stmt


def search_partners_to_join(q: str) -> list:
    """Registered partners by identifier or name prefix (rows of id, name, identifier, town);
    private persons are never listed."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    found = normalise(q, accepted_schemes())
    if found:
        return reads.rows(_join_statement(True, False), {"identifier": found[1]})
    prefix = search_key(q)
    if _prefix_is_like(Partner.name_search):
        return reads.rows(_join_statement(False, True), {"pattern": _like_pattern(prefix)})
    return reads.rows(_join_statement(False, False), {"low": prefix, "high": _range_end(prefix)})


def joinable_partner_or_404(partner_id) -> Partner:
    partner = db.session.get(Partner, partner_id) if isinstance(partner_id, int) else None
    if (partner is None or partner.kind == PartnerKind.NATURAL_PERSON
            or partner.status not in (PartnerStatus.LETTER_PENDING, PartnerStatus.ACTIVE)):
        abort(404)
    return partner


def ask_to_join(user, partner: Partner, reason: str) -> AccessRequest:
    from .notify import notify_managers

    if db.session.execute(select(exists().where(Membership.partner_id == partner.id, Membership.user_id == user.id))).scalar():
        raise RegistrationError(_l("You are already a member of this business partner."))
    if db.session.execute(select(exists().where(AccessRequest.partner_id == partner.id, AccessRequest.user_id == user.id,
                                                AccessRequest.status == "pending"))).scalar():
        raise RegistrationError(_l("You have already asked to join this business partner. Wait for the answer."))
    request_row = AccessRequest(partner_id=partner.id, user_id=user.id, reason=reason.strip(), status="pending",
                                created_at=utcnow())
    db.session.add(request_row)
    db.session.flush()
    audit.record("partners.access_requested", actor=user, partner_id=partner.id, object_type="access_request",
                 object_id=request_row.id, subject_user_id=user.id)
    notify_managers(
        partner, "access_request",
        _l("%(name)s asks to join %(partner)s", name=user.full_name, partner=partner.name),
        _l("%(name)s asked to join %(partner)s. Approve or refuse the request on the members page.",
           name=user.full_name, partner=partner.name),
        f"/partners/{partner.id}/members",
    )
    return request_row


def withdraw_access_request(user, request_id: int) -> None:
    row = db.session.get(AccessRequest, request_id)
    if row is None or row.user_id != user.id or row.status != "pending":
        abort(404)
    row.status = "withdrawn"
    row.decided_at = utcnow()
    audit.record("partners.access_request_withdrawn", actor=user, partner_id=row.partner_id,
                 object_type="access_request", object_id=row.id, subject_user_id=user.id)


def is_member(user, partner: Partner) -> bool:
    return bool(db.session.execute(select(exists().where(
        Membership.partner_id == partner.id, Membership.user_id == user.id))).scalar())


def managers_of(partner: Partner) -> list[Membership]:
    return list(db.session.execute(
        select(Membership).where(Membership.partner_id == partner.id, Membership.role.in_(MemberRole.MANAGERS))
        .order_by(Membership.id)
    ).scalars())
