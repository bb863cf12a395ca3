"""The dashboard's fast path (issue #9) stays fast and says the same.

Its reads are Core statements built once, run on the session's connection, that return column
rows (no entity, no relationship); its links come from prefixes built once per mount point and
its texts are computed once per request in Python. These tests fail when the page falls back to
the slow path (ORM statements, statements built per request) or when the shortcut changes what
people get (links, escaping, the role's name in each language).
"""
from __future__ import annotations

from datetime import timedelta

from flask import url_for
from sqlalchemy.orm import Session

from tests.test_roles_support import add_partner, catalogue, grant, team  # noqa: F401 - fixtures
from tradeportal.db import utcnow
from tradeportal.partners import services as partner_services
from tradeportal.partners.models import AccessRequest
from tradeportal.roles import dashboard
from tradeportal.roles.models import Role


def _orm_statements(monkeypatch) -> list:
    """The statements sent through the ORM session (`Session.execute`) from now on."""
    seen: list = []
    original = Session.execute

    def execute(self, statement, *args, **kwargs):
        seen.append(statement)
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(Session, "execute", execute)
    return seen


def test_the_reads_are_core_statements_built_once(client, db, login_as, monkeypatch, team):
    from tradeportal.notifications.models import Notification

    grant(db, team.partner, team.roles["transport"])
    grant(db, team.partner, team.roles["authorised_consignor"], status="pending")
    add_partner(db, "Gotthard Cargo AG", status="letter_pending", registered_by_id=team.admin.id)
    db.session.add(Notification(user_id=team.admin.id, kind="security", subject="Hello", body=""))
    db.session.commit()
    login_as(team.admin)
    assert client.get("/dashboard").status_code == 200
    built = dict(dashboard._statements), partner_services._WAITING
    assert {"partner_requests", "notifications"} <= set(built[0]) and built[1] is not None
    seen = _orm_statements(monkeypatch)
    body = client.get("/dashboard").get_data(as_text=True)
    assert "Gotthard Cargo AG" in body and "Hello" in body and "Authorised consignor" in body
    # The same statement objects, and through the ORM only the session and the memberships.
    assert dashboard._statements == built[0] and partner_services._WAITING is built[1]
    assert len(seen) <= 2, [str(s).split("\n")[0] for s in seen]


def test_rows_are_columns_and_links_are_flasks_under_any_mount_point(app, db, make_user, team):
    from tradeportal.notifications.models import Notification

    waiting = add_partner(db, "Gotthard Cargo AG", status="letter_pending", registered_by_id=team.admin.id)
    db.session.add(AccessRequest(partner_id=waiting.id, user_id=team.admin.id, reason="x", status="pending",
                                 created_at=utcnow()))
    rows = [Notification(user_id=team.admin.id, kind="security", subject=f"n{i}", body="",
                         created_at=utcnow() - timedelta(minutes=i), read_at=utcnow() if i % 2 else None)
            for i in range(3)]
    db.session.add_all(rows)
    db.session.commit()
    for root in ("", "/portal"):
        with app.test_request_context("/dashboard", base_url=f"http://localhost{root}/"):
            registrations, requests = partner_services.waiting_of(team.admin)
            assert [(p.id, p.name, p.display_status) for p in registrations] == [(waiting.id, waiting.name, "letter_pending")]
            assert [(r.partner_id, r.partner_name, r.partner_status) for r in requests] == [
                (waiting.id, waiting.name, "letter_pending")]
            latest, all_url = dashboard._latest_notifications(team.admin)
            assert all_url == url_for("notifications.index") and dashboard._fixed_url("documents.home") == url_for("documents.home")
            assert dashboard._fixed_url("documents.index") is None  # it needs the partner
            assert [(n.subject, n.url, n.unread) for n in latest] == [
                (r.subject, url_for("notifications.detail", notification_id=r.id), r.read_at is None) for r in rows]
            assert not isinstance(latest[0], Notification)
            for endpoint in ("partners.profile", "partners.members", "partners.redeem", "roles.index", "roles.rights_index"):
                assert dashboard.partner_url(endpoint, team.partner.id) == url_for(endpoint, partner_id=team.partner.id)


def test_the_role_name_falls_back_as_trilingual_does():
    role = Role(name_fr="Rôle", name_en="", name_de="Rolle")
    for language in ("fr", "en", "de", "it"):
        names = (role.name_fr, role.name_en, role.name_de)
        assert dashboard._localized(names, language) == role.localized("name", language)
    assert dashboard._localized(("", "", ""), "en") == ""


def test_names_people_typed_are_escaped_and_only_managers_see_access_requests(client, db, login_as, make_user, team):
    from tradeportal.notifications.models import Notification

    evil = make_user(first_name="<b>Eve</b>", last_name="& Co")
    db.session.add(AccessRequest(partner_id=team.partner.id, user_id=evil.id, reason="x", status="pending",
                                 created_at=utcnow()))
    db.session.add(Notification(user_id=team.admin.id, kind="security", subject="<script>x</script>", body=""))
    add_partner(db, "Cargo <i>&</i> AG", status="letter_pending", registered_by_id=team.admin.id)
    db.session.commit()
    login_as(team.admin)
    body = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert "<b>Eve" not in body and "<script>x" not in body and "<i>&" not in body
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; Co asks to join Rhein Handel AG." in body
    assert "&lt;script&gt;x&lt;/script&gt;</a>" in body
    assert "for Cargo &lt;i&gt;&amp;&lt;/i&gt; AG." in body
    login_as(team.member)
    body = client.get("/dashboard?lang=en").get_data(as_text=True)
    assert "asks to join" not in body
