"""Part 7 of the battery: the security headers on every route, errors included.

Every GET route of `app.url_map` (URLs from matrix.py) is asked by an anonymous
visitor, a signed-in member and a staff member; then 400, 401, 403, 404, 405 and a
500 (raised by a test-only route of a separate app instance, run as in production
where exceptions are not propagated). Each answer must carry the foundation's list:

- Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval', with
  frame-ancestors 'none', object-src 'none', base-uri, a default-src;
- X-Content-Type-Options: nosniff; Referrer-Policy; X-Frame-Options: DENY;
  Permissions-Policy; Cross-Origin-Opener-Policy;
- Cache-Control: no-store on every answer to a signed-in person (static files aside);
- Strict-Transport-Security over HTTPS.

The browser half (no `securitypolicyviolation` during the end-to-end journeys) is
in tests/browser/conftest.py: the `page` fixture fails a journey that saw one.
"""
from __future__ import annotations

from collections import Counter

import pytest
from flask import Blueprint

from tradeportal.access import public

from . import figures, matrix
from .sweep import call, routes, url

REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
STATUS_SEEN: Counter = Counter()
CHECKS = Counter()


@pytest.fixture(autouse=True, scope="module")
def _record():
    yield
    figures.record("7 headers", responses_checked=sum(STATUS_SEEN.values()),
                   header_checks=CHECKS["passed"] + CHECKS["failed"], by_status={str(k): v for k, v in sorted(STATUS_SEEN.items())},
                   failures=CHECKS["failed"], sandboxed_attachments=CHECKS["sandboxed attachments"])


def csp_directives(value: str) -> dict[str, list[str]]:
    directives = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def header_problems(response, *, signed_in: bool, https: bool = False, static: bool = False) -> list[str]:
    problems = []
    h = response.headers

    def need(ok, what):
        CHECKS["passed" if ok else "failed"] += 1
        if not ok:
            problems.append(what)

    csp = h.get("Content-Security-Policy", "")
    d = csp_directives(csp)
    need(bool(csp), "no Content-Security-Policy")
    need("unsafe-inline" not in csp and "unsafe-eval" not in csp, f"CSP allows unsafe-*: {csp}")
    if "sandbox" in d and d.get("default-src") == ["'none'"] and "attachment" in h.get("Content-Disposition", ""):
        # A downloaded file: nothing may load or run (object-src falls back to default-src 'none'),
        # no page is rendered for a base URI to matter, and X-Frame-Options: DENY (below) forbids framing.
        CHECKS["sandboxed attachments"] += 1
    else:
        need(d.get("frame-ancestors") == ["'none'"], "CSP frame-ancestors is not 'none'")
        need(d.get("object-src") == ["'none'"], "CSP object-src is not 'none'")
        need("base-uri" in d and d["base-uri"] in (["'none'"], ["'self'"]), "CSP without a strict base-uri")
    need("default-src" in d and "*" not in d["default-src"], "CSP without a strict default-src")
    need(all("*" not in d.get(k, []) and "data:" not in d.get(k, []) for k in ("script-src", "default-src")),
         "CSP lets scripts come from anywhere or data:")
    need(h.get("X-Content-Type-Options") == "nosniff", "no X-Content-Type-Options: nosniff")
    need(h.get("Referrer-Policy") in REFERRER_POLICIES, f"Referrer-Policy {h.get('Referrer-Policy')!r}")
    need(h.get("X-Frame-Options") == "DENY", "no X-Frame-Options: DENY")
    need(bool(h.get("Permissions-Policy")), "no Permissions-Policy")
    need(h.get("Cross-Origin-Opener-Policy") == "same-origin", "no Cross-Origin-Opener-Policy: same-origin")
    if signed_in and not static:
        need("no-store" in h.get("Cache-Control", ""), f"signed in but Cache-Control is {h.get('Cache-Control')!r}")
    if https:
        hsts = h.get("Strict-Transport-Security", "")
        need("max-age=" in hsts and int(hsts.split("max-age=")[1].split(";")[0]) >= 31536000,
             f"HSTS missing or short over HTTPS: {hsts!r}")
    else:
        need("Strict-Transport-Security" not in h, "HSTS sent over plain HTTP")
    STATUS_SEEN[response.status_code] += 1
    return problems


ACTORS = ("anonymous", "administrator", "staff")


def test_headers_on_every_get_route(app, world):
    failures = []
    for route in routes(app):
        if route.writes or route.endpoint not in matrix.MATRIX:
            continue
        for actor in ACTORS:
            response = call(world, actor, route, url(app, world, route))
            problems = header_problems(response, signed_in=actor != "anonymous", static=route.endpoint == "static")
            if problems:
                failures.append(f"GET {route.rule.rule} as {actor} ({response.status_code}): {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


def test_headers_over_https(app, world):
    failures = []
    for actor, path in (("anonymous", "/"), ("anonymous", "/sign-in"), ("administrator", "/dashboard"),
                        ("anonymous", "/no-such-page")):
        response = world.client(actor).get(path, base_url="https://localhost")
        problems = header_problems(response, signed_in=actor != "anonymous", https=True)
        if problems:
            failures.append(f"{path} over HTTPS as {actor}: {problems}")
    assert not failures, failures


def test_headers_on_error_answers(app, world):
    cases = [
        ("anonymous", "GET", "/no-such-page", 404),
        ("administrator", "GET", "/no-such-page", 404),
        ("anonymous", "GET", "/sign-out", 405),
        ("administrator", "DELETE", "/account", 405),
        ("anonymous", "POST", "/feedback", None),  # no CSRF token: 400 (or kept for after sign-in)
        ("administrator", "POST", "/feedback", 400),
        ("anonymous", "POST+token", "/session/extend", 401),
        ("member_no_right", "GET", f"/partners/{world.ids['partner_a']}/members", 403),
        ("staff_no_permission", "GET", "/staff/letters", 403),
        ("other_member", "GET", f"/partners/{world.ids['partner_a']}", 404),
        ("anonymous", "GET", "/api/v1/no-such-thing", 404),
    ]
    failures = []
    for actor, method, path, status in cases:
        data = {"csrf_token": world.csrf_token(actor)} if method.endswith("+token") else None
        response = world.client(actor).open(path, method=method.split("+")[0], data=data)
        if status is not None and response.status_code != status:
            failures.append(f"{method} {path} as {actor}: expected {status}, got {response.status_code}")
        problems = header_problems(response, signed_in=actor != "anonymous")
        if problems:
            failures.append(f"{method} {path} as {actor} ({response.status_code}): {problems}")
    assert not failures, "\n".join(failures)


def _crashing_app(app):
    """The same application, run as in production (exceptions become a 500 page), plus a route that fails."""
    from tests.conftest import PortalClient
    from tradeportal import create_app

    keys = ("SECRET_KEY", "INSTANCE_PATH", "SQLALCHEMY_DATABASE_URI", "SMTP_HOST", "BASE_URL", "UPLOAD_DIR")
    crashing = create_app({**{k: app.config[k] for k in keys}, "ENVIRONMENT": "testing", "TESTING": False,
                           "RATELIMIT_ENABLED": False})
    bp = Blueprint("security_crash", __name__)

    @bp.get("/__crash")
    @public
    def crash():
        raise RuntimeError("deliberate failure SECRET-DETAIL-42")

    @bp.get("/api/v1/__crash")
    @public
    def api_crash():
        raise RuntimeError("deliberate failure SECRET-DETAIL-42")

    crashing.register_blueprint(bp)
    crashing.test_client_class = PortalClient
    return crashing


def test_headers_on_a_500(app, world):
    crashing = _crashing_app(app)
    failures = []
    for path in ("/__crash", "/api/v1/__crash"):
        response = crashing.test_client().get(path)
        body = response.get_data(as_text=True)
        if response.status_code != 500:
            failures.append(f"{path}: expected 500, got {response.status_code}")
        if "SECRET-DETAIL-42" in body or "Traceback" in body:
            failures.append(f"{path}: the 500 page shows the error's details")
        problems = header_problems(response, signed_in=False)
        if problems:
            failures.append(f"{path} (500): {problems}")
    assert not failures, "\n".join(failures)
