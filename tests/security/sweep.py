"""Walking `app.url_map`: the cells of the access matrix and how an answer is classified."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import url_for

from tradeportal import access

from . import matrix

SAFE = {"GET"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@dataclass
class Route:
    rule: object
    endpoint: str
    method: str
    access: str
    detail: str | None

    @property
    def writes(self) -> bool:
        return self.method not in SAFE


def routes(app) -> list[Route]:
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions[rule.endpoint]
        kind = "public" if rule.endpoint == "static" else getattr(view, "access", None)
        for method in sorted(rule.methods - IGNORED_METHODS):
            found.append(Route(rule, rule.endpoint, method, kind, getattr(view, "access_detail", None)))
    return found


def url(app, world, route: Route) -> str:
    entry = matrix.MATRIX[route.endpoint]
    values = {}
    for name in route.rule.arguments:
        builder = entry.args.get(name)
        if builder is None:
            raise AssertionError(f"{route.endpoint}: matrix.py gives no value for the URL argument {name!r}")
        values[name] = builder(world)
    if entry.query:
        values.update(entry.query(world))
    with app.test_request_context():
        return url_for(route.endpoint, **values)


def expected(world, route: Route, actor: str):
    entry = matrix.MATRIX[route.endpoint]
    return matrix.expected(route.access, route.detail, actor, entry, "partner_id" in route.rule.arguments,
                           access._token_resolver is not None)


def classify(response) -> str:
    status = response.status_code
    if status >= 500:
        return f"{status}"
    if 300 <= status < 400:
        path = urlsplit(response.location or "").path
        if path == "/sign-in":
            return "sign_in"
        if path == "/dashboard":
            return "dashboard"
        return "ok"
    if status in (400, 401, 403, 404, 405, 413, 429):
        return str(status)
    return "ok"  # 2xx, 422


def matches(outcome: str, wanted) -> bool:
    wanted = wanted if isinstance(wanted, tuple) else (wanted,)
    for one in wanted:
        if one == outcome or (one == "ok" and outcome == "dashboard"):
            return True
        if one == "noop" and not outcome.startswith("5"):
            return True
    return False


def is_denial(wanted) -> bool:
    wanted = wanted if isinstance(wanted, tuple) else (wanted,)
    return "ok" not in wanted


def call(world, actor: str, route: Route, target: str, *, token: str | None = "valid"):
    client = world.client(actor)
    if not route.writes:
        return client.get(target)
    entry = matrix.MATRIX[route.endpoint]
    data = dict(entry.data(world)) if entry.data else {}
    if token == "valid":
        data["csrf_token"] = world.csrf_token(actor)
    elif token:
        data["csrf_token"] = token
    return client.open(target, method=route.method, data=data)
