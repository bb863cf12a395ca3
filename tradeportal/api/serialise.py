"""JSON shapes of the API (kept in step with openapi.py)."""
from __future__ import annotations

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def notification_json(n) -> dict:
    return {"id": str(n.id), "kind": n.kind, "subject": n.subject, "body": n.body or "", "link": n.link,
            "created_at": iso(n.created_at), "read_at": iso(n.read_at), "test": bool(n.is_test)}


def partner_json(partner, roles) -> dict:
    return {
        "id": partner.id, "name": partner.name, "identifier": partner.identifier, "kind": partner.kind,
        "legal_form": partner.legal_form,
        "address": {"line1": partner.address_line1, "line2": partner.address_line2, "postcode": partner.postcode,
                    "town": partner.town, "country": partner.country},
        "roles": [{"code": role.code, "name": role.localized("name"), "since": iso(request.activated_at)}
                  for request, role in roles],
    }
