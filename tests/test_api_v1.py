"""The JSON API: tokens, notifications, documents, tenancy, test data, problems, rate limits, webhooks."""
from __future__ import annotations

import io
import json

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from tests.test_api_support import ALL_SCOPES, api_team, bearer, issue_keys, team  # noqa: F401 - fixture
from tests.test_documents_support import PDF, add_category
from tradeportal.access import Right
from tradeportal.api.models import ApiNotification, ApiToken
from tradeportal.db import utcnow


def _notify(db, partner, users=None, subject="Your role was approved"):
    from tradeportal.notifications.services import create_notifications

    create_notifications(users, "role_decision", subject, "Details", partner_id=partner.id, link=f"/partners/{partner.id}")
    db.session.commit()


def _token(client, keys, **data):
    return client.post("/api/v1/token", data=data, auth=(keys["client_id"], keys["client_secret"]))


def test_client_credentials_by_basic_or_form_and_oauth_errors(client, db, team):
    keys = issue_keys(db, team)
    ok = _token(client, keys, grant_type="client_credentials")
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    body = ok.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"].startswith("tpat_")
    form = client.post("/api/v1/token", data={"grant_type": "client_credentials", "client_id": keys["client_id"],
                                              "client_secret": keys["client_secret"]})
    assert form.status_code == 200
    wrong = client.post("/api/v1/token", data={"grant_type": "client_credentials"}, auth=(keys["client_id"], "tpcs_x"))
    assert wrong.status_code == 401 and wrong.get_json() == {"error": "invalid_client"}
    assert "WWW-Authenticate" in wrong.headers
    assert client.post("/api/v1/token", data={"grant_type": "password"}).get_json() == {"error": "unsupported_grant_type"}
    assert client.post("/api/v1/token", data={}).get_json() == {"error": "invalid_request"}
    refused = _token(client, keys, grant_type="refresh_token", refresh_token="tprt_unknown")
    assert refused.status_code == 400 and refused.get_json() == {"error": "invalid_grant"}


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_chain(client, db, team):
    keys = issue_keys(db, team)
    first = _token(client, keys, grant_type="refresh_token", refresh_token=keys["refresh"]).get_json()
    assert first["refresh_token"] != keys["refresh"]
    second = _token(client, keys, grant_type="refresh_token", refresh_token=first["refresh_token"]).get_json()
    assert client.get("/api/v1/partner", headers={"Authorization": f"Bearer {second['access_token']}"}).status_code == 200
    # The first refresh token comes back: refused, and every token of the chain dies.
    reused = _token(client, keys, grant_type="refresh_token", refresh_token=keys["refresh"])
    assert reused.status_code == 400 and reused.get_json() == {"error": "invalid_grant"}
    assert client.get("/api/v1/partner", headers={"Authorization": f"Bearer {second['access_token']}"}).status_code == 401
    assert _token(client, keys, grant_type="refresh_token", refresh_token=second["refresh_token"]).status_code == 400
    # Another application cannot use this application's refresh token.
    other = issue_keys(db, team, name="Other")
    assert _token(client, other, grant_type="refresh_token", refresh_token=keys["refresh"]).status_code == 400


def test_expired_tokens_are_refused(client, db, team):
    keys = issue_keys(db, team)
    db.session.execute(ApiToken.__table__.update().values(expires_at=utcnow()))
    db.session.commit()
    response = client.get("/api/v1/partner", headers=bearer(keys))
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert _token(client, keys, grant_type="refresh_token", refresh_token=keys["refresh"]).status_code == 400


def test_partner_profile_roles_and_scopes(client, db, team):
    keys = issue_keys(db, team, scopes=["notifications:read"])
    denied = client.get("/api/v1/partner", headers=bearer(keys))
    assert denied.status_code == 403 and denied.get_json()["scope"] == "partner:read"
    keys = issue_keys(db, team, name="Full")
    body = client.get("/api/v1/partner", headers=bearer(keys)).get_json()
    assert body["name"] == "Rhein Handel AG" and [r["code"] for r in body["roles"]] == ["goods_traffic"]
    assert client.get("/api/v1/partner").status_code == 401


def test_problems_speak_the_language_of_accept_language(app, client, db, team):
    for lang in ("fr", "en", "de"):
        response = client.get("/api/v1/partner", headers={"Authorization": "Bearer tpat_nope", "Accept-Language": lang})
        with app.test_request_context(), force_locale(lang):
            from tradeportal.api.problems import PROBLEMS

            assert response.get_json()["title"] == str(PROBLEMS["invalid_token"][1])
        assert response.mimetype == "application/problem+json"
    missing = client.get("/api/v1/nothing-here", headers={"Accept-Language": "de"})
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_the_service_must_stay_open(client, db, team):
    from tradeportal.roles.models import RoleRequest

    keys = issue_keys(db, team)
    db.session.execute(RoleRequest.__table__.update().values(status="revoked"))
    db.session.commit()
    response = client.get("/api/v1/partner", headers=bearer(keys))
    assert response.status_code == 403 and response.get_json()["type"].endswith("service_closed")
    assert _token(client, keys, grant_type="client_credentials").get_json() == {"error": "unauthorized_client"}


def test_notifications_feed_cursor_and_mark_read(client, db, team, count_queries):
    keys = issue_keys(db, team)
    _notify(db, team.partner, [team.admin, team.deputy], "First")  # two members, one API notification
    rows = db.session.execute(select(ApiNotification)).scalars().all()
    assert [r.subject for r in rows if r.kind == "role_decision"] == ["First"]
    for n in range(4):
        _notify(db, team.partner, [team.admin], f"N{n}")
    page = client.get("/api/v1/notifications?limit=2", headers=bearer(keys)).get_json()
    subjects = [i["subject"] for i in page["items"]]
    assert page["has_more"] is True and len(subjects) == 2
    rest = client.get(f"/api/v1/notifications?since={page['next_cursor']}&limit=100", headers=bearer(keys)).get_json()
    assert rest["has_more"] is False
    assert subjects + [i["subject"] for i in rest["items"]] == ["First", "N0", "N1", "N2", "N3"]
    again = client.get(f"/api/v1/notifications?since={rest['next_cursor']}", headers=bearer(keys)).get_json()
    assert again == {"items": [], "next_cursor": rest["next_cursor"], "has_more": False}
    target = rest["items"][-1]["id"]
    read = client.post(f"/api/v1/notifications/{target}/read", headers=bearer(keys))
    assert read.status_code == 200 and read.get_json()["read_at"]
    unread = client.get("/api/v1/notifications?unread=true&limit=100", headers=bearer(keys)).get_json()
    assert target not in [i["id"] for i in unread["items"]]
    bad = client.get("/api/v1/notifications?limit=0&since=x", headers=bearer(keys))
    assert bad.status_code == 400 and {e["field"] for e in bad.get_json()["errors"]} == {"limit", "since"}
    # The same number of queries for 1 or 50 notifications.
    url = "/api/v1/notifications?limit=100"
    with count_queries() as small:
        client.get("/api/v1/notifications?limit=1", headers=bearer(keys))
    for n in range(50):
        _notify(db, team.partner, [team.admin], f"M{n}")
    with count_queries() as large:
        assert len(client.get(url, headers=bearer(keys)).get_json()["items"]) == 55
    assert large.count == small.count <= 6


def test_a_token_of_partner_a_never_reads_partner_b(client, db, make_user, team):
    other = api_team(db, make_user, "Jura Textil SA")
    keys_a = issue_keys(db, team)
    keys_b = issue_keys(db, other)
    _notify(db, other.partner, [other.admin], "For B only")
    b_id = db.session.execute(select(ApiNotification.id).where(ApiNotification.partner_id == other.partner.id)).scalar_one()
    assert client.get(f"/api/v1/notifications/{b_id}", headers=bearer(keys_a)).status_code == 404
    assert client.post(f"/api/v1/notifications/{b_id}/read", headers=bearer(keys_a)).status_code == 404
    assert client.get("/api/v1/notifications", headers=bearer(keys_a)).get_json()["items"] == []
    assert client.get(f"/api/v1/notifications/{b_id}", headers=bearer(keys_b)).status_code == 200
    assert client.get("/api/v1/partner", headers=bearer(keys_a)).get_json()["name"] == "Rhein Handel AG"
    category = add_category(db)
    sent = client.post("/api/v1/documents", headers=bearer(keys_b), data={
        "category": str(category.id), "case_number": "B1", "file": (io.BytesIO(PDF), "b.pdf")})
    assert sent.status_code == 201, sent.get_json()
    doc_id = sent.get_json()["items"][0]["id"]
    assert client.get(f"/api/v1/documents/{doc_id}", headers=bearer(keys_a)).status_code == 404
    assert client.get(f"/api/v1/documents/{doc_id}/content", headers=bearer(keys_a)).status_code == 404
    assert client.get("/api/v1/documents", headers=bearer(keys_a)).get_json()["items"] == []


def test_test_keys_see_only_test_data(client, db, team):
    live = issue_keys(db, team)
    test = issue_keys(db, team, environment="test", name="Sandbox")
    _notify(db, team.partner, [team.admin], "Real")
    assert client.post("/api/v1/test/notifications", headers=bearer(live)).status_code == 403
    made = client.post("/api/v1/test/notifications", headers=bearer(test))
    assert made.status_code == 201 and made.get_json()["test"] is True
    assert [i["subject"] for i in client.get("/api/v1/notifications", headers=bearer(test)).get_json()["items"]] == ["Test notification"]
    assert [i["subject"] for i in client.get("/api/v1/notifications", headers=bearer(live)).get_json()["items"]] == ["Real"]
    assert client.get(f"/api/v1/notifications/{made.get_json()['id']}", headers=bearer(live)).status_code == 404
    category = add_category(db)
    sent = client.post("/api/v1/documents", headers=bearer(test), data={
        "category": str(category.id), "case_number": "T1", "file": (io.BytesIO(PDF), "t.pdf")})
    assert sent.status_code == 201 and sent.get_json()["items"][0]["test"] is True
    assert client.get("/api/v1/documents", headers=bearer(live)).get_json()["items"] == []
    assert len(client.get("/api/v1/documents", headers=bearer(test)).get_json()["items"]) == 1
    assert client.get("/api/v1/partner", headers=bearer(test)).get_json()["application"]["environment"] == "test"


def test_documents_upload_list_download_and_refusals(client, db, team, count_queries):
    keys = issue_keys(db, team)
    category = add_category(db)
    cats = client.get("/api/v1/document-categories", headers=bearer(keys, **{"Accept-Language": "en"})).get_json()
    assert cats["items"] == [{"id": category.id, "name": "Product documentation"}]
    refused = client.post("/api/v1/documents", headers=bearer(keys), data={
        "category": str(category.id), "case_number": "A1", "file": (io.BytesIO(b"MZ not a pdf"), "x.pdf")})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["code"] == "content"
    none = client.post("/api/v1/documents", headers=bearer(keys), data={"category": "x", "case_number": "??"})
    assert none.status_code == 422 and {e["code"] for e in none.get_json()["errors"]} >= {"category", "case_number"}
    sent = client.post("/api/v1/documents", headers=bearer(keys), data={
        "category": str(category.id), "case_number": "A1", "file": [(io.BytesIO(PDF), "a.pdf"), (io.BytesIO(PDF), "b.pdf")]})
    assert sent.status_code == 201
    ids = [d["id"] for d in sent.get_json()["items"]]
    listed = client.get("/api/v1/documents?limit=1", headers=bearer(keys)).get_json()
    assert listed["has_more"] is True and len(listed["items"]) == 1
    rest = client.get(f"/api/v1/documents?before={listed['next_cursor']}", headers=bearer(keys)).get_json()
    assert sorted([listed["items"][0]["id"]] + [d["id"] for d in rest["items"]]) == sorted(ids)
    content = client.get(f"/api/v1/documents/{ids[0]}/content", headers=bearer(keys))
    assert content.status_code == 200 and content.data == PDF
    with count_queries() as small:
        client.get("/api/v1/documents", headers=bearer(keys))
    for n in range(10):
        client.post("/api/v1/documents", headers=bearer(keys), data={
            "category": str(category.id), "case_number": f"C{n}", "file": (io.BytesIO(PDF), f"c{n}.pdf")})
    with count_queries() as large:
        assert len(client.get("/api/v1/documents", headers=bearer(keys)).get_json()["items"]) == 12
    assert large.count == small.count


def test_rate_limit_per_application_with_headers(app, client, db, team):
    keys = issue_keys(db, team)
    other = issue_keys(db, team, name="Other")
    saved = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "3/minute"
    try:
        answers = [client.get("/api/v1/partner", headers=bearer(keys)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["RateLimit-Policy"] == '"application";q=3;w=60'
        assert answers[0].headers["RateLimit"].startswith('"application";r=2;t=')
        assert answers[3].headers["RateLimit"].startswith('"application";r=0;t=')
        assert int(answers[3].headers["Retry-After"]) >= 1 and answers[3].get_json()["status"] == 429
        assert client.get("/api/v1/partner", headers=bearer(other)).status_code == 200  # per application
    finally:
        app.config["API_RATE_LIMIT"] = saved


def test_the_openapi_document_and_the_reference_page(client, db):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0" and "/api/v1/token" in doc["paths"] and "/api/v1/documents" in doc["paths"]
    for lang in ("fr", "en", "de"):
        page = client.get(f"/api/reference?lang={lang}")
        assert page.status_code == 200 and "curl -s -u" in page.get_data(as_text=True)


def test_the_json_api_needs_no_csrf_token_but_the_pages_do(client, db, team):
    keys = issue_keys(db, team)
    assert client.post("/api/v1/test/notifications", headers=bearer(keys)).status_code == 403  # test_only, not CSRF
    assert client.post(f"/partners/{team.partner.id}/api/new", data={"name": "x"}).status_code in (400, 302)


def test_ids_and_cursors_beyond_the_integer_columns_are_not_errors(client, db, team, login_as):
    keys = issue_keys(db, team)
    huge = str(2**40)
    assert client.get(f"/api/v1/notifications?since={huge}", headers=bearer(keys)).status_code == 200
    assert client.get(f"/api/v1/notifications/{huge}", headers=bearer(keys)).status_code == 404
    assert client.get(f"/api/v1/documents?before={huge}", headers=bearer(keys)).status_code == 200
    assert client.get(f"/api/v1/documents/{huge}/content", headers=bearer(keys)).status_code == 404
    sent = client.post("/api/v1/documents", headers=bearer(keys), data={"category": huge, "case_number": "A1"})
    assert sent.status_code == 422
    login_as(team.admin)
    assert client.get(f"/partners/{team.partner.id}/api/{huge}").status_code == 404


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379/15"])
def test_token_endpoint_and_application_limits_with_the_configured_storage(app, db, team, storage, tmp_path):
    import socket
    import uuid

    from tradeportal import create_app

    if storage.startswith("redis"):
        try:
            socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        except OSError:
            pytest.skip("Redis is not running on 127.0.0.1:6379")
    keys = issue_keys(db, team)
    limited = create_app({
        "ENVIRONMENT": "testing", "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path),
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": storage, "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "API_TOKEN_RATE_LIMIT": "3/minute", "API_RATE_LIMIT": "2/minute",
    })
    api = limited.test_client()
    statuses = [api.post("/api/v1/token", data={"grant_type": "client_credentials"}).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    calls = [api.get("/api/v1/partner", headers=bearer(keys)) for _ in range(3)]
    assert [c.status_code for c in calls] == [200, 200, 429]
    assert calls[2].mimetype == "application/problem+json" and calls[2].headers["Retry-After"]


def test_an_agency_notice_reaches_the_feed_once_and_people_only_kinds_never(db, team):
    from tradeportal.notifications.models import AgencyNotice
    from tradeportal.notifications.services import create_notifications

    notice = AgencyNotice(subject_fr="s", subject_en="s", subject_de="s", body_fr="b", body_en="b", body_de="b",
                          audience="partner", audience_value=str(team.partner.id))
    db.session.add(notice)
    db.session.commit()
    for user in (team.admin, team.deputy):  # two passes of the worker
        create_notifications([user], "agency_notice", "Closed on Saturday", "", partner_id=team.partner.id,
                             notice_id=notice.id)
        db.session.commit()
    create_notifications([team.admin], "security", "New sign-in", "", partner_id=team.partner.id)
    db.session.commit()
    rows = db.session.execute(select(ApiNotification)).scalars().all()
    assert [(r.kind, r.subject) for r in rows] == [("agency_notice", "Closed on Saturday")]


def test_a_query_parameter_the_contract_does_not_name_is_refused(client, db, team):
    keys = issue_keys(db, team, name="Strict")
    ok = client.get("/api/v1/notifications?since=0&limit=5&unread=true", headers=bearer(keys))
    assert ok.status_code == 200
    refused = client.get("/api/v1/documents?limit=5&since=0&colour=blue", headers=bearer(keys))
    assert refused.status_code == 400
    body = refused.get_json()
    assert sorted(e["field"] for e in body["errors"]) == ["colour", "since"]  # `since` belongs to the notifications
    assert client.get("/api/v1/partner?x=1", headers=bearer(keys)).status_code == 400
    assert client.get("/api/v1/partner?x=1").status_code == 401  # the token is checked first
    assert client.get("/api/v1/partner?lang=de", headers=bearer(keys)).status_code == 200
