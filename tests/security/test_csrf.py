"""Part 2 of the battery: every state-changing route refuses a request without its CSRF token.

For each POST/PUT/PATCH/DELETE of `app.url_map`, an actor allowed to call it sends
the request (with the fields matrix.py gives) twice: without a token, and with a
valid token of another session. Both are refused (400) and no table changes.
Public forms are also tried by an anonymous visitor, whose refused form may be
kept for after sign-in (auth/stash.py) — but still nothing is written.

Exempt by design: `api_token` routes (the B2B JSON API authenticates each call
with a bearer token in a header a browser never adds on its own, and sets no
cookie); they are counted in the figures as exempt.
The "GET never changes state" half of part 2 is measured by the access matrix
(test_access_matrix.py), which snapshots every table after every GET of every actor.
"""
from __future__ import annotations

from tradeportal import extensions as ext

from . import figures, matrix
from .conftest import ACTORS, WriteWatch, diff, snapshot
from .sweep import call, classify, expected, matches, routes, url

PREFERRED = ("administrator", "staff", "no_partner", "member_with_rights", "pending", "anonymous")
OTHER_SESSION = {"anonymous": "pending"}  # whose token each actor steals; default: the anonymous visitor's


def _actors_for(world, route):
    entry = matrix.MATRIX[route.endpoint]
    order = ([entry.owner] if entry.owner else []) + [a for a in PREFERRED if a != entry.owner]
    # Flask-WTF checks the token before the view runs, so when no actor of the world may
    # complete the action (e.g. no manual entry to edit) the first candidate still tells.
    chosen = [a for a in order if matches("ok", expected(world, route, a))][:1] or order[:1]
    if route.access == "public" and "anonymous" not in chosen:
        chosen.append("anonymous")
    return chosen


def test_csrf_on_every_state_changing_route(app, world):
    for actor in ACTORS:
        world.client(actor)
        if actor != "api_other":
            world.csrf_token(actor)
    writes = [r for r in routes(app) if r.writes and r.endpoint in matrix.MATRIX]
    exempt = [r for r in writes if r.access == "api_token"]
    failures, checks, routes_checked = [], 0, set()
    current = snapshot()
    watch = WriteWatch(ext.db.engine)
    for route in writes:
        if route.access == "api_token":
            continue
        actors = _actors_for(world, route)
        for actor in actors:
            for case, token in (("without a token", None),
                                ("with another session's token", world.csrf_token(OTHER_SESSION.get(actor, "anonymous")))):
                target = url(app, world, route)
                writes_before = watch.count
                response = call(world, actor, route, target, token=token)
                outcome = classify(response)
                checks += 1
                label = f"{route.method} {route.rule.rule} as {actor} {case}"
                stashed = actor == "anonymous" and outcome in ("sign_in", "ok") and response.status_code in (302, 303)
                if outcome != "400" and not stashed:
                    failures.append(f"{label}: expected 400, got {response.status_code} {response.location or ''}")
                if watch.count == writes_before:
                    continue  # not one INSERT, UPDATE or DELETE: nothing changed
                after = snapshot()
                changed = diff(current, after)
                if changed:
                    failures.append(f"{label}: changed {', '.join(changed)}")
                    world.rebuild()
                    after = snapshot()
                current = after
        routes_checked.add((route.method, route.rule.rule))
    watch.close()
    figures.record(
        "2 CSRF and safe methods",
        state_changing_routes=len({(r.method, r.rule.rule) for r in writes}),
        state_changing_routes_checked=len(routes_checked), csrf_requests=checks, csrf_failures=len(failures),
        exempt_api_routes=len(exempt),
    )
    assert not failures, "\n".join(failures)


def test_a_valid_token_is_accepted(app, world):
    """The check above is not vacuous: the same request with the session's own token passes the CSRF check."""
    client = world.client("no_partner")
    for token in (world.csrf_token_from_page("no_partner"), world.csrf_token("no_partner", refresh=True)):
        # The token of a rendered page, and the one the battery makes the same way for its thousands of cells.
        response = client.post("/feedback", data={"csrf_token": token, "page_url": "/help", "text": ""})
        assert response.status_code != 400
