"""The security battery's world: two partners and every kind of actor, signed in once per module.

`build_world(db)` makes, with the ORM (no HTTP, so it is fast):

- partner A ("Rhein Handel AG", active, holding an active grant of every catalogue
  role so that every service is open) with an administrator, a deputy, a member
  without rights and a member holding every right;
- partner B ("Jura Textil SA", active) whose administrator is "a member of another
  partner";
- partner C (letter pending), registered by the person without a partner;
- a signed-in person without a partner, a staff member without any permission and
  a staff member holding every permission, a person half-way through sign-in
  (password given, code not yet);
- one object of each kind the routes take an id of (invitation, access request,
  role requests, notification, news, notice, terms, feedback, register entry,
  an extra session), all of partner A or of its administrator.

`world.client(actor)` gives a test client signed in as that actor (a real
server-side session row, as `login_as` does); `world.rebuild()` starts over after
an allowed write changed the world. `snapshot()` reads every table (minus the
sign-in bookkeeping columns) so that a test can prove "nothing changed".

Part B of the battery may import `build_world`, `World`, `ACTORS`, `snapshot`.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta

import pyotp
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from tests.conftest import CSRF_META, TEST_PASSWORD, PortalClient, _empty_tables, sign_in_client
from tradeportal import extensions as ext
from tradeportal.access import Right, StaffPermission

# The actors of the access matrix (issue 10, part 1), plus two the routes need:
# a member holding every right and a person half-way through sign-in.
ACTORS = (
    "anonymous",
    "pending",
    "no_partner",
    "other_member",
    "member_no_right",
    "member_with_rights",
    "deputy",
    "administrator",
    "staff_no_permission",
    "staff",
    "api_other",
)
SIGNED_IN_ACTORS = ("no_partner", "other_member", "member_no_right", "member_with_rights", "deputy",
                    "administrator", "staff_no_permission", "staff")

# Columns written by merely reading pages while signed in, or by a bearer call (at most once
# a minute per application), documented in docs/SECURITY.md.
BOOKKEEPING_COLUMNS = {("user_session", "last_seen_at"), ("api_application", "last_used_at")}

_password_hash: str | None = None


def _hash_once() -> str:
    global _password_hash
    if _password_hash is None:
        from tradeportal.auth.passwords import hash_password

        _password_hash = hash_password(TEST_PASSWORD)
    return _password_hash


def snapshot() -> dict[str, list]:
    """Every row of every table, as sorted tuples (bookkeeping columns left out)."""
    result = {}
    with ext.db.engine.connect() as conn:
        for table in ext.db.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in BOOKKEEPING_COLUMNS]
            rows = conn.execute(select(*columns)).all()
            result[table.name] = sorted(repr(tuple(row)) for row in rows)
    return result


class WriteWatch:
    """Counts the statements that may have changed a row (INSERT, UPDATE, DELETE) on the engine.

    Every query of the portal goes through `db.engine`, so a cell during which no such
    statement ran changed nothing: the matrix then skips the full `snapshot()` (the
    slowest part of the sweep) and compares tables only after a cell that wrote.
    """

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "TRUNCATE", "MERGE")

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine, self.count = engine, 0
        self._event = event
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in self.WRITES:
            self.count += 1

    def close(self) -> None:
        self._event.remove(self.engine, "before_cursor_execute", self._seen)


def diff(before: dict, after: dict) -> list[str]:
    """Names of the tables whose rows differ, with the row counts."""
    changed = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            changed.append(f"{name} ({len(before.get(name, []))}→{len(after.get(name, []))} rows)")
    return changed


class World:
    """Actors and objects; ids change on rebuild, so read them from here each time."""

    def __init__(self, app, db):
        self.app = app
        self.db = db
        self._clients: dict[str, PortalClient] = {}
        self._tokens: dict[str, str] = {}
        self.builds = 0
        self.api_token_exercised = False
        self.build()

    # --- building ----------------------------------------------------------------
    def _user(self, key, first, last, *, staff=None, **fields):
        from tradeportal.account.models import User, normalise_email
        from tradeportal.db import utcnow

        email = f"{key.replace('_', '.')}@example.com"
        secret = pyotp.random_base32(32)
        user = User(email=email, email_normalized=normalise_email(email), password_hash=_hash_once(),
                    first_name=first, last_name=last, locale="en", email_confirmed_at=utcnow(),
                    totp_secret=secret, totp_enrolled_at=utcnow(), **fields)
        if staff is not None:
            user.is_staff = True
            user.staff_permissions = ",".join(p.value for p in staff)
        self.db.session.add(user)
        self.db.session.flush()
        user.totp = pyotp.TOTP(secret)
        self.users[key] = user
        return user

    def build(self) -> None:
        from tests.test_roles_support import add_catalogue
        from tradeportal.auth.models import UserSession
        from tradeportal.auth.sessions import _hash
        from tradeportal.db import utcnow
        from tradeportal.notifications.models import AgencyNotice, Notification
        from tradeportal.partners.models import (AccessRequest, Invitation, Membership, Partner, RegisterEntry,
                                                 VerificationLetter)
        from tradeportal.public.models import Feedback, NewsItem, TermsVersion
        from tradeportal.roles.models import Role, RoleRequest

        db = self.db
        _empty_tables()
        self._clients.clear()
        self._tokens.clear()
        self.builds += 1
        self.users: dict = {}
        self.ids: dict[str, int | str] = {}
        now = utcnow()

        admin = self._user("administrator", "Ada", "Admin")
        deputy = self._user("deputy", "Dora", "Deputy")
        member = self._user("member_no_right", "Max", "Member")
        rights_member = self._user("member_with_rights", "Rita", "Rights")
        other = self._user("other_member", "Otto", "Outsider")
        no_partner = self._user("no_partner", "Nina", "Nobody")
        self._user("staff_no_permission", "Stan", "Staff", staff=[])
        self._user("staff", "Sofia", "Staff", staff=list(StaffPermission))
        self._user("pending", "Paul", "Pending")

        def partner(n, name, status="active", **fields):
            row = Partner(kind="legal_entity", status=status, source="register", identifier=f"CHE-{n}00.000.00{n}",
                          registration_key=f"security-{n}", name=name, name_search=name.lower(), legal_form="AG",
                          address_line1=f"Bahnhofstrasse {n}", postcode="3003", town="Bern", country="CH",
                          locale="en", activated_at=now if status == "active" else None, **fields)
            db.session.add(row)
            db.session.flush()
            return row

        a = partner(1, "Rhein Handel AG")
        b = partner(2, "Jura Textil SA")
        c = partner(3, "Aare Pending GmbH", status="letter_pending", registered_by_id=no_partner.id)
        self.partner_a, self.partner_b, self.partner_c = a, b, c

        def membership(p, user, role, rights=()):
            row = Membership(partner_id=p.id, user_id=user.id, role=role, rights=",".join(r.value for r in rights))
            db.session.add(row)
            db.session.flush()
            return row

        membership(a, admin, "administrator")
        self.ids["deputy_membership"] = membership(a, deputy, "deputy").id
        self.ids["member_membership"] = membership(a, member, "member").id
        membership(a, rights_member, "member", rights=list(Right))
        self.ids["other_membership"] = membership(b, other, "administrator").id
        db.session.commit()

        roles = add_catalogue(db)
        # Partner A holds every role but one, which it has asked for (pending).
        codes = sorted(roles)
        for code in codes[:-1]:
            db.session.add(RoleRequest(partner_id=a.id, role_id=roles[code].id, status="active", requested_at=now,
                                       activated_at=now, requested_by_id=admin.id))
        pending_request = RoleRequest(partner_id=a.id, role_id=roles[codes[-1]].id, status="pending",
                                      requested_at=now, requested_by_id=admin.id)
        db.session.add(pending_request)
        unrequested = Role(code="security_extra", name_fr="Rôle supplémentaire", name_en="Extra role",
                           name_de="Zusatzrolle", description_en="", services="", active=True)
        db.session.add(unrequested)
        db.session.flush()
        self.ids["role_request"] = pending_request.id
        self.ids["role"] = unrequested.id

        invitation = Invitation(partner_id=a.id, email="colleague@example.com", email_normalized="colleague@example.com",
                                role="member", token_hash=secrets.token_hex(32), invited_by_id=admin.id,
                                expires_at=now + timedelta(days=7))
        access_request = AccessRequest(partner_id=a.id, user_id=no_partner.id, reason="I work there.")
        letter = VerificationLetter(partner_id=c.id, requested_by_id=no_partner.id, code_hash="0" * 64,
                                    code_plain="ABCD-EFGH-JKLM", locale="en", recipient_name=c.name,
                                    recipient_address="Bahnhofstrasse 3\n3003 Bern", expires_at=now + timedelta(days=30))
        entry = RegisterEntry(identifier="CHE-900.000.009", name="Emme Register AG", name_search="emme register ag",
                              legal_form="AG", address_line1="Emmenweg 9", postcode="3400", town="Burgdorf",
                              country="CH")
        notification = Notification(user_id=admin.id, partner_id=a.id, kind="partner.member_joined",
                                    subject="A colleague joined", body="")
        news = NewsItem(published_at=now - timedelta(days=1), title_fr="Nouvelle", title_en="News", title_de="Neuigkeit",
                        body_fr="Texte", body_en="Text", body_de="Text")
        notice = AgencyNotice(subject_fr="Avis", subject_en="Notice", subject_de="Hinweis", body_fr="Texte",
                              body_en="Text", body_de="Text", audience="partner", audience_value=str(a.id),
                              status="done")
        terms = TermsVersion(version=1, body_fr="Conditions", body_en="Terms", body_de="Bedingungen")
        feedback = Feedback(page_url="/help", text="Useful page.", locale="en")
        extra_session = UserSession(token_hash=_hash(secrets.token_urlsafe(32)), user_id=admin.id,
                                    ip_address="192.0.2.1", user_agent="another device")
        db.session.add_all([invitation, access_request, letter, entry, notification, news, notice, terms, feedback,
                            extra_session])
        db.session.commit()
        from tradeportal.auth.models import TermsAcceptance

        for user in self.users.values():
            db.session.add(TermsAcceptance(user_id=user.id, terms_version_id=terms.id))
        db.session.commit()
        self.ids.update(invitation=invitation.id, access_request=access_request.id, letter=letter.id,
                        register_entry=entry.id, notification=notification.id, news=news.id, notice=notice.id,
                        terms_version=terms.version, feedback=feedback.id, admin_other_session=extra_session.id)
        self.ids["partner_a"], self.ids["partner_b"], self.ids["partner_c"] = a.id, b.id, c.id
        self.ids.update({f"user_{key}": user.id for key, user in self.users.items()})
        self._build_extensions()

    def _build_extensions(self) -> None:
        """Objects of areas that may not exist yet (documents, API): built when they do."""
        from . import matrix

        for builder in matrix.WORLD_EXTENSIONS:
            builder(self)

    def rebuild(self) -> None:
        self.db.session.remove()
        self.build()

    # --- signing in ----------------------------------------------------------------
    def client(self, actor: str) -> PortalClient:
        client = self._clients.get(actor)
        if client is None:
            client = self._clients[actor] = self._new_client(actor)
        return client

    def _new_client(self, actor: str) -> PortalClient:
        from tradeportal.db import utcnow

        client = self.app.test_client()
        if actor in SIGNED_IN_ACTORS:
            sign_in_client(client, self.users[actor], user_agent="security battery")
        elif actor == "pending":
            with client.session_transaction() as sess:
                sess["pending_user_id"] = self.users["pending"].id
                sess["pending_purpose"] = "second_factor"
                sess["pending_since"] = utcnow().timestamp()
        elif actor == "api_other":
            token = self.api_token_of_partner_b()
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    def api_token_of_partner_b(self) -> str:
        """A bearer token of an API application of partner B, when the API area can make one."""
        from . import matrix

        token = matrix.api_token_for(self, self.partner_b) if matrix.api_token_for else None
        self.api_token_exercised = token is not None
        return token or "tp_" + secrets.token_urlsafe(32)

    def csrf_token(self, actor: str, refresh: bool = False) -> str:
        """The token a page would give this actor: made as Flask-WTF makes it, from the raw
        value in the actor's session (rendering a page for each of thousands of cells is slow)."""
        if refresh or actor not in self._tokens:
            with self.client(actor).session_transaction() as sess:
                raw = sess.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())  # nosec B324
            secret = self.app.config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key
            self._tokens[actor] = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)
        return self._tokens[actor]

    def csrf_token_from_page(self, actor: str) -> str:
        page = self.client(actor).get("/help")
        match = CSRF_META.search(page.get_data(as_text=True))
        assert match, f"no CSRF token for {actor} ({page.status_code})"
        return match.group(1)

    def forget_client(self, actor: str) -> None:
        self._clients.pop(actor, None)
        self._tokens.pop(actor, None)


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they deselect
def pytest_collection_modifyitems(session, config, items):
    """Start the dependency audit (network-bound, part 10) now when its test is selected: it then
    runs while the other parts do, instead of adding its wait to the battery's time."""
    if any(item.name == "test_pip_audit_finds_no_unjustified_vulnerability" for item in items):
        from .test_dependencies import start_early

        start_early()


@pytest.fixture(scope="module")
def world(app):
    """One world per module (building it for each of thousands of cells would be too slow)."""
    with app.app_context():
        _empty_tables()
        w = World(app, ext.db)
        yield w
        ext.db.session.remove()
        _empty_tables()
