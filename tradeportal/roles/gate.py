"""The role gate: a right for a service only takes effect while a role of the partner opens it.

Registered with `access.register_partner_gate` when the package is imported, so it
runs for every `partner_member(right)` route after the resolver has checked the
member's right.
"""
from __future__ import annotations

from flask import render_template

from .services import RIGHT_SERVICE, partner_services, roles_opening


def role_gate(partner, membership, right):
    """None when `right` is None or an active role of `partner` opens its service; else a 403 page."""
    if right is None:
        return None
    service = RIGHT_SERVICE.get(right)
    if service is None or service in partner_services(partner.id):
        return None
    from ..partners.services import managers_of

    managers = [m.user for m in managers_of(partner)]
    return render_template(
        "roles/missing_role.html", partner=partner, membership=membership, service=service,
        roles=roles_opening(service), managers=managers,
    ), 403
