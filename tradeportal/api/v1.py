"""The B2B JSON API under /api/v1: token endpoint, partner, notifications (documents in v1_documents.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import select, update

from .. import access
from ..access import api_token, public
from ..db import utcnow
from ..extensions import csrf, db, limiter
from .models import ApiNotification
from .problems import check_rate, field_error, problem
from .serialise import notification_json, partner_json
from .tokens import GrantError, application_for_bearer, client_from_request, grant_client_credentials, grant_refresh

v1 = Blueprint("v1", __name__, url_prefix="/api/v1")
csrf.exempt(v1)  # bearer tokens, never cookies

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger cursor or id is clamped or not found


def resolve_token(scope: str):
    """`access.api_token` resolver: the application of the bearer token, or a problem."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        return problem("unauthorized")
    application = application_for_bearer(header[7:].strip())
    if application is None:
        return problem("invalid_token")
    limited = check_rate(application)
    if limited is not None:
        return limited
    if not _service_open(application.partner_id):
        return problem("service_closed")
    if scope and scope not in application.scope_set():
        return problem("insufficient_scope", scope=scope)
    unknown = sorted(set(request.args) - declared_query_parameters() - {"lang"})  # ?lang=: the problems' language
    if unknown:
        return problem("invalid_request", errors=[
            field_error(name[:40], "not a parameter of this operation (see the OpenAPI document)") for name in unknown[:10]])
    return application


_declared: dict = {}


def declared_query_parameters() -> set[str]:
    """The query parameters the OpenAPI document gives this request's operation: the contract says
    no others (schemathesis sends unknown ones and expects them refused, not ignored)."""
    import re

    key = (request.url_rule.rule if request.url_rule else "", request.method)
    found = _declared.get(key)
    if found is None:
        from .openapi import document

        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", key[0])
        operation = document("").get("paths", {}).get(path, {}).get(key[1].lower(), {})
        found = _declared[key] = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    return found


def _service_open(partner_id: int) -> bool:
    from ..partners.models import Partner, PartnerStatus
    from ..roles.services import partner_services

    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.status != PartnerStatus.ACTIVE or partner.is_suspended:
        return False
    g.api_partner = partner
    return "api_self_service" in partner_services(partner_id)


access.register_token_resolver(resolve_token)


@v1.after_request
def _api_headers(response):
    response.headers.setdefault("Cache-Control", "no-store")
    for name, value in (g.get("api_rate_headers") or {}).items():
        response.headers.setdefault(name, value)
    return response


# --- token endpoint (RFC 6749) ---------------------------------------------------

def _oauth_error(error: GrantError):
    response = jsonify(error=error.code)
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="tradeportal"'
    response.headers["Pragma"] = "no-cache"
    return response


@v1.post("/token")
@public
@limiter.limit(lambda: current_app.config["API_TOKEN_RATE_LIMIT"])
def token():
    grant_type = request.form.get("grant_type")
    try:
        if not grant_type:
            raise GrantError("invalid_request")
        if grant_type not in ("client_credentials", "refresh_token"):
            raise GrantError("unsupported_grant_type")
        application = client_from_request(request)
        if not _service_open(application.partner_id):
            raise GrantError("unauthorized_client")
        if grant_type == "client_credentials":
            access_token, refresh_token, expires_in = grant_client_credentials(application)
        else:
            access_token, refresh_token, expires_in = grant_refresh(application, request.form.get("refresh_token", ""))
    except GrantError as error:
        if error.commit:
            db.session.commit()
        else:
            db.session.rollback()
        return _oauth_error(error)
    db.session.commit()
    response = jsonify(access_token=access_token, token_type="Bearer", expires_in=expires_in,
                       refresh_token=refresh_token, scope=application.scopes)
    response.headers["Pragma"] = "no-cache"
    return response


# --- partner -------------------------------------------------------------------------

@v1.get("/partner")
@api_token("partner:read")
def partner():
    from ..roles.models import GrantStatus, Role, RoleRequest

    roles = db.session.execute(
        select(RoleRequest, Role).join(Role, Role.id == RoleRequest.role_id)
        .where(RoleRequest.partner_id == g.api_application.partner_id, RoleRequest.status == GrantStatus.ACTIVE)
        .order_by(Role.code)
    ).all()
    body = partner_json(g.api_partner, roles)
    body["application"] = {"name": g.api_application.name, "environment": g.api_application.environment,
                           "scopes": sorted(g.api_application.scope_set())}
    return jsonify(body)


# --- notifications ---------------------------------------------------------------------

def parse_cursor_args() -> tuple[int, int, list]:
    """(since, limit, errors) from the query string."""
    errors = []
    since_text = request.args.get("since", "0")
    limit_text = request.args.get("limit", str(DEFAULT_LIMIT))
    since = limit = 0
    if not since_text.isascii() or not since_text.isdigit() or len(since_text) > 18:
        errors.append(field_error("since", "since must be a cursor returned by this API (digits)"))
    else:
        since = min(int(since_text), MAX_ID)
    if not limit_text.isascii() or not limit_text.isdigit() or not 1 <= int(limit_text[:6]) <= MAX_LIMIT:
        errors.append(field_error("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}"))
    else:
        limit = int(limit_text)
    return since, limit, errors


@v1.get("/notifications")
@api_token("notifications:read")
def notifications():
    since, limit, errors = parse_cursor_args()
    unread = request.args.get("unread")
    if unread not in (None, "true", "false"):
        errors.append(field_error("unread", "unread must be true or false"))
    if errors:
        return problem("invalid_request", errors=errors)
    application = g.api_application
    stmt = select(ApiNotification).where(ApiNotification.partner_id == application.partner_id,
                                         ApiNotification.is_test == application.is_test, ApiNotification.id > since)
    if unread == "true":
        stmt = stmt.where(ApiNotification.read_at.is_(None))
    elif unread == "false":
        stmt = stmt.where(ApiNotification.read_at.is_not(None))
    rows = list(db.session.execute(stmt.order_by(ApiNotification.id).limit(limit + 1)).scalars())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = str(rows[-1].id) if rows else str(since)
    return jsonify(items=[notification_json(n) for n in rows], next_cursor=next_cursor, has_more=has_more)


def _own_notification(notification_id: int) -> ApiNotification | None:
    if notification_id > MAX_ID:
        return None
    application = g.api_application
    return db.session.execute(select(ApiNotification).where(
        ApiNotification.id == notification_id, ApiNotification.partner_id == application.partner_id,
        ApiNotification.is_test == application.is_test)).scalar_one_or_none()


@v1.get("/notifications/<int:notification_id>")
@api_token("notifications:read")
def notification(notification_id: int):
    row = _own_notification(notification_id)
    if row is None:
        return problem("not_found")
    return jsonify(notification_json(row))


@v1.post("/notifications/<int:notification_id>/read")
@api_token("notifications:write")
def mark_read(notification_id: int):
    row = _own_notification(notification_id)
    if row is None:
        return problem("not_found")
    db.session.execute(update(ApiNotification).where(ApiNotification.id == row.id, ApiNotification.read_at.is_(None))
                       .values(read_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    db.session.refresh(row)
    return jsonify(notification_json(row))


@v1.post("/test/notifications")
@api_token("notifications:read")
def test_notification():
    """Test applications only: a sample notification in their own (test) feed."""
    application = g.api_application
    if not application.is_test:
        return problem("test_only")
    row = ApiNotification(partner_id=application.partner_id, is_test=True, kind="test",
                          subject="Test notification", body="A sample notification for the test environment.",
                          created_at=utcnow())
    db.session.add(row)
    db.session.commit()
    return jsonify(notification_json(row)), 201


# --- the OpenAPI document --------------------------------------------------------------

@v1.get("/openapi.json")
@public
def openapi():
    from .openapi import document

    response = jsonify(document(request.host_url.rstrip("/")))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
