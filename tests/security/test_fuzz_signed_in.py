"""Part 3 of the battery (fuzzing), second slice: every form of the signed-in pages.

The forms are found, not listed: every GET route of `app.url_map` that the access matrix
can build (tests/security/matrix.py, with the world's real objects of partner A) is fetched
as an actor who may use it (the administrator of partner A for partner pages, the staff
member holding every permission for staff pages, the administrator and the person without a
partner for the other signed-in pages, the owner for a route on one person's object), and
every `<form method="post">` with at least one field a person fills in is kept, once per
route pattern of its action. hypothesis then fills every field of the form (hidden ones,
select options, checkbox, radio and button values too) with the hostile values of
fuzzing.py and posts it with the actor's CSRF token.

Checks of every answer: below 500; no payload's markup echoed unescaped; on a 422, the text
typed in a plain field shown again, escaped (fuzzing.problems). Forms make real changes
(the values are hostile, not always invalid): after each form the world is put back row by
row (undo.py). A form that ends the actor's session (its answer leads to the sign-in page)
gets the world put back and a new signed-in client before the next example.

Examples per form: TRADEPORTAL_FUZZ_EXAMPLES (default 15); the `slow` variant runs 200.
`MIN_FORMS` fails the test when a form that exists is no longer reached.
"""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException

from tradeportal import extensions as ext

from . import fuzzing, matrix, undo
from .conftest import WriteWatch
from .sweep import routes, url

pytestmark = pytest.mark.usefixtures("no_rate_limits")

# Fuzzed by test_fuzz_forms.py (before sign-in, or half-way through it).
BEFORE_SIGN_IN = {"/sign-in", "/forgot-password", "/sign-up", "/feedback", "/sign-in/code", "/sign-in/set-up",
                  "/reset-password"}
# The signed-in forms found on the day this was written; fewer means a form page is no longer reached.
MIN_FORMS = 39


def _actors(route, entry) -> tuple[str, ...]:
    if route.access == "staff":
        return ("staff",)
    if route.access in ("partner_member", "partner_admin"):
        return (entry.owner or "administrator",)
    if route.access == "signed_in":
        return (entry.owner,) if entry.owner else ("administrator", "no_partner")
    if route.access == "public":
        return ("administrator",)
    return ()  # second factor pending, bearer tokens: not signed-in pages


def _pages(app, world):
    """(GET address, actor) of every signed-in page to look for forms on."""
    for route in routes(app):
        entry = matrix.MATRIX.get(route.endpoint)
        if route.method != "GET" or entry is None or route.endpoint == "static":
            continue
        for actor in _actors(route, entry):
            yield url(app, world, route), actor
    endpoints = {route.endpoint for route in routes(app)}
    for endpoint, address, actor in MORE_PAGES:
        assert endpoint in endpoints, f"MORE_PAGES names {endpoint}, which no longer exists"
        yield address(world.ids), actor


def discover(app, world) -> dict[str, dict]:
    """{route pattern of the action: form} for every fillable post form of the signed-in pages."""
    adapter = app.url_map.bind("localhost")
    found: dict[str, dict] = {}
    for target, actor in _pages(app, world):
        page = world.client(actor).get(target)
        if page.status_code != 200 or "html" not in (page.content_type or ""):
            continue
        for form in fuzzing.forms_of(page.get_data(as_text=True)):
            if form["method"] != "post" or not fuzzing.is_fillable(form["fields"]):
                continue
            action = urlsplit(form["action"] or target)
            try:
                rule, _args = adapter.match(action.path, method="POST", return_rule=True)
            except HTTPException:
                continue
            if action.path in BEFORE_SIGN_IN or rule.rule in found:
                continue
            found[rule.rule] = {"action": form["action"] or target, "endpoint": rule.endpoint, "actor": actor,
                                "page": target, "fields": form["fields"]}
    return found


def open_more_forms(world) -> None:
    """States whose forms the matrix's objects do not show: the world's unrequested role asks for a contact
    person (its request page then has fields); a manual entry awaits the agency's check (its registrant
    may still edit it); one of partner A's granted roles is the staff's to revoke."""
    from sqlalchemy import delete, select, update

    from tradeportal.partners.models import Partner, PartnerStatus
    from tradeportal.roles.models import GrantStatus, Role, RoleRequest

    db = world.db
    db.session.execute(update(Role).where(Role.id == world.ids["role"]).values(needs_contact=True))
    db.session.execute(delete(Partner).where(Partner.registration_key == "security-manual"))
    manual = Partner(kind="legal_entity", status=PartnerStatus.AWAITING_CHECK, source="manual",
                     identifier="CHE-400.000.004", registration_key="security-manual", name="Saane Manuell GmbH",
                     name_search="saane manuell gmbh", legal_form="GmbH", address_line1="Saaneweg 4", postcode="1700",
                     town="Fribourg", country="CH", locale="en", registered_by_id=world.ids["user_no_partner"])
    db.session.add(manual)
    db.session.commit()
    world.ids["manual_partner"] = manual.id
    world.ids["granted_role_request"] = db.session.execute(
        select(RoleRequest.id).where(RoleRequest.partner_id == world.ids["partner_a"],
                                     RoleRequest.status == GrantStatus.ACTIVE).order_by(RoleRequest.id).limit(1)
    ).scalar_one()


# Forms whose success closes them (the role is revoked: the next example would only be sent back):
# the world is put back after each example that wrote, so that every example meets the open form.
ONE_SHOT = {"staff.role_revoke"}

# Pages of forms that only a state made by open_more_forms shows: (endpoint, URL from the world, actor).
MORE_PAGES = (
    ("partners.edit_registration", lambda ids: f"/partners/{ids['manual_partner']}/registration/edit", "no_partner"),
    ("staff.role_revoke", lambda ids: f"/staff/role-requests/{ids['granted_role_request']}/revoke", "staff"),
)


def cheap_passwords(world) -> None:
    """The actors' password hashes made with the cheapest argon2 parameters: the forms that ask for the
    password again verify it on every example (a hash's own parameters decide what verifying costs)."""
    from argon2 import PasswordHasher
    from sqlalchemy import update

    from tests.conftest import TEST_PASSWORD
    from tradeportal.account.models import User

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(TEST_PASSWORD)
    world.db.session.execute(update(User).values(password_hash=cheap))
    world.db.session.commit()


class _Restorer:
    """Puts the world back as it was after discovery (row by row, or built again)."""

    def __init__(self, world):
        cheap_passwords(world)
        open_more_forms(world)
        self.world, self.baseline, self.count, self.rebuilds = world, undo.capture(), 0, 0

    def restore(self, actor: str) -> None:
        world = self.world
        world.db.session.rollback()
        try:
            undo.undo(self.baseline, {t.name for t in ext.db.metadata.sorted_tables})
        except Exception:  # noqa: BLE001 - a constraint the undo could not satisfy: build it again
            world.rebuild()
            cheap_passwords(world)
            open_more_forms(world)
            self.baseline = undo.capture()
            self.rebuilds += 1
        world.db.session.expire_all()
        world.forget_client(actor)
        self.count += 1


def _ended_session(response) -> bool:
    return response.status_code in (301, 302, 303, 307) and urlsplit(response.location or "").path == "/sign-in"


def _fuzz(world, form: dict, examples: int, restorer: _Restorer, watch: WriteWatch) -> dict:
    actor, action = form["actor"], form["action"]
    kinds = {name: (tag, kind) for name, (tag, kind, _o) in form["fields"].items() if kind not in fuzzing.NOT_SENT}
    strategies = {name: fuzzing.strategy_for(tag, kind, options)
                  for name, (tag, kind, options) in form["fields"].items()
                  if kind not in fuzzing.NOT_SENT or kind == "file" or (kind == "submit" and options)}
    failures, statuses, count, restored = [], {}, 0, 0
    writes_before, started = watch.count, time.monotonic()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries(strategies))
    def run(values):
        nonlocal count, restored
        writes = watch.count
        client = world.client(actor)
        response = client.post(action, data={**fuzzing.as_files(values, form["fields"]),
                                             "csrf_token": world.csrf_token(actor)})
        count += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        found = fuzzing.problems(response, values, kinds)
        if found:
            failures.append(f"POST {action} as {actor} {sorted(values.items())!r:.400}: {found}")
        if _ended_session(response) or response.status_code == 400 and "CSRF" in response.get_data(as_text=True):
            restorer.restore(actor)  # signed out (or the session changed): back to the world and a new client
            restored += 1
        elif form["endpoint"] in ONE_SHOT and watch.count != writes:
            restorer.restore(actor)

    run()
    if watch.count != writes_before:
        restorer.restore(actor)
    return {"examples": count, "statuses": dict(sorted(statuses.items())), "failures": failures,
            "sessions_restored": restored, "seconds": round(time.monotonic() - started, 1)}


def _run(app, world, examples: int) -> None:
    started, cpu = time.monotonic(), time.process_time()
    restorer = _Restorer(world)
    forms = discover(app, world)
    discovered = time.monotonic()
    watch = WriteWatch(ext.db.engine)
    results = {}
    try:
        for pattern, form in sorted(forms.items()):
            results[pattern] = _fuzz(world, form, examples, restorer, watch)
    finally:
        watch.close()
    failures = [f for r in results.values() for f in r["failures"]]
    posted = {r.rule.rule for r in routes(app) if r.method == "POST" and not r.rule.rule.startswith("/api/v1/")}
    not_reached = sorted(posted - set(forms) - BEFORE_SIGN_IN)
    listed = [f"POST {pattern} ({forms[pattern]['endpoint']}, as {forms[pattern]['actor']}, "
              f"{len(forms[pattern]['fields'])} fields): {r['examples']} examples, statuses "
              + ", ".join(f"{s}×{n}" for s, n in r["statuses"].items())
              + (f", {len(r['failures'])} failures" if r["failures"] else "")
              + (f", signed out {r['sessions_restored']}× (world put back)" if r["sessions_restored"] else "")
              + f", {r['seconds']} s"
              for pattern, r in sorted(results.items())]
    fuzzing.record("signed_in", forms=len(results), examples_per_form=examples,
                   examples_run=sum(r["examples"] for r in results.values()), failures=len(failures),
                   signed_in_forms_fuzzed=listed, signed_in_world_restored=restorer.count,
                   post_routes_not_fuzzed_as_forms=not_reached,
                   signed_in_world_rebuilt=restorer.rebuilds, signed_in_seconds=round(time.monotonic() - started, 1),
                   signed_in_cpu_seconds=round(time.process_time() - cpu, 1),
                   signed_in_discovery_seconds=round(discovered - started, 1))
    assert len(forms) >= MIN_FORMS, f"only {len(forms)} signed-in forms found, {MIN_FORMS} expected:\n" \
                                    + "\n".join(sorted(forms))
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


def test_signed_in_forms_survive_hostile_input(app, world):
    _run(app, world, fuzzing.examples(15))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_signed_in_forms_with_200_examples(app, world):
    _run(app, world, max(200, fuzzing.examples(200)))
