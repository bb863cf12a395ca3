"""Back office: publishing the terms of use in three languages."""
from __future__ import annotations

import pytest

from tradeportal.access import StaffPermission
from tradeportal.audit import AuditEvent
from tradeportal.auth.models import TermsAcceptance
from tradeportal.public.models import TermsVersion

TEXT = {"body_fr": "Conditions.\n\nDeuxième paragraphe.", "body_en": "Terms.\n\nSecond paragraph.", "body_de": "Bedingungen."}


@pytest.mark.parametrize("method, url", [("get", "/staff/terms"), ("get", "/staff/terms/new"), ("post", "/staff/terms/new"),
                                         ("get", "/staff/terms/1")])
def test_denied_to_non_staff_and_staff_without_content(client, make_user, login_as, method, url):
    login_as(make_user())
    call = (lambda: client.get(url)) if method == "get" else (lambda: client.post_form(url, dict(TEXT, action="publish")))
    assert call().status_code == 404
    login_as(make_user(staff_permissions=[StaffPermission.SUPPORT]))
    assert call().status_code == 403


@pytest.fixture
def editor(client, make_user, login_as):
    staff = make_user(staff_permissions=[StaffPermission.CONTENT])
    login_as(staff)
    return staff


def test_preview_then_publish_increments_the_version(client, editor, db):
    preview = client.post_form("/staff/terms/new?lang=en", dict(TEXT, action="preview"), token_from="/staff/terms/new")
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<p>Deuxième paragraphe.</p>" in body and 'lang="de"' in body
    assert db.session.query(TermsVersion).count() == 0

    for expected in (1, 2):
        response = client.post_form("/staff/terms/new", dict(TEXT, action="publish"), token_from="/staff/terms/new")
        assert response.status_code == 302 and response.headers["Location"] == "/staff/terms"
        db.session.expire_all()
        newest = db.session.query(TermsVersion).order_by(TermsVersion.version.desc()).first()
        assert newest.version == expected and newest.created_by_id == editor.id and newest.published_at is not None
        # The editor accepts it too (whenever the terms gate asks), so the test does not depend on when.
        db.session.add(TermsAcceptance(user_id=editor.id, terms_version_id=newest.id))
        db.session.commit()
    assert newest.body_en == TEXT["body_en"]
    events = db.session.query(AuditEvent).filter_by(action="terms.published").all()
    assert [e.details["version"] for e in events] == [1, 2] and all(e.actor_user_id == editor.id for e in events)
    listing = client.get("/staff/terms?lang=en").get_data(as_text=True)
    assert "Version 2" in listing and "Version 1" in listing
    assert "Second paragraph." in client.get("/staff/terms/2?lang=en").get_data(as_text=True)
    assert client.get("/staff/terms/9").status_code == 404
    # The public page shows the newest version; the form starts from it.
    assert "Version 2" in client.get("/terms-of-use?lang=en").get_data(as_text=True)
    assert "Bedingungen." in client.get("/staff/terms/new").get_data(as_text=True)


@pytest.mark.parametrize("missing, message", [("body_fr", "Enter the terms of use in French"),
                                              ("body_en", "Enter the terms of use in English"),
                                              ("body_de", "Enter the terms of use in German")])
def test_all_three_languages_are_required(client, editor, db, missing, message):
    data = dict(TEXT, action="publish", **{missing: " "})
    response = client.post_form("/staff/terms/new?lang=en", data, token_from="/staff/terms/new")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body and f'href="#{missing}"' in body
    assert "Terms." in body or missing == "body_en"  # the other texts are kept
    assert db.session.query(TermsVersion).count() == 0
