"""What the dashboard shows for the partner a person acts for: service tiles, pending steps, latest notifications.

`overview(user, membership)` costs at most three queries whatever the number of
roles, requests and notifications:

1. the partner's open role requests with their roles (tiles, pending roles, "no role yet"), and
   its access requests waiting for a decision (administrators and deputies);
2. the person's registrations waiting for the letter's code (none when the dashboard passes its list);
3. the person's five latest notifications (when the notifications area exists).

The dashboard shows every signed-in person these reads: each is a Core statement built once,
run on the session's connection, that reads columns (no entity, no relationship), and what the
page prints is computed here once per request (`Step`, `LatestNotification`).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import NamedTuple

from flask import current_app, g, request, url_for
from flask_babel import gettext as _
from sqlalchemy import bindparam, literal, literal_column, select, union_all
from werkzeug.routing import BuildError

from .. import reads
from ..account.models import User
from ..extensions import db
from ..i18n import current_language, format_datetime
from ..links import id_link_parts
from ..partners.models import AccessRequest, Partner, PartnerStatus
from .models import GrantStatus, Role, RoleRequest
from .services import SERVICE_DESCRIPTIONS, SERVICES, rights_of_service, service_endpoint, service_label

LATEST_NOTIFICATIONS = 5
STEPS_LIMIT = 10


@dataclass
class Tile:
    service: str
    label: str  # in the request's language
    description: str
    url: str | None  # None while the service's pages are not built


@dataclass
class Step:
    kind: str  # letter | no_roles | role_pending | access_request
    # Plain strings made at request time: a lazy string would reach the page unescaped
    # (flask_babel's LazyString.__html__), and these carry names people typed.
    text: str
    url: str
    link_text: object
    # The pending role request, which can be withdrawn from the dashboard: its id and role's name.
    grant_id: int | None = None
    grant_role: str = ""


class Grant(NamedTuple):
    """A pending or active role request of the partner, as `_partner_requests` reads it."""
    id: int
    status: str
    services: str
    role_name: str  # in the request's language (Trilingual.localized)


class LatestNotification(NamedTuple):
    """One of the latest notifications, ready to print (_latest_notifications.html)."""
    subject: str
    url: str | None  # None when the notifications area has no details page
    created_iso: str
    created_text: str
    unread: bool


@dataclass
class Overview:
    membership: object
    tiles: list = field(default_factory=list)
    # Services the person has a right for that no active role of the partner opens yet.
    closed: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    notifications: list | None = None  # None: no notifications area
    notifications_url: str | None = None

    @property
    def partner(self):
        return self.membership.partner

    @property
    def closed_labels(self) -> str:
        texts = _texts(current_language())
        return ", ".join(texts[s][0] for s in self.closed)

    @property
    def roles_url(self) -> str:
        return partner_url("roles.index", self.membership.partner_id)

    @property
    def rights_url(self) -> str:
        return partner_url("roles.rights_index", self.membership.partner_id)


def _id_url(endpoint: str, name: str, value: int) -> str:
    """`url_for(endpoint, **{name: value})` for an endpoint whose only argument is that id: the
    text before and after the id is built once per mount point, the id written in between."""
    head, tail = id_link_parts(endpoint, name)
    return f"{head}{value}{tail}"


def partner_url(endpoint: str, partner_id: int) -> str:
    """`url_for(endpoint, partner_id=partner_id)`, its fixed parts built once per mount point."""
    return _id_url(endpoint, "partner_id", partner_id)


_fixed_urls: dict = {}


def _fixed_url(endpoint: str) -> str | None:
    """`url_for(endpoint)`, or None when the endpoint needs arguments (a BuildError); once per
    endpoint and mount point."""
    key = (endpoint, request.root_path)
    url = _fixed_urls.get(key, False)
    if url is False:
        try:
            url = url_for(endpoint)
        except BuildError:
            url = None
        _fixed_urls[key] = url
    return url


def _service_url(service: str, partner_id: int) -> str | None:
    endpoint = service_endpoint(service)
    if endpoint is None:
        return None
    return _fixed_url(endpoint) or partner_url(endpoint, partner_id)  # a page of the partner's without it


_service_texts: dict = {}


def _texts(language: str) -> dict:
    """Each service's label and description in `language` (translated once per language)."""
    texts = _service_texts.get(language)
    if texts is None:
        texts = _service_texts[language] = {
            service: (str(service_label(service)), str(SERVICE_DESCRIPTIONS[service])) for service in SERVICES}
    return texts


_SERVICE_RIGHTS = {service: tuple(rights_of_service(service)) for service in SERVICES}


def tiles(membership, services: set[str]) -> tuple[list[Tile], list[str]]:
    """Tiles of the services the member may use (right × active role), and those a role has yet to open."""
    usable, closed = [], []
    texts = None
    for service in SERVICES:
        if not any(membership.has_right(r) for r in _SERVICE_RIGHTS[service]):
            continue
        if service in services:
            texts = texts or _texts(current_language())
            label, description = texts[service]
            usable.append(Tile(service, label, description, _service_url(service, membership.partner_id)))
        else:
            closed.append(service)
    return usable, closed


def _localized(names: tuple, language: str) -> str:
    """`Trilingual.localized` of a (fr, en, de) tuple of texts."""
    chosen = names[("fr", "en", "de").index(language)] if language in ("fr", "en", "de") else None
    return chosen or next((name for name in names if name), "")


_statements: dict = {}  # built once each (the dashboard runs them for every person): Core columns


def _statement(name: str):
    stmt = _statements.get(name)
    if stmt is None:
        stmt = _statements[name] = _BUILDERS[name]()
    return stmt


def _partner_requests_statement():
    """The partner's open role requests with their roles (kind 0, by request time), then the access
    requests waiting for its managers' decision with the asking person's name (kind 1, oldest
    first, at most STEPS_LIMIT; none when `decide_partner_id` is NULL: not a manager)."""
    grant, role = RoleRequest.__table__.c, Role.__table__.c
    a, user = AccessRequest.__table__.c, User.__table__.c
    grants = (select(literal_column("0").label("kind"), grant.id.label("id"), grant.status, role.services, role.name_fr,
                     role.name_en, role.name_de, grant.requested_at.label("at"))
              .join_from(RoleRequest.__table__, Role.__table__, role.id == grant.role_id)
              # IN of fixed values, not an expanding parameter rewritten at every execution
              .where(grant.partner_id == bindparam("partner_id"),
                     grant.status.in_([literal(v) for v in GrantStatus.OPEN])))
    waiting = (select(a.id, a.user_id, a.created_at).where(a.partner_id == bindparam("decide_partner_id"),
                                                a.status == literal("pending"))
               .order_by(a.created_at, a.id).limit(STEPS_LIMIT).subquery())
    asking = (select(literal_column("1").label("kind"), waiting.c.id, literal_column("''"), literal_column("''"),
                     user.first_name, user.last_name, literal_column("''"), waiting.c.created_at)
              .join_from(waiting, User.__table__, user.id == waiting.c.user_id))
    both = union_all(grants, asking)
    columns = both.selected_columns
    return both.order_by(columns.kind, columns.at, columns.id)


def _letters_statement():
    p = Partner.__table__.c
    return (select(p.id, p.name)
            .where(p.registered_by_id == bindparam("user_id"), p.status == literal(PartnerStatus.LETTER_PENDING),
                   p.suspended_at.is_(None))
            .order_by(p.created_at).limit(STEPS_LIMIT))


def _notifications_statement():
    from ..notifications.models import Notification

    n = Notification.__table__.c
    return (select(n.id, n.subject, n.created_at, n.read_at).where(n.user_id == bindparam("user_id"))
            .order_by(n.created_at.desc(), n.id.desc()).limit(LATEST_NOTIFICATIONS))


_BUILDERS = {"partner_requests": _partner_requests_statement,
             "letters": _letters_statement, "notifications": _notifications_statement}


def _run(name: str, params: dict):
    return reads.rows(_statement(name), params)


def _partner_requests(membership) -> tuple[list[Grant], set[str], list[Step]]:
    """In one query: the partner's pending and active role requests with their roles' services and
    names (what `services.open_grants` loads as entities), the services the active ones open (kept
    for this request as `services.remember_services` keeps them) and, for its administrators and
    deputies, the steps of the access requests waiting for their decision."""
    partner_id = membership.partner_id
    manager = membership.is_manager
    language = current_language()
    grants, asking = [], []
    for kind, id_, status, services, fr, en, de, _at in _run(
            "partner_requests", {"partner_id": partner_id, "decide_partner_id": partner_id if manager else None}):
        if kind:
            asking.append((id_, f"{fr} {en}".strip()))  # first and last name
        else:
            grants.append(Grant(id_, status, services, _localized((fr, en, de), language)))
    opened = {s for grant in grants if grant.status == GrantStatus.ACTIVE for s in grant.services.split(",") if s}
    g.setdefault("tp_partner_services", {})[partner_id] = opened  # the cache of services.partner_services
    return grants, opened, _access_request_steps(membership, asking) if manager else []


def _role_steps(membership, grants: list[Grant]) -> list[Step]:
    partner_id = membership.partner_id
    if not grants:
        return [Step("no_roles", _("%(partner)s holds no business partner role yet: request the roles it needs to use the services.",
                                    partner=membership.partner.name),
                     partner_url("roles.index", partner_id), _("Request roles"))]
    steps = []
    for grant in grants:
        if grant.status == GrantStatus.PENDING:
            steps.append(Step(
                "role_pending",
                _("The role %(role)s is waiting for the agency's review.", role=grant.role_name),
                url_for("roles.detail", partner_id=partner_id, request_id=grant.id), _("See the request"),
                grant.id, grant.role_name,
            ))
    return steps


def _access_request_steps(membership, asking: list[tuple[int, str]]) -> list[Step]:
    partner_id = membership.partner_id
    return [Step("access_request", _("%(name)s asks to join %(partner)s.", name=name, partner=membership.partner.name),
                 url_for("partners.access_request", partner_id=partner_id, request_id=id_), _("Decide"))
            for id_, name in asking]


def _letter_steps(user, registrations=None) -> list[Step]:
    if registrations is not None:  # the dashboard's list of the person's registrations: no second query
        rows = [(p.id, p.name) for p in sorted(
            (p for p in registrations if p.status == PartnerStatus.LETTER_PENDING and p.suspended_at is None),
            key=lambda p: (p.created_at, p.id))[:STEPS_LIMIT]]
    else:
        rows = _run("letters", {"user_id": user.id})
    return [Step("letter", _("Enter the one-time code of the verification letter for %(partner)s.", partner=name),
                 partner_url("partners.redeem", id_), _("Enter the one-time code"))
            for id_, name in rows]


_NOTIFICATIONS_AREA: list = []  # [whether tradeportal.notifications.models exists], asked once


def _latest_notifications(user):
    if not _NOTIFICATIONS_AREA:
        _NOTIFICATIONS_AREA.append(importlib.util.find_spec("tradeportal.notifications.models") is not None)
    if not _NOTIFICATIONS_AREA[0]:
        return None, None
    details = "notifications.detail" in current_app.view_functions
    rows = [LatestNotification(subject, _id_url("notifications.detail", "notification_id", id_) if details else None,
                               created_at.isoformat(), format_datetime(created_at, "short"), read_at is None)
            for id_, subject, created_at, read_at in _run("notifications", {"user_id": user.id})]
    return rows, _fixed_url("notifications.index")


def overview(user, membership, registrations=None) -> Overview:
    """Tiles, steps and notifications for `user` acting through `membership` (bounded queries).

    `registrations`: the person's partners not yet active (`registrations_of`), when the caller
    has them already; the letter steps are taken from them instead of a query of their own.
    """
    grants, services, access_steps = _partner_requests(membership)
    result = Overview(membership)
    result.tiles, result.closed = tiles(membership, services)
    result.steps = _letter_steps(user, registrations)
    if membership.is_manager:
        result.steps += _role_steps(membership, grants) + access_steps
    result.notifications, result.notifications_url = _latest_notifications(user)
    return result


def steps_only(user, membership) -> Overview:
    """The steps alone, for the fragment refreshed after a change (one or two queries)."""
    result = Overview(membership)
    result.steps = _letter_steps(user)
    if membership.is_manager:
        grants, _services, access_steps = _partner_requests(membership)
        result.steps += _role_steps(membership, grants) + access_steps
    return result
