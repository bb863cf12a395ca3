"""Declarative base, naming convention and UTC timestamps shared by every model."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from time import monotonic

from sqlalchemy import DateTime, MetaData, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that Alembic can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def day_start(day: date) -> datetime:
    """Midnight of `day` in the portal's time zone, in UTC (date filters: from `day_start(first)`
    to before `day_start(last + 1 day)`)."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone; PostgreSQL uses timestamptz. Naive values are refused
    on the way in so that no local time ever reaches the database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers and one writer work at once; foreign keys are off by default.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(conn, _name):
    # pysqlite sends BEGIN only before INSERT/UPDATE/DELETE: a SAVEPOINT sent first would be the
    # transaction itself, and its RELEASE a COMMIT that the request's rollback could not undo.
    dbapi_connection = conn.connection.dbapi_connection
    if type(dbapi_connection).__module__.startswith("sqlite3") and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


# --- PostgreSQL: no round trip that carries nothing ----------------------------------------------
# A page on PostgreSQL paid three round trips besides its own statements: the pool's ping
# (pool_pre_ping), BEGIN and ROLLBACK. Measured in `make bench`, they were a third of the round
# trips of the inbox. So:
#
# - a connection is pinged when it comes out of the pool only if it sat there PING_AFTER_IDLE
#   seconds or more (a server restart or an idle timeout shows there); a failed ping makes the
#   pool open a new connection (DisconnectionError: it tries three times);
# - a GET or HEAD request reads in autocommit (no BEGIN, no ROLLBACK). Under PostgreSQL's READ
#   COMMITTED every statement sees its own snapshot inside a transaction too, so the reads are the
#   same. Its first statement that may write (anything but a plain SELECT, or SELECT … FOR UPDATE)
#   ends autocommit first: from there on the request's statements run in one transaction, which
#   the session commits or rolls back as on any request. The connection leaves the pool's hands
#   transactional again (checkin).
# SQLite is left alone: its driver sends BEGIN only before a write.
PING_AFTER_IDLE = 10.0


def _is_psycopg(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("psycopg")


def _reading_request() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.method in ("GET", "HEAD")


@event.listens_for(Pool, "checkout")
def _checkout(dbapi_connection, record, _proxy):
    if not _is_psycopg(dbapi_connection):
        return
    if dbapi_connection.closed or dbapi_connection.broken:  # known locally, no round trip
        raise exc.DisconnectionError()
    idle_since = record.info.get("idle_since")
    if idle_since is not None and monotonic() - idle_since >= PING_AFTER_IDLE:
        try:
            dbapi_connection.execute(";")
            if not dbapi_connection.autocommit:
                dbapi_connection.rollback()
        except Exception as error:  # the connection is dead: the pool replaces it
            raise exc.DisconnectionError() from error
    # (only on an idle connection: psycopg refuses the change inside a transaction)
    if _reading_request() and not dbapi_connection.autocommit and dbapi_connection.info.transaction_status == 0:
        dbapi_connection.autocommit = True
        record.info["tp_reading"] = True  # ours to undo (an engine in AUTOCOMMIT keeps its own)


@event.listens_for(Pool, "checkin")
def _checkin(dbapi_connection, record):
    if dbapi_connection is None or not _is_psycopg(dbapi_connection):
        return
    record.info["idle_since"] = monotonic()
    if record.info.pop("tp_reading", False) and dbapi_connection.autocommit \
            and not (dbapi_connection.closed or dbapi_connection.broken):
        dbapi_connection.autocommit = False  # (a broken one is replaced at its next checkout)


def _may_write(statement: str) -> bool:
    head = statement.lstrip()[:6].upper()
    return head != "SELECT" or " FOR UPDATE" in statement or " FOR SHARE" in statement or " FOR NO KEY" in statement


@event.listens_for(Engine, "before_cursor_execute")
def _transaction_before_a_write(conn, _cursor, statement, _parameters, _context, _executemany):
    pooled = conn.connection
    if pooled.info.get("tp_reading") and _may_write(statement):
        pooled.info["tp_reading"] = False
        pooled.dbapi_connection.autocommit = False
