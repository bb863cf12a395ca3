"""What the dashboard shows for the partner a person acts for: service tiles, pending steps, latest notifications.

`overview(user, membership)` costs at most four queries whatever the number of
roles, requests and notifications:

1. the partner's open role requests with their roles (tiles, pending roles, "no role yet");
2. the partner's access requests waiting for a decision (administrators and deputies);
3. the person's registrations waiting for the letter's code (none when the dashboard passes its list);
4. the person's five latest notifications (when the notifications area exists).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from ..extensions import db
from ..partners.models import AccessRequest, Partner, PartnerStatus
from .models import GrantStatus
from .services import (
    SERVICE_DESCRIPTIONS, SERVICES, open_grants, remember_services, rights_of_service, service_endpoint, service_label,
)

LATEST_NOTIFICATIONS = 5
STEPS_LIMIT = 10


@dataclass
class Tile:
    service: str
    label: object
    description: object
    url: str | None  # None while the service's pages are not built


@dataclass
class Step:
    kind: str  # letter | no_roles | role_pending | access_request
    # Plain strings made at request time: a lazy string would reach the page unescaped
    # (flask_babel's LazyString.__html__), and these carry names people typed.
    text: str
    url: str
    link_text: object
    grant: object = None  # the pending role request, which can be withdrawn from the dashboard


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
        return ", ".join(str(service_label(s)) for s in self.closed)


def _service_url(service: str, partner_id: int) -> str | None:
    endpoint = service_endpoint(service)
    if endpoint is None:
        return None
    try:
        return url_for(endpoint)
    except BuildError:
        return url_for(endpoint, partner_id=partner_id)


def tiles(membership, services: set[str]) -> tuple[list[Tile], list[str]]:
    """Tiles of the services the member may use (right × active role), and those a role has yet to open."""
    usable, closed = [], []
    for service in SERVICES:
        if not any(membership.has_right(r) for r in rights_of_service(service)):
            continue
        if service in services:
            usable.append(Tile(service, service_label(service), SERVICE_DESCRIPTIONS[service],
                               _service_url(service, membership.partner_id)))
        else:
            closed.append(service)
    return usable, closed


def _role_steps(membership, grants) -> list[Step]:
    partner_id = membership.partner_id
    if not grants:
        return [Step("no_roles", _("%(partner)s holds no business partner role yet: request the roles it needs to use the services.",
                                    partner=membership.partner.name),
                     url_for("roles.index", partner_id=partner_id), _("Request roles"))]
    steps = []
    for grant in grants:
        if grant.status == GrantStatus.PENDING:
            steps.append(Step(
                "role_pending",
                _("The role %(role)s is waiting for the agency's review.", role=grant.role.localized("name")),
                url_for("roles.detail", partner_id=partner_id, request_id=grant.id), _("See the request"), grant,
            ))
    return steps


def _access_request_steps(membership) -> list[Step]:
    rows = db.session.execute(
        select(AccessRequest).where(AccessRequest.partner_id == membership.partner_id, AccessRequest.status == "pending")
        .options(joinedload(AccessRequest.user)).order_by(AccessRequest.created_at).limit(STEPS_LIMIT)
    ).scalars()
    return [Step("access_request", _("%(name)s asks to join %(partner)s.", name=r.user.full_name,
                                      partner=membership.partner.name),
                 url_for("partners.access_request", partner_id=membership.partner_id, request_id=r.id), _("Decide"))
            for r in rows]


def _letter_steps(user, registrations=None) -> list[Step]:
    if registrations is not None:  # the dashboard's list of the person's registrations: no second query
        rows = sorted((p for p in registrations if p.status == PartnerStatus.LETTER_PENDING and p.suspended_at is None),
                      key=lambda p: (p.created_at, p.id))[:STEPS_LIMIT]
    else:
        rows = db.session.execute(
            select(Partner).where(Partner.registered_by_id == user.id, Partner.status == PartnerStatus.LETTER_PENDING,
                                  Partner.suspended_at.is_(None))
            .order_by(Partner.created_at).limit(STEPS_LIMIT)
        ).scalars()
    return [Step("letter", _("Enter the one-time code of the verification letter for %(partner)s.", partner=p.name),
                 url_for("partners.redeem", partner_id=p.id), _("Enter the one-time code"))
            for p in rows]


def _latest_notifications(user):
    if importlib.util.find_spec("tradeportal.notifications.models") is None:
        return None, None
    from ..notifications.models import Notification

    rows = list(db.session.execute(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(LATEST_NOTIFICATIONS)
    ).scalars())
    try:
        return rows, url_for("notifications.index")
    except BuildError:
        return rows, None


def overview(user, membership, registrations=None) -> Overview:
    """Tiles, steps and notifications for `user` acting through `membership` (bounded queries).

    `registrations`: the person's partners not yet active (`registrations_of`), when the caller
    has them already; the letter steps are taken from them instead of a query of their own.
    """
    grants = open_grants(membership.partner_id)
    services = remember_services(membership.partner_id, grants)
    result = Overview(membership)
    result.tiles, result.closed = tiles(membership, services)
    result.steps = _letter_steps(user, registrations)
    if membership.is_manager:
        result.steps += _role_steps(membership, grants) + _access_request_steps(membership)
    result.notifications, result.notifications_url = _latest_notifications(user)
    return result


def steps_only(user, membership) -> Overview:
    """The steps alone, for the fragment refreshed after a change (two or three queries)."""
    result = Overview(membership)
    result.steps = _letter_steps(user)
    if membership.is_manager:
        result.steps += _role_steps(membership, open_grants(membership.partner_id)) + _access_request_steps(membership)
    return result
