"""The role catalogue, managed by staff: create, edit, retire."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..extensions import db
from ..pagination import Page, paginate
from .grants import RoleError
from .models import SERVICES, Role
from .services import forget_services

LANGUAGES = ("fr", "en", "de")
FIELDS = tuple(f"{name}_{code}" for name in ("name", "description") for code in LANGUAGES) + (
    "needs_review", "needs_contact", "services", "active")


def catalogue_page(number: int) -> Page:
    return paginate(select(Role).order_by(Role.active.desc(), Role.code), number, size=50)


def _apply(role: Role, data: dict) -> dict:
    """Copy the form's values; returns what changed ({field: [old, new]})."""
    values = {}
    for code in LANGUAGES:
        values[f"name_{code}"] = " ".join((data.get(f"name_{code}") or "").split())
        values[f"description_{code}"] = (data.get(f"description_{code}") or "").strip()
    values["needs_review"] = bool(data.get("needs_review"))
    values["needs_contact"] = bool(data.get("needs_contact"))
    values["services"] = ",".join(s for s in SERVICES if s in set(data.get("services") or []))
    values["active"] = bool(data.get("active"))
    changes = {}
    for key in FIELDS:
        old = getattr(role, key, None)
        if old != values[key]:
            changes[key] = [old, values[key]]
            setattr(role, key, values[key])
    return changes


def create_role(actor, data: dict) -> Role:
    """A new role of the catalogue (its code is unique and never changes). Audited."""
    code = data["code"]
    if db.session.execute(select(exists().where(Role.code == code))).scalar():
        raise RoleError(_l("A role with this code exists already. Choose another code."))
    role = Role(code=code)
    _apply(role, data)
    try:
        with db.session.begin_nested():
            db.session.add(role)
            db.session.flush()
    except IntegrityError:
        raise RoleError(_l("A role with this code exists already. Choose another code.")) from None
    audit.record("roles.role_created", actor=actor, object_type="role", object_id=role.id,
                 details={"role": role.code, "services": role.services, "needs_review": role.needs_review,
                          "active": role.active})
    return role


def update_role(actor, role: Role, data: dict) -> bool:
    """Change a role; retiring it (active off) stops new requests, its grants stay. Audited."""
    changes = _apply(role, data)
    if not changes:
        return False
    db.session.flush()
    forget_services()
    # Descriptions can be long: the audit keeps which of them changed, not their text.
    details = {key: value if not key.startswith("description") else True for key, value in changes.items()}
    details["role"] = role.code  # "code" keys never reach the audit (secrets filter)
    action = "roles.role_changed"
    if "active" in changes:
        action = "roles.role_retired" if not role.active else "roles.role_reactivated"
    audit.record(action, actor=actor, object_type="role", object_id=role.id, details=details)
    return True
