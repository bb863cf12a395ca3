"""Portal services: which right belongs to which service, and which services a partner's roles open.

The one place that says how rights, services and roles fit together:

- a member's *right* (`access.Right`) belongs to one *service* (`RIGHT_SERVICE`);
- a business partner *role* opens services (`Role.services`);
- a right takes effect only while an active role of the partner opens its service.

A service's own pages are built by later issues; each tells the dashboard where
its home page is with `register_service_endpoint(service, endpoint)` (or is found
under the default endpoint of `SERVICE_ENDPOINTS`).
"""
from __future__ import annotations

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import contains_eager

from ..access import Right
from .. import reads
from ..extensions import db
from .models import SERVICES, GrantStatus, Role, RoleRequest

RIGHT_SERVICE: dict[Right, str] = {
    Right.VIEW_DOCUMENTS: "documents",
    Right.UPLOAD_DOCUMENTS: "documents",
    Right.MANAGE_API: "api_self_service",
    Right.CREATE_CERTIFICATES: "certificates",
    Right.SEND_MESSAGES: "secure_messages",
    Right.VIEW_PAYMENTS: "payments",
}
assert set(RIGHT_SERVICE.values()) <= set(SERVICES) and set(RIGHT_SERVICE) == set(Right)

SERVICE_LABELS = {
    "certificates": _l("Certificates"),
    "api_self_service": _l("API self-service"),
    "documents": _l("Documents"),
    "secure_messages": _l("Secure messages"),
    "payments": _l("Payments"),
}
SERVICE_DESCRIPTIONS = {
    "certificates": _l("Create movement certificates EUR.1, verifiable by QR code."),
    "api_self_service": _l("Connect your business software: create applications and their keys."),
    "documents": _l("Send documents to the agency and find those it sent you."),
    "secure_messages": _l("Ask the agency a question through a guided form."),
    "payments": _l("See what your business partner owes and has paid."),
}
assert set(SERVICE_LABELS) == set(SERVICES) == set(SERVICE_DESCRIPTIONS)

# Where each service's home page will be; a tile links there once the endpoint exists.
SERVICE_ENDPOINTS: dict[str, str] = {
    "certificates": "certificates.index",
    "api_self_service": "api.self_service",
    "documents": "documents.index",
    "secure_messages": "messages.index",
    "payments": "payments.index",
}


def register_service_endpoint(service: str, endpoint: str) -> None:
    """Called by the area that builds `service`: its home page's endpoint."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    SERVICE_ENDPOINTS[service] = endpoint


def service_endpoint(service: str) -> str | None:
    """The endpoint of the service's home page, when that page exists in this app."""
    endpoint = SERVICE_ENDPOINTS.get(service)
    return endpoint if endpoint and endpoint in current_app.view_functions else None


def rights_of_service(service: str) -> list[Right]:
    return [right for right, name in RIGHT_SERVICE.items() if name == service]


def service_label(service: str):
    return SERVICE_LABELS.get(service, service)


# --- the services a partner's roles open -------------------------------------------

def open_grants(partner_id: int) -> list[RoleRequest]:
    """The partner's pending and active requests with their roles, in one query."""
    return list(db.session.execute(
        select(RoleRequest).join(Role, Role.id == RoleRequest.role_id)
        .where(RoleRequest.partner_id == partner_id, RoleRequest.status.in_(GrantStatus.OPEN))
        .order_by(RoleRequest.requested_at, RoleRequest.id)
        .options(contains_eager(RoleRequest.role))
    ).scalars())


def remember_services(partner_id: int, grants: list[RoleRequest]) -> set[str]:
    """Cache for this request the services that the active ones among `grants` open."""
    services: set[str] = set()
    for grant in grants:
        if grant.status == GrantStatus.ACTIVE:
            services |= grant.role.service_set()
    g.setdefault("tp_partner_services", {})[partner_id] = services
    return services


def services_subquery(partner_id):
    """The services of the partner's active roles as one comma-separated text (NULL when none), a
    scalar subquery: the session's statement carries it for the partner acted for, and
    `partner_services` runs it alone for another partner (`remember_services_text` reads it)."""
    role, grant = Role.__table__.c, RoleRequest.__table__.c
    return (select(func.aggregate_strings(role.services, ","))
            .join_from(Role.__table__, RoleRequest.__table__, grant.role_id == role.id)
            .where(grant.partner_id == partner_id, grant.status == GrantStatus.ACTIVE)
            .scalar_subquery())


def remember_services_text(partner_id: int, text: str | None) -> None:
    """Keep for this request what `services_subquery` read for `partner_id`."""
    g.setdefault("tp_partner_services", {})[partner_id] = {s for s in (text or "").split(",") if s}


_SERVICES: list = []  # `services_subquery` as a statement of its own, built once (run by reads.rows)


def partner_services(partner_id: int) -> set[str]:
    """Services opened by the partner's active roles (retired roles included); one query per request."""
    cache = g.setdefault("tp_partner_services", {})
    if partner_id not in cache:
        if not _SERVICES:
            _SERVICES.append(select(services_subquery(bindparam("partner_id"))))
        remember_services_text(partner_id, reads.scalars(_SERVICES[0], {"partner_id": partner_id})[0])
    return cache[partner_id]


def forget_services() -> None:
    g.pop("tp_partner_services", None)


def roles_opening(service: str | None) -> list[Role]:
    """Requestable roles (active in the catalogue) that open `service` (None: all of them), by name."""
    roles = db.session.execute(select(Role).where(Role.active.is_(True))).scalars()
    return sorted((r for r in roles if service is None or service in r.service_set()),
                  key=lambda r: r.localized("name").lower())


def usable_services(membership, services: set[str]) -> list[str]:
    """Services this member may use: a right of theirs belongs to it and a role opens it."""
    return [s for s in SERVICES if s in services and any(membership.has_right(r) for r in rights_of_service(s))]


def role_holders(role_code: str):
    """For agency notices to a role's holders: a Select of the user ids of the members of the
    partners holding `role_code` (None when no such role). Ready for
    `notifications.notices.register_notice_audience("role", role_holders)` (see docs/ROLES.md)."""
    from ..partners.models import Membership

    role_id = db.session.execute(select(Role.id).where(Role.code == role_code)).scalar_one_or_none()
    if role_id is None:
        return None
    holders = select(RoleRequest.partner_id).where(RoleRequest.role_id == role_id, RoleRequest.status == GrantStatus.ACTIVE)
    return select(Membership.user_id).where(Membership.partner_id.in_(holders))
