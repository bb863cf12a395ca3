"""Objects of the documents and API areas for the security battery's world (see conftest.World).

Partner A gets a document category, a received upload with one file, a draft of its
administrator with one staged file, an API application (webhook set, keys waiting to be
shown to the administrator once) and an API notification. Partner B gets the role that
opens the API and a test application holding every scope, whose access token is the
"API token of another partner" actor of the matrix.
"""
from __future__ import annotations

import io
import secrets

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ALL_SCOPES = "partner:read notifications:read notifications:write documents:read documents:write"


def build_documents(world) -> None:
    from tradeportal.documents import services as docs
    from tradeportal.documents.models import Category

    db, a = world.db, world.partner_a
    admin = world.users["administrator"]
    category = Category(name_fr="Documentation", name_en="Documentation", name_de="Dokumentation",
                        description_fr="", description_en="", description_de="", position=1, active=True)
    db.session.add(category)
    db.session.flush()
    received = docs.receive_files(partner_id=a.id, category_id=category.id, case_number="8000000683",
                                  files=[docs.IncomingFile("invoice.pdf", io.BytesIO(PDF))], user_id=admin.id)
    draft = docs.create_draft(a.id, admin, category, "8000000684")
    staged, errors = docs.stage_files(draft, [docs.IncomingFile("draft.pdf", io.BytesIO(PDF))])
    assert staged and not errors, errors
    db.session.commit()
    document = docs.upload_documents(received)[0]
    world.ids.update(category=category.id, upload=received.id, document=document.id, draft=draft.id,
                     staged_document=staged[0].id)


def build_api(world) -> None:
    from tradeportal.api import services
    from tradeportal.api.models import ApiNotification
    from tradeportal.db import utcnow
    from tradeportal.roles.models import Role, RoleRequest

    db, a, b = world.db, world.partner_a, world.partner_b
    admin = world.users["administrator"]
    application = services.create_application(admin, a, name="Customs Pro", description="", environment="live",
                                              scopes=ALL_SCOPES.split())
    application.webhook_url = "https://hooks.example.com/tradeportal"
    application.webhook_nonce = "0" * 32
    notification = ApiNotification(partner_id=a.id, kind="partner.member_joined", subject="A colleague joined",
                                   created_at=utcnow())
    db.session.add(notification)
    # Partner B holds the role that opens the API, so that its token gets past the service check.
    role = db.session.query(Role).filter(Role.services.contains("api_self_service")).order_by(Role.id).first()
    now = utcnow()
    db.session.add(RoleRequest(partner_id=b.id, role_id=role.id, status="active", requested_at=now, activated_at=now))
    db.session.commit()
    world.ids.update(application=application.id, api_notification=notification.id)


def api_token_for(world, partner) -> str:
    """An access token of a new test application of `partner` holding every scope."""
    from tradeportal.api.models import ApiApplication
    from tradeportal.api.services import CLIENT_ID_PREFIX, sha256
    from tradeportal.api.tokens import issue_pair
    from tradeportal.db import utcnow

    db = world.db
    application = ApiApplication(partner_id=partner.id, name="Other partner's software", environment="test",
                                 scopes=ALL_SCOPES, client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
                                 client_secret_hash=sha256(secrets.token_urlsafe(16)))
    db.session.add(application)
    db.session.flush()
    access, _refresh, _ = issue_pair(application)
    application.last_used_at = utcnow()  # its calls write last_used_at at most once a minute
    db.session.commit()
    return access
