"""Part 1 of the battery: every route × method × actor has an expected outcome, and gets it.

The routes come from `app.url_map`, so a route added later is tested as soon as it
exists (and fails `test_every_route_has_an_entry` until matrix.py says who may
call it). Another partner's objects answer 404; a refused write leaves every table
as it was; every GET, whoever calls it, leaves every table as it was (part 2).
"""
from __future__ import annotations

import time

import pytest

from tradeportal import access
from tradeportal import extensions as ext

from . import figures, matrix, undo
from .conftest import ACTORS, WriteWatch, diff, snapshot
from .sweep import call, classify, expected, is_denial, matches, routes, url


def test_every_route_has_an_entry(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(matrix.MATRIX))
    stale = sorted(set(matrix.MATRIX) - endpoints)
    assert not missing, f"routes without an entry in tests/security/matrix.py: {', '.join(missing)}"
    assert not stale, f"entries of tests/security/matrix.py for routes that no longer exist: {', '.join(stale)}"


def test_every_view_declares_its_access(app):
    assert access.undeclared_routes(app) == []


def _fresh_world(world):
    for actor in ACTORS:
        world.client(actor)
        if actor != "api_other":
            world.csrf_token(actor)
    return snapshot()


def _back_to(world, reference, baseline, touched, actor):
    """Undo the cell's writes row by row; build the world again if that does not give the known state."""
    try:
        undo.undo(baseline, touched)
    except Exception as error:  # noqa: BLE001 - a constraint the undo could not satisfy: rebuild instead
        why = f"{type(error).__name__}: {str(error)[:80]}"
    else:
        if actor != "api_other":  # a bearer token is a header, the same in every cell
            world.forget_client(actor)  # its cookie may have changed with the cell (signed out, new session…)
        after = _fresh_world(world)
        # The acting actor's new session is the one row allowed to differ from the known state.
        left = [c for c in diff(reference, after) if not c.startswith("user_session ")]
        if not left:
            return after, "undone"
        why = f"still different: {', '.join(left)}"
    world.rebuild()
    return _fresh_world(world), f"rebuilt ({why})"


@pytest.mark.timeout(1200)  # thousands of cells: minutes on a loaded machine, not a hang
def test_access_matrix(app, world):
    started = time.monotonic()
    all_routes = [r for r in routes(app) if r.endpoint in matrix.MATRIX]
    failures, cells, denied, denied_writes, get_cells, get_changes, rebuilds = [], 0, 0, 0, 0, [], 0
    current = _fresh_world(world)
    reference, baseline, undone, rebuilt_after = current, undo.capture(), 0, []
    watch, snapshots = WriteWatch(ext.db.engine), 0
    for route in all_routes:
        for actor in ACTORS:
            wanted = expected(world, route, actor)
            target = url(app, world, route)
            writes_before = watch.count
            response = call(world, actor, route, target)
            outcome = classify(response)
            if route.writes and outcome == "400" and not is_denial(wanted):
                # The actor's session lost its CSRF token to an earlier cell: once more with a fresh one.
                world.csrf_token(actor, refresh=True)
                response = call(world, actor, route, target)
                outcome = classify(response)
            cells += 1
            label = f"{route.method} {route.rule.rule} ({route.endpoint}) as {actor}"
            if not matches(outcome, wanted):
                failures.append(f"{label}: expected {wanted}, got {outcome} ({response.status_code} "
                                f"{response.location or ''})")
            if watch.count == writes_before:
                after, changed = current, []  # not one INSERT, UPDATE or DELETE: nothing changed
            else:
                after, snapshots = snapshot(), snapshots + 1
                changed = diff(current, after)
            touched = {c.split(" ")[0] for c in changed}
            denial = is_denial(wanted) or not matches(outcome, wanted)
            if denial:
                denied += 1
                denied_writes += route.writes
            if not route.writes:
                get_cells += 1
            allowed_get = [t for t in matrix.MATRIX[route.endpoint].get_changes if not denial]
            if allowed_get:
                changed = [c for c in changed if c.split(" ")[0] not in allowed_get]
            if changed and (denial or not route.writes):
                why = "a refused write" if route.writes else "a GET"
                failures.append(f"{label}: {why} changed {', '.join(changed)}")
                if not route.writes:
                    get_changes.append(label)
            if touched:  # a write changed the world: back to the known state before the next cell
                after, how = _back_to(world, reference, baseline, touched, actor)
                if how == "undone":
                    undone += 1
                else:
                    rebuilds += 1
                    rebuilt_after.append(f"{label}: {how}")
                    reference = after
                baseline = undo.capture()
            current = after
    watch.close()
    endpoints = {r.endpoint for r in all_routes}
    figures.record(
        "1 access matrix",
        cells=cells, failures=len(failures), routes=len({(r.rule.rule, r.method) for r in all_routes}),
        endpoints=len(endpoints), actors=len(ACTORS), denied_cells=denied, denied_writes_unchanged=denied_writes,
        api_token_actor="exercised with a real token of partner B" if world.api_token_exercised
        else "no API area yet: API routes answer 401 to every actor",
        world_rebuilds=rebuilds, world_rebuilt_after=rebuilt_after, world_restored_row_by_row=undone, cells_compared_table_by_table=snapshots, seconds=round(time.monotonic() - started, 1),
    )
    figures.record(
        "2 CSRF and safe methods",
        get_cells=get_cells, get_routes=len({r.endpoint for r in all_routes if not r.writes}),
        get_cells_changing_state=len(get_changes),
    )
    assert not failures, f"{len(failures)} of {cells} cells fail:\n" + "\n".join(failures)
