"""`reads.rows` (prebuilt statements on the driver's cursor) gives what SQLAlchemy gives, and the
connection policy of db.py (autocommit reads on PostgreSQL, a transaction from the first write,
a ping only after idling) keeps writes atomic. Issue #9.

Every statement the pages run through `reads.rows` is checked here against SQLAlchemy's own
execution of the same statement with the same parameters, on the backend the suite runs on
(SQLite, and PostgreSQL in CI): same columns, same values, same Python types.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import bindparam, select, text

from tests.test_documents_support import docs_world  # noqa: F401 - fixture
from tests.test_perf_staff_queue import varied  # noqa: F401 - fixture
from tests.test_roles_support import add_partner, catalogue, grant, team  # noqa: F401 - fixtures
from tradeportal import db as db_module
from tradeportal import reads
from tradeportal.extensions import db as ext_db


@pytest.fixture
def checked(monkeypatch):
    """reads.rows, with each answer compared to SQLAlchemy's; the statements it ran."""
    original = reads.rows
    seen = []

    def rows(statement, params, **options):
        fast = original(statement, params, **options)
        slow = ext_db.session.connection().execute(statement, params).all()
        assert [tuple(row) for row in fast] == [tuple(row) for row in slow], str(statement)
        assert [[type(value) for value in row] for row in fast] == [[type(value) for value in row] for row in slow]
        if slow:
            assert fast[0]._fields == tuple(slow[0]._fields)
        seen.append(statement)
        return fast

    monkeypatch.setattr(reads, "rows", rows)
    return seen


def test_every_signed_in_page_reads_what_sqlalchemy_reads(client, db, login_as, make_user, team, checked):
    from tradeportal.notifications.models import Notification

    grant(db, team.partner, team.roles["transport"])
    grant(db, team.partner, team.roles["authorised_consignor"], status="pending")
    add_partner(db, "Gotthard Cargo AG", status="letter_pending", registered_by_id=team.admin.id)
    for n in range(3):
        db.session.add(Notification(user_id=team.admin.id, kind="security", subject=f"Hello {n}", body="",
                                    partner_id=team.partner.id if n else None))
    db.session.commit()
    login_as(team.admin)
    for path in ("/dashboard", "/notifications", "/notifications?state=unread", "/account"):
        assert client.get(path).status_code == 200, path
    assert len(set(map(id, checked))) >= 5  # the session's, the dashboard's three, the inbox's


def test_the_documents_list_reads_what_sqlalchemy_reads(docs_world, checked):
    assert docs_world.client.get(docs_world.base).status_code == 200
    assert docs_world.client.get(f"{docs_world.base}?case_number=8000000683").status_code == 200
    assert len(checked) >= 3


def test_the_staff_queue_reads_what_sqlalchemy_reads(client, db, make_user, login_as, varied, checked):
    from tradeportal.access import StaffPermission

    login_as(make_user(staff_permissions=[StaffPermission.ROLES]))
    for query in ("", "?status=active", "?status=closed", "?status=closed&q=echo", "?q=a"):
        assert client.get(f"/staff/role-requests{query}").status_code == 200, query


def test_a_statement_with_an_expanding_list_is_refused(app, db):
    from tradeportal.partners.models import Partner

    statement = select(Partner.__table__.c.id).where(Partner.__table__.c.id.in_(bindparam("ids", expanding=True)))
    with app.test_request_context("/"):
        with pytest.raises(ValueError):
            reads.rows(statement, {"ids": [1, 2]})


def test_rows_are_named_tuples_with_processed_values(app, db, make_user):
    user = make_user()
    users = __import__("tradeportal.account.models", fromlist=["User"]).User.__table__
    statement = select(users.c.id, users.c.created_at).where(users.c.id == bindparam("user_id"))
    with app.test_request_context("/"):
        (row,) = reads.rows(statement, {"user_id": user.id})
        assert row.id == row[0] == user.id
        assert isinstance(row.created_at, datetime) and row.created_at.utcoffset() == timedelta(0)
        assert reads.scalars(statement, {"user_id": user.id}) == [user.id]


def _is_postgresql() -> bool:
    return ext_db.engine.dialect.name == "postgresql"


def test_a_get_reads_in_autocommit_and_its_first_write_opens_the_transaction(app, db, make_user):
    """On PostgreSQL a GET sends no BEGIN before its reads; a write still runs in a transaction
    that a rollback undoes entirely. (On SQLite the driver already sends BEGIN only before a write.)"""
    if not _is_postgresql():
        pytest.skip("the policy concerns PostgreSQL; CI runs this module there too")
    user_id = make_user(first_name="Before").id
    ext_db.session.remove()  # the test's session gives its connection back: the request takes one
    with app.test_request_context("/", method="GET"):
        connection = ext_db.session.connection()
        raw = connection.connection.dbapi_connection
        assert raw.autocommit is True
        ext_db.session.execute(text("SELECT 1"))
        assert raw.autocommit is True
        ext_db.session.execute(text("UPDATE user_account SET first_name = 'During' WHERE id = :id"), {"id": user_id})
        assert raw.autocommit is False  # the write opened a transaction…
        ext_db.session.execute(text("UPDATE user_account SET last_name = 'During' WHERE id = :id"), {"id": user_id})
        ext_db.session.rollback()  # …which takes both writes back
        ext_db.session.remove()
    assert raw.autocommit is False  # back in the pool as a transactional connection
    with app.test_request_context("/", method="POST"):
        assert ext_db.session.connection().connection.dbapi_connection.autocommit is False
        names = ext_db.session.execute(text("SELECT first_name, last_name FROM user_account WHERE id = :id"),
                                       {"id": user_id}).one()
        assert names[0] == "Before" and names[1] != "During"
        ext_db.session.remove()


def test_a_connection_is_pinged_only_after_idling(app, db, monkeypatch):
    if not _is_postgresql():
        pytest.skip("the ping concerns PostgreSQL connections")
    import psycopg

    pings = []
    original = psycopg.Connection.execute

    def execute(self, query, *args, **kwargs):
        if query == ";":
            pings.append(self)
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", execute)
    with app.app_context():
        for idle_limit, expected in ((3600.0, 0), (3600.0, 0), (0.0, 1)):
            monkeypatch.setattr(db_module, "PING_AFTER_IDLE", idle_limit)
            assert ext_db.session.execute(text("SELECT 1")).scalar() == 1
            ext_db.session.remove()
            assert len(pings) == expected  # a connection just used is trusted; an idle one is asked


def test_a_dead_connection_is_replaced_at_checkout(app, db):
    if not _is_postgresql():
        pytest.skip("the ping concerns PostgreSQL connections")
    with app.app_context():
        first = ext_db.session.connection().connection.dbapi_connection
        ext_db.session.remove()
        first.close()  # as a server restart would leave it
        assert ext_db.session.execute(text("SELECT 1")).scalar() == 1
        assert ext_db.session.connection().connection.dbapi_connection is not first
        ext_db.session.remove()


def test_partner_names_come_in_chunks_of_fixed_parameters(app, db, checked):
    from tradeportal.partners import audiences

    partners = [add_partner(db, f"Partner {n:02d} AG") for n in range(audiences.NAMES_AT_ONCE + 5)]
    with app.test_request_context("/"):
        names = audiences.partner_names({p.id for p in partners} | {10**9})
    assert names == {p.id: p.name for p in partners}
    assert len(checked) == 2  # two runs of the one statement


def test_an_engine_in_autocommit_keeps_it(app, db):
    """Only the autocommit that a GET's checkout set is undone: an engine created in AUTOCOMMIT
    (the bench's admin engine runs CREATE DATABASE with one) stays in it, before and after a write."""
    if not _is_postgresql():
        pytest.skip("the policy concerns PostgreSQL")
    from sqlalchemy import create_engine

    engine = create_engine(ext_db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        for method in ("GET", "POST", "GET"):
            with app.test_request_context("/", method=method):
                with engine.connect() as connection:
                    raw = connection.connection.dbapi_connection
                    assert raw.autocommit is True
                    connection.execute(text("SET application_name = 'tradeportal-test'"))
                    assert raw.autocommit is True and raw.info.transaction_status == 0  # idle: no BEGIN sent
    finally:
        engine.dispose()


def test_the_documents_lists_generic_plan_takes_the_page_first_on_postgresql(app, db):
    """psycopg prepares the list after five runs and PostgreSQL may then plan it without the
    partner's number. Joined before its LIMIT, that plan sorted all of a large partner's
    documents (26 ms for 20 rows in the bench); the page is now taken from the index first."""
    if not _is_postgresql():
        pytest.skip("PostgreSQL's generic plans")
    import re

    from tradeportal.documents import services

    statement = services._list_statement((False, False, False, False))
    sql = str(statement.compile(dialect=ext_db.engine.dialect))
    names: list = []

    def numbered(match):
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    assert sql.index("LIMIT") < sql.index("JOIN")  # the page is taken before any join
    sql = re.sub(r"%\((\w+)\)s", numbered, sql)
    values = {"partner_id": "1", "param_1": "'received'", "param_2": "'processed'", "limit": "21", "offset": "0"}
    with app.app_context():
        cursor = ext_db.session.connection().connection.dbapi_connection.cursor()
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"PREPARE tp_documents_page AS {sql}")
        cursor.execute(f"EXPLAIN EXECUTE tp_documents_page({', '.join(values[name] for name in names)})")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE tp_documents_page")
        ext_db.session.rollback()
        ext_db.session.remove()
    assert "Sort" not in plan, plan
    limit = plan.index("Limit")
    assert limit < plan.index("ix_document_partner_id_received_at"), plan


def test_the_partner_search_is_an_index_range_on_postgresql(app, db):
    """partner.name_search is in byte order on PostgreSQL (migration 0011), so "starts with" is a
    range of its index, sent as a range (a LIKE with a parameter is no range in a generic plan);
    under the database's collation the large bench set walked 5,000 names."""
    if not _is_postgresql():
        pytest.skip("SQLite's _prefix is a range already")
    from sqlalchemy import event

    from tradeportal.partners import services

    seen = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    with app.test_request_context("/"):
        event.listen(ext_db.engine, "before_cursor_execute", capture)
        try:
            services.search_partners_to_join("alpen")
        finally:
            event.remove(ext_db.engine, "before_cursor_execute", capture)
        statement, parameters = seen[-1]
        cursor = ext_db.session.connection().connection.dbapi_connection.cursor()
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: make the planner show the index use
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        ext_db.session.rollback()
    assert "LIKE" not in statement.upper()
    assert "Index Cond" in plan and ">= 'alpen'" in plan and "< 'alpeo'" in plan, plan


def _column_values(model, object_id: int) -> dict:
    """The column values of one row, read through Core (as `reads.rows` gives them), the session emptied."""
    from sqlalchemy import inspect as sa_inspect

    columns = [c.key for c in sa_inspect(model).column_attrs]
    row = ext_db.session.execute(select(*(model.__table__.c[k] for k in columns))
                                 .where(model.__table__.c.id == object_id)).one()
    ext_db.session.expunge_all()
    return dict(zip(columns, row))


def test_the_session_entities_are_attached_as_a_query_loads_them(app, db, make_user):
    """auth.sessions builds the person from a column row: persistent, unchanged, and a change to it
    is flushed like a change to a loaded one; an entity the session holds already is reused."""
    from sqlalchemy import inspect as sa_inspect

    from tradeportal.account.models import User
    from tradeportal.auth import sessions

    user_id = make_user(first_name="Anna").id
    ext_db.session.remove()
    with app.test_request_context("/"):
        values = _column_values(User, user_id)
        user = reads.attach(User, values)
        state = sa_inspect(user)
        assert state.persistent and not state.modified and not ext_db.session.dirty
        assert reads.attach(User, dict(values)) is user
        assert ext_db.session.get(User, user_id) is user  # no second copy, no query needed
        user.first_name = "Anne"
        assert list(ext_db.session.dirty) == [user]
        ext_db.session.commit()
        ext_db.session.remove()
    with app.app_context():
        assert ext_db.session.get(User, user_id).first_name == "Anne"


def test_an_attached_entity_loads_its_relationships_when_asked(app, db, make_user):
    """attach skips Session.add's cascade (a new entity has no related object loaded): its
    relationships still load on first use, and a change to a related object is flushed."""
    from sqlalchemy import inspect as sa_inspect

    from tradeportal.partners.models import Membership
    from tests.test_roles_support import add_member, add_partner

    user = make_user(first_name="Anna")
    membership_id = add_member(db, add_partner(db, name="Alpha AG"), user).id
    ext_db.session.remove()
    with app.test_request_context("/"):
        membership = reads.attach(Membership, _column_values(Membership, membership_id))
        assert membership.partner.name == "Alpha AG" and membership.user.first_name == "Anna"
        assert sa_inspect(membership.partner).persistent and not ext_db.session.dirty
        membership.user.first_name = "Anne"  # a change to a lazily loaded related object
        ext_db.session.commit()
        ext_db.session.remove()
    with app.app_context():
        assert ext_db.session.get(Membership, membership_id).user.first_name == "Anne"


@pytest.mark.parametrize("like", [False, True])
def test_the_partner_search_to_join_reads_what_sqlalchemy_reads(client, db, make_user, login_as, checked, monkeypatch,
                                                                like):
    """The as-you-type search of partners to join (by name prefix as a range, or as a LIKE where the
    collation is not byte order, and by identifier): the rows SQLAlchemy reads, in name order,
    without private persons, partners being checked or refused, or names that merely contain the
    text; the page links each to its access request."""
    from tradeportal.partners import services

    monkeypatch.setattr(services, "_prefix_is_like", lambda column: like)
    wanted = [add_partner(db, name) for name in ("Alpen Zoll AG", "Alpen_Bahn AG", "alpen% Cargo GmbH")]
    wanted[0].identifier = "CHE-116.281.710"  # a valid UID: typed as such, it is searched as one
    db.session.commit()
    add_partner(db, "Alpen Checked AG", status="awaiting_check")
    add_partner(db, "Alpen Refused AG", status="rejected")
    add_partner(db, "Alpen Private").kind = "natural_person"
    db.session.commit()
    add_partner(db, "Hoch Alpen AG")
    add_partner(db, "Alpeo AG")  # the range's end, "alpeo", is outside it
    with client.application.test_request_context("/"):
        names = [row.name for row in services.search_partners_to_join("Alpen")]
        assert names == sorted((p.name for p in wanted), key=str.lower)
        assert [row.name for row in services.search_partners_to_join("alpen_")] == ["Alpen_Bahn AG"]
        assert [row.name for row in services.search_partners_to_join("ALPEN%")] == ["alpen% Cargo GmbH"]
        assert [row.id for row in services.search_partners_to_join("che 116 281 710")] == [wanted[0].id]
        assert services.search_partners_to_join("a") == []
    assert len(set(map(id, checked))) == 2  # the range (or the LIKE) and the identifier's statement
    login_as(make_user())
    body = client.get("/partners/join?q=alpen", headers={"HX-Request": "true"}).get_data(as_text=True)
    for partner in wanted:
        assert f'href="/partners/join/ask?partner={partner.id}"' in body
    assert "Hoch Alpen" not in body and "Alpen Private" not in body
