"""RFC 9457 problem details, in the language of Accept-Language, and the per-application rate limit."""
from __future__ import annotations

import time

from flask import current_app, g, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

PROBLEMS = {
    "unauthorized": (401, _l("Authentication required"), _l("Send a valid access token in the Authorization header: Bearer <token>.")),
    "invalid_token": (401, _l("The access token is not valid"), _l("The token is unknown, expired or revoked. Ask for a new one at the token endpoint.")),
    "insufficient_scope": (403, _l("The application may not do this"), _l("The application's scopes do not include what this call needs.")),
    "service_closed": (403, _l("API self-service is not open for this business partner"), _l("No active role of the business partner opens API self-service, or the business partner is suspended.")),
    "test_only": (403, _l("Only for test applications"), _l("This call exists for applications of the test environment.")),
    "not_found": (404, _l("Not found"), _l("There is nothing at this address for this business partner.")),
    "invalid_request": (400, _l("The request is not valid"), _l("Check the parameters: the errors member says which one is wrong.")),
    "upload_rejected": (422, _l("The files were not accepted"), _l("The errors member says which file was refused and why.")),
    "rate_limited": (429, _l("Too many requests"), _l("The application made too many calls. Wait for the time given in Retry-After.")),
}


def problem(code: str, *, errors: list | None = None, headers: dict | None = None, **extra):
    status, title, detail = PROBLEMS[code]
    body = {"type": f"/api/reference#problem-{code}", "title": str(title), "status": status, "detail": str(detail)}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        error = ' error="invalid_token"' if code == "invalid_token" else ""
        response.headers["WWW-Authenticate"] = f'Bearer realm="tradeportal"{error}'
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_error(field: str, message) -> dict:
    return {"field": field, "message": str(message)}


def _strategy() -> FixedWindowRateLimiter:
    # Its own counters in the limiter's storage (Redis when configured), independent of
    # the switch that turns Flask-Limiter's per-address limits off.
    strategy = current_app.extensions.get("tp_api_rate")
    if strategy is None:
        storage = storage_from_string(current_app.config["RATELIMIT_STORAGE_URI"])
        strategy = current_app.extensions["tp_api_rate"] = FixedWindowRateLimiter(storage)
    return strategy


def check_rate(application) -> dict | None:
    """Count one call of `application`; the RateLimit headers to send, and whether it is over."""
    item = parse(current_app.config["API_RATE_LIMIT"])
    strategy = _strategy()
    key = (current_app.config.get("RATELIMIT_KEY_PREFIX") or "tradeportal", "api-application", application.client_id)
    allowed = strategy.hit(item, *key)
    stats = strategy.get_window_stats(item, *key)
    reset = max(0, int(stats.reset_time - time.time()))
    window = item.get_expiry()
    g.api_rate_headers = {
        "RateLimit-Policy": f'"application";q={item.amount};w={window}',
        "RateLimit": f'"application";r={stats.remaining};t={reset}',
    }
    if not allowed:
        return problem("rate_limited", headers={**g.api_rate_headers, "Retry-After": str(max(1, reset))})
    return None
