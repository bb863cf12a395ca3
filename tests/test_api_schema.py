"""schemathesis against /api/v1/openapi.json, in-process (WSGI): no server error, no answer that breaks the schema.

Bounded: at most 20 examples per operation, no deadline, no database shrinking.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.test_api_support import api_team, issue_keys

pytest.importorskip("schemathesis")

TOKEN: dict = {}  # the access token of this test's application (the schema object is copied per operation)


@pytest.fixture
def api_schema(app, db, make_user):
    team = api_team(db, make_user)
    from tests.test_documents_support import add_category

    add_category(db)
    keys = issue_keys(db, team)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    TOKEN["headers"] = {"Authorization": f"Bearer {keys['access']}"}
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_documented_contract(case, app):
    headers = dict(TOKEN["headers"])
    if case.operation.path == "/api/v1/token":
        headers = {}
    excluded = []
    if case.operation.method.upper() == "POST" and case.operation.path == "/api/v1/documents":
        # Files that match the schema may still be refused by the content checks (422, documented).
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.call_and_validate(headers=headers, excluded_checks=excluded)
