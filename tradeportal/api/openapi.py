"""The OpenAPI 3.1 document of /api/v1, written by hand and checked by the tests (schemathesis)."""
from __future__ import annotations

from .services import SCOPES
from .v1 import DEFAULT_LIMIT, MAX_LIMIT

PROBLEM = {"$ref": "#/components/responses/Problem"}
COMMON = {"400": PROBLEM, "401": PROBLEM, "403": PROBLEM, "429": PROBLEM}


def _op(summary: str, scope: str, responses: dict, **extra) -> dict:
    op = {"summary": summary, "security": [{"bearer": []}], "description": f"Scope: `{scope}`.",
          "responses": {**responses, **COMMON}}
    op.update(extra)
    return op


def _ok(schema_ref: str, status: str = "200", description: str = "OK") -> dict:
    return {status: {"description": description, "headers": RATE_HEADERS,
                     "content": {"application/json": {"schema": {"$ref": schema_ref}}}}}


RATE_HEADERS = {
    "RateLimit": {"description": "Remaining calls and seconds to the reset (IETF draft ratelimit-headers)",
                  "schema": {"type": "string"}},
    "RateLimit-Policy": {"description": "The quota and its window in seconds", "schema": {"type": "string"}},
}

ID_PARAM = {"name": "notification_id", "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}

NOTIFICATION = {
    "type": "object",
    "required": ["id", "kind", "subject", "body", "link", "created_at", "read_at", "test"],
    "properties": {
        "id": {"type": "string", "description": "Also the cursor of this notification"},
        "kind": {"type": "string"},
        "subject": {"type": "string"},
        "body": {"type": "string"},
        "link": {"type": ["string", "null"], "description": "Path of the page on the portal"},
        "created_at": {"type": "string", "format": "date-time"},
        "read_at": {"type": ["string", "null"], "format": "date-time"},
        "test": {"type": "boolean", "description": "Test data (test applications only)"},
    },
}


DOC_ID_PARAM = {"name": "document_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
CURSOR_LIMIT = {"name": "limit", "in": "query", "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}}

DOCUMENT_PATHS = {
    "/api/v1/document-categories": {"get": _op("Categories a document can be uploaded in", "documents:write",
                                               _ok("#/components/schemas/CategoryList"))},
    "/api/v1/documents": {
        "get": _op("Documents of the business partner, newest first", "documents:read",
                   _ok("#/components/schemas/DocumentList"), parameters=[
                       {"name": "before", "in": "query", "required": False,
                        "description": "`next_cursor` of the previous page", "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
                       CURSOR_LIMIT]),
        "post": _op("Upload documents (the same checks as on the portal; all or nothing)", "documents:write",
                    {**_ok("#/components/schemas/UploadResult", "201", "Received"), "413": PROBLEM, "422": PROBLEM},
                    requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
                        "type": "object", "required": ["category", "case_number", "file"], "properties": {
                            "category": {"type": "integer", "description": "id from /api/v1/document-categories"},
                            "case_number": {"type": "string", "pattern": "^[A-Za-z0-9]{1,10}$"},
                            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        }}}}}),
    },
    "/api/v1/documents/{document_id}": {"get": _op("One document", "documents:read",
                                                   {**_ok("#/components/schemas/Document"), "404": PROBLEM},
                                                   parameters=[DOC_ID_PARAM])},
    "/api/v1/documents/{document_id}/content": {"get": _op(
        "The file", "documents:read",
        {"200": {"description": "The file", "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
         "404": PROBLEM}, parameters=[DOC_ID_PARAM])},
}

CATEGORY = {"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
DOCUMENT_SCHEMAS = {
    "Category": CATEGORY,
    "CategoryList": {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Category"}}}},
    "Document": {"type": "object", "required": ["id", "reference", "category", "case_number", "name", "size",
                                                 "content_type", "sha256", "received_at", "processed", "test"],
                 "properties": {
                     "id": {"type": "string"}, "reference": {"type": ["string", "null"]},
                     "category": {"$ref": "#/components/schemas/Category"}, "case_number": {"type": "string"},
                     "name": {"type": "string"}, "size": {"type": "integer"}, "content_type": {"type": "string"},
                     "sha256": {"type": "string"}, "received_at": {"type": ["string", "null"], "format": "date-time"},
                     "processed": {"type": "boolean"}, "test": {"type": "boolean"}}},
    "DocumentList": {"type": "object", "required": ["items", "next_cursor", "has_more"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}},
        "next_cursor": {"type": ["string", "null"]}, "has_more": {"type": "boolean"}}},
    "UploadResult": {"type": "object", "required": ["reference", "received_at", "items"], "properties": {
        "reference": {"type": "string"}, "received_at": {"type": "string", "format": "date-time"},
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}}}},
}


def document(server: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tradeportal B2B API",
            "version": "1.0.0",
            "description": (
                "JSON API for the business software of a business partner. Get a token at `/api/v1/token` "
                "with the client ID and secret of an application made in API self-service. Errors are "
                "RFC 9457 problem details in the language of `Accept-Language` (fr, en, de). Lists are "
                f"paginated by cursor (`since`, `limit` up to {MAX_LIMIT}). See /api/reference."
            ),
        },
        "servers": [{"url": server}],
        "paths": {
            "/api/v1/token": {"post": {
                "summary": "Get or refresh tokens (OAuth 2.0, RFC 6749)",
                "security": [{"basic": []}, {}],
                "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials", "refresh_token"]},
                        "client_id": {"type": "string"}, "client_secret": {"type": "string"},
                        "refresh_token": {"type": "string"},
                    }}}}},
                "responses": {
                    "200": {"description": "Tokens", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenResponse"}}}},
                    "400": {"description": "OAuth error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}}},
                    "401": {"description": "Client authentication failed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}}},
                    "429": PROBLEM,
                },
            }},
            "/api/v1/partner": {"get": _op("The business partner: profile and roles", "partner:read",
                                           _ok("#/components/schemas/Partner"))},
            "/api/v1/notifications": {"get": _op(
                "Notifications of the business partner, oldest first, after the cursor", "notifications:read",
                _ok("#/components/schemas/NotificationList"),
                parameters=[
                    {"name": "since", "in": "query", "required": False, "description": "`next_cursor` of the previous page; 0 (default) from the start",
                     "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
                    {"name": "unread", "in": "query", "required": False, "schema": {"type": "string", "enum": ["true", "false"]}},
                ])},
            "/api/v1/notifications/{notification_id}": {"get": _op(
                "One notification", "notifications:read",
                {**_ok("#/components/schemas/Notification"), "404": PROBLEM}, parameters=[ID_PARAM])},
            "/api/v1/notifications/{notification_id}/read": {"post": _op(
                "Mark a notification as read (for every application of the business partner)", "notifications:write",
                {**_ok("#/components/schemas/Notification"), "404": PROBLEM}, parameters=[ID_PARAM])},
            "/api/v1/test/notifications": {"post": _op(
                "Test applications only: add a sample notification to the test feed", "notifications:read",
                _ok("#/components/schemas/Notification", "201", "Created"))},
            **DOCUMENT_PATHS,
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Access token (tpat_…), valid 1 hour"},
                "basic": {"type": "http", "scheme": "basic", "description": "Client ID and client secret"},
            },
            "responses": {"Problem": {"description": "Problem details (RFC 9457)", "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {
                "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {
                        "field": {"type": "string"}, "message": {"type": "string"}}}},
                }},
                "OAuthError": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string", "enum": [
                    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type"]}}},
                "TokenResponse": {"type": "object", "required": ["access_token", "token_type", "expires_in", "refresh_token", "scope"],
                                  "properties": {"access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
                                                 "expires_in": {"type": "integer"}, "refresh_token": {"type": "string"},
                                                 "scope": {"type": "string", "description": " ".join(SCOPES)}}},
                "Notification": NOTIFICATION,
                **DOCUMENT_SCHEMAS,
                "NotificationList": {"type": "object", "required": ["items", "next_cursor", "has_more"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}},
                    "next_cursor": {"type": "string"}, "has_more": {"type": "boolean"}}},
                "Partner": {"type": "object", "required": ["id", "name", "identifier", "kind", "address", "roles", "application"],
                            "properties": {
                                "id": {"type": "integer"}, "name": {"type": "string"},
                                "identifier": {"type": ["string", "null"]}, "kind": {"type": "string"},
                                "legal_form": {"type": ["string", "null"]},
                                "address": {"type": "object", "properties": {
                                    "line1": {"type": "string"}, "line2": {"type": ["string", "null"]},
                                    "postcode": {"type": "string"}, "town": {"type": "string"}, "country": {"type": "string"}}},
                                "roles": {"type": "array", "items": {"type": "object", "required": ["code", "name"], "properties": {
                                    "code": {"type": "string"}, "name": {"type": "string"},
                                    "since": {"type": ["string", "null"], "format": "date-time"}}}},
                                "application": {"type": "object", "properties": {
                                    "name": {"type": "string"}, "environment": {"type": "string", "enum": ["test", "live"]},
                                    "scopes": {"type": "array", "items": {"type": "string"}}}},
                            }},
            },
        },
    }


