"""The world of part 8 (crash consistency): people, partners, roles, a category, signed-in clients,
and the checks every fault is judged by (the error page, files without a row). Built with the ORM."""
from __future__ import annotations

import itertools
from pathlib import Path

from sqlalchemy import func, select

from tradeportal import extensions as ext
from tradeportal.access import Right, StaffPermission

ERROR_PAGE = "What you entered has not been saved."
ERROR_TITLE = "Sorry, there is a problem with the service"
_numbers = itertools.count(1)


def n() -> int:
    return next(_numbers)


# --- the world ------------------------------------------------------------------------------

def person(first: str, *, locale: str = "en", emails: bool = True, staff: list | None = None):
    """A confirmed account with an authenticator; nobody signs in with its password here."""
    from tradeportal.account.models import User
    from tradeportal.db import utcnow

    k = n()
    email = f"{first.lower()}.{k}@example.com"
    user = User(email=email, email_normalized=email, password_hash="$argon2id$not-used", first_name=first,
                last_name=f"Crash{k}", locale=locale, email_notifications=emails, email_confirmed_at=utcnow(),
                totp_secret="JBSWY3DPEHPK3PXP", totp_enrolled_at=utcnow())
    if staff is not None:
        user.is_staff = True
        user.staff_permissions = ",".join(p.value for p in staff)
    ext.db.session.add(user)
    ext.db.session.commit()
    return user


def partner(status: str = "active", **fields):
    from tradeportal.db import utcnow
    from tradeportal.partners.models import Partner

    k = n()
    name = fields.pop("name", f"Crash Partner {k} AG")
    row = Partner(kind="legal_entity", status=status, source=fields.pop("source", "register"),
                  identifier=fields.pop("identifier", f"CHE-{k:03d}.800.00{k % 10}"), registration_key=f"crash-{k}",
                  name=name, name_search=name.lower(), legal_form="AG", address_line1=f"Seeweg {k}", postcode="3003",
                  town="Bern", country="CH", locale="en", activated_at=utcnow() if status == "active" else None,
                  **fields)
    ext.db.session.add(row)
    ext.db.session.commit()
    return row


def member(p, user, role="member", rights=()):
    from tradeportal.partners.models import Membership

    row = Membership(partner_id=p.id, user_id=user.id, role=role, rights=",".join(r.value for r in rights))
    ext.db.session.add(row)
    ext.db.session.commit()
    return row


def role(code: str, services: str = "", review: bool = False):
    from tradeportal.roles.models import Role

    row = Role(code=code, name_fr=code, name_en=code.replace("_", " ").title(), name_de=code, description_fr="",
               description_en="", description_de="", needs_review=review, needs_contact=False, services=services,
               active=True)
    ext.db.session.add(row)
    ext.db.session.commit()
    return row


def grant(p, r, status="active"):
    from tradeportal.db import utcnow
    from tradeportal.roles.models import RoleRequest

    now = utcnow()
    row = RoleRequest(partner_id=p.id, role_id=r.id, status=status, requested_at=now,
                      activated_at=now if status == "active" else None)
    ext.db.session.add(row)
    ext.db.session.commit()
    return row


def category():
    from tradeportal.documents.models import Category

    row = Category(name_fr="Documentation", name_en="Documentation", name_de="Dokumentation", description_fr="",
                   description_en="", description_de="", position=1, active=True)
    ext.db.session.add(row)
    ext.db.session.commit()
    return row


def client_of(app, user):
    """A test client signed in as `user` through a real server-side session row (as login_as does)."""
    from tests.conftest import sign_in_client

    return sign_in_client(app.test_client(), user, user_agent="crash battery")


def count(model, *where) -> int:
    return ext.db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def refused(response) -> bool:
    """The person is told that nothing happened: the error page, or its problem JSON under /api/."""
    if response.status_code != 500:
        return False
    if response.mimetype == "application/problem+json":
        return response.get_json().get("status") == 500
    text = response.get_data(as_text=True)
    return ERROR_PAGE in text and ERROR_TITLE in text


def orphan_files(upload_dir: Path) -> list[str]:
    """Files in the storage folder that no document row points at (and leftover temporary files)."""
    from tradeportal.documents.models import Document

    if not upload_dir.exists():
        return []
    known = set(ext.db.session.execute(select(Document.stored_name)).scalars())
    return sorted(str(p.relative_to(upload_dir)) for p in upload_dir.rglob("*")
                  if p.is_file() and (p.parent.name == "tmp" or p.name not in known))


class World:
    """Everything the flows need, built once per test with the ORM."""

    def __init__(self, app, upload_dir: Path):
        from tests.security.world_areas import ALL_SCOPES

        self.app, self.upload_dir = app, upload_dir
        self.registrant = person("Rita")
        self.staff = person("Sofia", staff=list(StaffPermission))
        self.admin = person("Ada")
        self.deputy = person("Dora", locale="de")
        self.quiet = person("Quentin", emails=False)  # e-mails switched off: a notification, no e-mail
        self.viewer = person("Vera", locale="fr")
        self.all_scopes = ALL_SCOPES
        self.docs_partner = partner(name="Lac Freight Sàrl")
        docs_role = role("crash_documents", services="documents,api_self_service")
        grant(self.docs_partner, docs_role)
        member(self.docs_partner, self.admin, "administrator")
        member(self.docs_partner, self.deputy, "deputy")
        member(self.docs_partner, self.quiet, "member", rights=[Right.UPLOAD_DOCUMENTS, Right.VIEW_DOCUMENTS])
        member(self.docs_partner, self.viewer, "member", rights=[Right.VIEW_DOCUMENTS])
        self.category = category()
        self.clients = {}

    def client(self, user):
        if user.id not in self.clients:
            self.clients[user.id] = client_of(self.app, user)
        return self.clients[user.id]
