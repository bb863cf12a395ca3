"""Part 3 of the battery (fuzzing), first slice: the forms before sign-in and half-way through it.

Each form's fields are read from its own page (every `input`, `textarea` and `select` of the
form whose action is the route), then hypothesis fills them with hostile text: Unicode,
zero-width and right-to-left characters, NUL and other control characters, very long
values, HTML, SQL and template payloads. Every answer must be below 500; a payload's markup
never comes back unescaped; on a 422 the text typed in a plain field is kept (shown again,
escaped) so the person can correct it.

Examples per form: TRADEPORTAL_FUZZ_EXAMPLES (default 15 on every run; the `slow` variant
runs 200, as the issue asks for CI). The forms of signed-in pages are fuzzed by
test_fuzz_signed_in.py, the API bodies by test_fuzz_api.py; the values and checks are shared
(fuzzing.py).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from . import fuzzing
from .fuzzing import MARK, PAYLOADS, VALUES  # noqa: F401 - shared with the other fuzzing modules
from .helpers_b import new_user

_examples = fuzzing.examples
fields_of = fuzzing.fields_of
_problems = fuzzing.problems


# (route, who fills it in): "anonymous", or a pending sign-in step.
FORMS = [("/sign-in", "anonymous"), ("/forgot-password", "anonymous"), ("/sign-up", "anonymous"),
         ("/feedback", "anonymous"), ("/sign-in/code", "second_factor"), ("/sign-in/set-up", "enrol"),
         ("/reset-password", "reset")]


def _open_reset_link(client, user) -> None:
    """A fresh reset link opened in `client` (a valid example uses the link up: the next one needs its own)."""
    from tradeportal.auth import tokens
    from tradeportal.extensions import db

    token = tokens.issue(user, tokens.RESET_PASSWORD)
    db.session.commit()
    assert client.get(f"/reset-password/{token}").status_code == 302


def _client(app, db, who):
    from tests.conftest import TEST_PASSWORD

    client = app.test_client()
    if who == "anonymous":
        return client, None
    if who == "reset":  # a person who followed the link of a reset e-mail
        user = new_user("fuzz")
        db.session.commit()
        _open_reset_link(client, user)
        return client, user
    fields = {"totp_secret": None, "totp_enrolled_at": None} if who == "enrol" else {}
    user = new_user("fuzz", **fields)
    db.session.commit()
    assert client.post_form("/sign-in", {"email": user.email, "password": TEST_PASSWORD},
                            token_from="/sign-in").status_code == 302
    return client, user


def _fuzz(app, db, route, who, examples) -> dict:
    client, user = _client(app, db, who)
    page = client.get(route + "?lang=en")
    assert page.status_code == 200, (route, page.status_code)
    kinds = fields_of(page.get_data(as_text=True), route)
    assert kinds, f"no field found in the form of {route}"
    token = client.csrf_token(route)
    failures, statuses, count = [], {}, 0

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries({name: VALUES for name in kinds}))
    def run(values):
        nonlocal count
        if user is not None:  # ten wrong codes would lock the account and end the fuzzing of this form
            db.session.execute(update(type(user)).where(type(user).id == user.id).values(failed_attempts=0))
            db.session.commit()
        if who == "reset":
            _open_reset_link(client, user)
        response = client.post(route + "?lang=en", data={**values, "csrf_token": token})
        count += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        problems = _problems(response, values, kinds)
        if problems:
            failures.append(f"{route} {sorted(values.items())!r:.300}: {problems}")

    run()
    return {"fields": len(kinds), "examples": count, "statuses": dict(sorted(statuses.items())),
            "failures": len(failures), "first_failures": failures[:3]}


def _run(app, db, examples) -> None:
    results = {}
    for route, who in FORMS:
        results[route] = _fuzz(app, db, route, who, examples)
    fuzzing.record("before_sign_in", forms=len(results), examples_per_form=examples,
                   examples_run=sum(r["examples"] for r in results.values()),
                   failures=sum(r["failures"] for r in results.values()),
                   **{route.strip("/").replace("/", "_").replace("-", "_"): {k: v for k, v in r.items()
                                                                            if k != "first_failures"}
                      for route, r in results.items()})
    problems = [f for r in results.values() for f in r["first_failures"]]
    assert not problems, "\n".join(problems)


def test_forms_before_sign_in_survive_hostile_input(app, db):
    _run(app, db, _examples(15))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_forms_before_sign_in_with_200_examples(app, db):
    _run(app, db, max(200, _examples(200)))
