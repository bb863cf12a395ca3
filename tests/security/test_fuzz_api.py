"""Part 3 of the battery (fuzzing), third slice: the bodies of the API's writing calls.

The operations are read from the OpenAPI document (/api/v1/openapi.json): every POST, PUT and
PATCH under /api/v1. For each, hypothesis builds bodies in the content type the operation
declares (JSON, form fields, multipart with files) whose fields carry the hostile values of
fuzzing.py, values of the wrong type, fields left out and unknown fields added; or, instead,
a body the operation does not expect: hostile JSON (deeply nested, huge strings, every JSON
type) or bytes under a random content type. Path parameters are a real id of the caller or a
hostile number. Every call carries a valid bearer token of an application of partner A
(the token endpoint gets client credentials instead: the real client id or a hostile one,
in the body or in a Basic header).

Checks of every answer: below 500; an error is a JSON problem (RFC 9457; the OAuth error at
the token endpoint) that parses and never echoes a payload's markup unescaped; an answer 4xx
leaves every table as it was (nothing half-written). The last check watches the engine: an
INSERT, UPDATE or DELETE followed by a COMMIT during a 4xx call is a failure (the bookkeeping
column `api_application.last_used_at` aside, see conftest.BOOKKEEPING_COLUMNS), and an operation
refused every time leaves every table as it was (`snapshot()` before and after its examples).

Examples per operation: TRADEPORTAL_FUZZ_EXAMPLES (default 15); the `slow` variant runs 200.
"""
from __future__ import annotations

import io
import json
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeportal import extensions as ext

from . import fuzzing
from .conftest import diff, snapshot
from .world_areas import api_token_for

pytestmark = pytest.mark.usefixtures("no_rate_limits")

WRITING = ("post", "put", "patch")
# Every writing operation of the API on the day this was written; fewer means one is no longer fuzzed.
MIN_OPERATIONS = 4

HUGE = st.sampled_from(["x" * 200_000, "<" * 50_000, "\u202e" * 20_000, fuzzing.PAYLOADS[0] * 2_000])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), fuzzing.VALUES)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                              st.dictionaries(fuzzing.VALUES, inner, max_size=4)),
                           max_leaves=12)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth if depth % 2 else '{"a":' * depth + "1" + "}" * depth


HOSTILE_JSON = st.one_of(
    JSON_VALUES.map(json.dumps),
    HUGE.map(lambda s: json.dumps({"value": s})),
    st.sampled_from([200, 1_000, 10_000, 100_000]).map(_deep),
    st.sampled_from(['{"a": ', "[1, 2", "\x00", "{\"a\": NaN}", "\ufeff{}", '{"a": 1e999999}', "null", '""']),
)
MISSING = object()  # a field left out


def _value_for(schema: dict, real=MISSING) -> st.SearchStrategy:
    """A value for one field: a valid one (half of the time, so that the checks behind the first are
    reached too), hostile text, a value of the wrong type or, now and then, no field at all."""
    valid = []
    if real is not MISSING:
        valid.append(st.just(real))
    if "enum" in schema:
        valid.append(st.sampled_from(schema["enum"]))
    if schema.get("type") == "integer":
        valid.append(st.integers(min_value=-1, max_value=2**40).map(str))
    hostile = st.one_of(fuzzing.VALUES, fuzzing.VALUES, HUGE, st.integers(min_value=-(2**70), max_value=2**70).map(str),
                        st.just(MISSING))
    return st.one_of(st.one_of(*valid), hostile) if valid else hostile


def _fields(schema: dict, real: dict) -> st.SearchStrategy:
    """Form or JSON fields of an object schema (files aside: _files()), plus unknown ones."""
    parts = {name: _value_for(prop, real.get(name, MISSING)) for name, prop in schema.get("properties", {}).items()
             if not (prop.get("type") == "array" and prop.get("items", {}).get("format") == "binary")}
    unknown = st.dictionaries(fuzzing.VALUES.filter(lambda k: k not in parts), fuzzing.VALUES, max_size=2)
    return st.tuples(st.fixed_dictionaries(parts), unknown).map(
        lambda both: {**both[1], **{k: v for k, v in both[0].items() if v is not MISSING}})


def _files(schema: dict) -> st.SearchStrategy:
    names = [n for n, p in schema.get("properties", {}).items()
             if p.get("type") == "array" and p.get("items", {}).get("format") == "binary"]
    if not names:
        return st.just({})
    return st.fixed_dictionaries({}, optional={n: fuzzing.FILES for n in names})


class Api:
    """The operations of the OpenAPI document, the caller's credentials and real ids."""

    def __init__(self, app, world):
        from tradeportal.api.models import ApiApplication, ApiNotification
        from tradeportal.db import utcnow

        self.app, self.world = app, world
        self.client = app.test_client()
        self.spec = self.client.get("/api/v1/openapi.json").get_json()
        partner_id = world.ids["partner_a"]
        self.token = api_token_for(world, world.db.session.get(type(world.partner_a), partner_id))
        application = world.db.session.query(ApiApplication).filter_by(partner_id=partner_id, environment="test") \
            .order_by(ApiApplication.id.desc()).first()
        notification = ApiNotification(partner_id=partner_id, is_test=True, kind="test", subject="Test",
                                       created_at=utcnow())
        world.db.session.add(notification)
        world.db.session.commit()
        from tradeportal.documents.models import Category

        category = world.db.session.query(Category).order_by(Category.id).first()
        self.real = {"client_id": application.client_id, "notification_id": notification.id,
                     "category": str(category.id), "case_number": "8000000685",
                     "client_secret": "not-the-secret-" + "0" * 20}
        self.operations = [(method.upper(), path, op) for path, ops in sorted(self.spec["paths"].items())
                           for method, op in sorted(ops.items()) if method in WRITING]


def _body(api: Api, method: str, path: str, op: dict) -> st.SearchStrategy:
    """(path, headers, keyword arguments of client.open) for one call."""
    params = re.findall(r"{(\w+)}", path)
    path_values = st.fixed_dictionaries({p: st.one_of(st.just(api.real.get(p, 1)), st.integers(0, 2**64))
                                         for p in params})
    content = (op.get("requestBody") or {}).get("content", {})
    declared = []
    for kind, media in sorted(content.items()):
        schema = media.get("schema", {})
        if kind == "application/json":
            declared.append(_fields(schema, api.real).map(lambda f: {"data": json.dumps(f),
                                                                      "content_type": "application/json"}))
        elif kind == "application/x-www-form-urlencoded":
            declared.append(_fields(schema, api.real).map(lambda f: {"data": f}))
        elif kind == "multipart/form-data":
            declared.append(st.tuples(_fields(schema, api.real), _files(schema)).map(
                lambda both: {"data": both[0], "files": both[1], "content_type": "multipart/form-data"}))
    unexpected = st.one_of(
        HOSTILE_JSON.map(lambda text: {"data": text, "content_type": "application/json"}),
        st.tuples(st.binary(max_size=500), st.sampled_from(["application/xml", "text/plain", "application/json",
                                                              "multipart/form-data; boundary=x", "\x00/\u202e"]))
        .map(lambda both: {"data": both[0], "content_type": both[1]}),
    )
    body = st.one_of(*declared, unexpected) if declared else unexpected
    if path.endswith("/token"):
        basic = st.one_of(st.none(), st.builds(lambda a, b: "Basic " + _b64(f"{a}:{b}"),
                                               st.one_of(st.just(api.real["client_id"]), fuzzing.VALUES),
                                               fuzzing.VALUES),
                          fuzzing.VALUES.map(lambda v: "Basic " + re.sub(r"[\r\n]", " ", v)))  # no line break in a header
        headers = basic.map(lambda h: {"Authorization": h} if h is not None else {})
    else:
        headers = st.just({"Authorization": f"Bearer {api.token}"})
    return st.tuples(path_values, headers, body)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()


def _check(response, path: str) -> list[str]:
    found = []
    if response.status_code >= 500:
        found.append(f"status {response.status_code}")
    text = response.get_data(as_text=True)
    if fuzzing.UNESCAPED.search(text):
        found.append("a payload came back unescaped")
    if response.status_code >= 400:
        kind = response.mimetype or ""
        wanted = "application/json" if path.endswith("/token") else "application/problem+json"
        if kind != wanted:
            found.append(f"a {response.status_code} answered as {kind!r}, not {wanted}")
        else:
            try:
                json.loads(text)
            except ValueError:
                found.append("the JSON error body does not parse")
    return found


class Commits:
    """The write statements of the transactions committed on the engine (bookkeeping aside)."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "TRUNCATE", "MERGE")
    BOOKKEEPING = re.compile(r"^UPDATE api_application SET last_used_at=\S+ WHERE", re.I)

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.event, self.pending, self.committed, self.writes = engine, event, [], [], 0
        self.hooks = [("before_cursor_execute", self._statement), ("commit", self._commit),
                      ("rollback", self._rollback)]
        for name, hook in self.hooks:
            event.listen(engine, name, hook)

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in self.WRITES:
            self.writes += 1
            if not self.BOOKKEEPING.match(" ".join(statement.split())):
                self.pending.append(" ".join(statement.split())[:90])

    def _commit(self, conn):
        self.committed += self.pending
        self.pending = []

    def _rollback(self, conn):
        self.pending = []

    def close(self) -> None:
        for name, hook in self.hooks:
            self.event.remove(self.engine, name, hook)


def _fuzz(api: Api, method: str, path: str, op: dict, examples: int, watch: Commits) -> dict:
    failures, statuses, count, started = [], {}, 0, time.monotonic()
    before = snapshot()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(_body(api, method, path, op))
    def run(call):
        nonlocal count
        values, headers, kwargs = call
        target = path.format(**values)
        kwargs = dict(kwargs)
        files = kwargs.pop("files", {})
        if files:  # fresh file objects for each call (hypothesis may replay an example)
            kwargs["data"] = {**kwargs["data"], **{n: [(io.BytesIO(c), name) for name, c in f]
                                                   for n, f in files.items()}}
        committed = len(watch.committed)
        response = api.client.open(target, method=method, headers=headers, **kwargs)
        count += 1
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        found = _check(response, path)
        if 400 <= response.status_code < 500 and len(watch.committed) != committed:
            found.append(f"a {response.status_code} committed {watch.committed[committed:][:3]}")
        if found:
            failures.append(f"{method} {target} {kwargs.get('content_type', 'form')} "
                            f"{str(kwargs.get('data'))[:300]!r}: {found}")

    run()
    if all(400 <= status < 500 for status in statuses):  # refused every time: every table as it was
        changed = diff(before, snapshot())
        if changed:
            failures.append(f"{method} {path}: only 4xx answers, yet {', '.join(changed)} changed")
    return {"examples": count, "statuses": dict(sorted(statuses.items())), "failures": failures,
            "seconds": round(time.monotonic() - started, 1)}


def _run(app, world, monkeypatch, examples: int) -> None:
    # The per-application limit of the API (its own counter, on whatever the switch of the
    # per-address limits) would answer 429 after 120 calls: out of the way for fuzzing.
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "1000000/minute")
    started, cpu = time.monotonic(), time.process_time()
    api = Api(app, world)
    assert len(api.operations) >= MIN_OPERATIONS, [f"{m} {p}" for m, p, _ in api.operations]
    watch, results = Commits(ext.db.engine), {}
    try:
        for method, path, op in api.operations:
            results[f"{method} {path}"] = _fuzz(api, method, path, op, examples, watch)
    finally:
        watch.close()
    failures = [f for r in results.values() for f in r["failures"]]
    listed = [f"{name} ({', '.join(sorted(((op.get('requestBody') or {}).get('content') or {'no body': 0})))}): "
              f"{r['examples']} examples, statuses " + ", ".join(f"{s}×{n}" for s, n in r["statuses"].items())
              + (f", {len(r['failures'])} failures" if r["failures"] else "") + f", {r['seconds']} s"
              for (name, r), (_m, _p, op) in zip(results.items(), api.operations)]
    fuzzing.record("api", forms=len(results), examples_per_form=examples,
                   examples_run=sum(r["examples"] for r in results.values()), failures=len(failures),
                   api_bodies_fuzzed=listed, api_seconds=round(time.monotonic() - started, 1),
                   api_cpu_seconds=round(time.process_time() - cpu, 1))
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])


def test_api_bodies_survive_hostile_input(app, world, monkeypatch):
    _run(app, world, monkeypatch, fuzzing.examples(15))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_api_bodies_with_200_examples(app, world, monkeypatch):
    _run(app, world, monkeypatch, max(200, fuzzing.examples(200)))
