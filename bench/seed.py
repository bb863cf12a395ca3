"""Seed a large synthetic data set fast.

The schema comes from the migrations and the reference data (roles, register,
news, terms, demo accounts) from `tradeportal.demo.seed`; the volume is then
written with SQLAlchemy Core `executemany` on SQLite and `COPY` on PostgreSQL,
every row carrying the same password hash (hashed once).
"""
from __future__ import annotations

import os
import random
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, inspect, select, text

BENCH_PASSWORD = "Bench-Portal-2026!"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
CHUNK = 20_000

_WORDS_A = ["Alpen", "Rhein", "Leman", "Jura", "Ticino", "Helvetia", "Aare", "Sarine", "Berna", "Limmat",
            "Nord", "Sud", "Lac", "Mont", "Gotthard", "Vallee", "Saane", "Emme", "Thur", "Reuss"]
_WORDS_B = ["Logistik", "Transports", "Trading", "Import", "Export", "Handel", "Spedition", "Cargo", "Freight",
            "Distribution", "Negoce", "Metall", "Textil", "Chemie", "Horlogerie", "Food", "Pharma", "Bois", "Papier",
            "Maschinen"]
_KINDS = ["role_decision", "access_request", "letter_sent", "invitation", "security", "agency_notice"]


@dataclass(frozen=True)
class Sizes:
    name: str
    partners: int
    users: int
    notifications: int
    documents: int
    role_requests: int

    @property
    def own_notifications(self) -> int:
        """The signed-in bench person's own inbox: a tenth of the table."""
        return self.notifications // 10

    @property
    def own_documents(self) -> int:
        return self.documents // 10


FULL = Sizes("1,000,000 rows", 100_000, 300_000, 1_000_000, 200_000, 50_000)
SMALL = Sizes("10,000 rows", 1_000, 3_000, 10_000, 2_000, 500)


@dataclass
class Seeded:
    url: str
    sizes: Sizes
    member_id: int
    staff_id: int
    partner_id: int
    seconds: float
    documents: bool


def bench_config(url: str, instance: Path) -> dict:
    return {
        "ENVIRONMENT": "production",
        "SECRET_KEY": SECRET_KEY,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": url,
        "SMTP_HOST": None,
        "UPLOAD_DIR": str(instance / "uploads"),
    }


def server_environment(url: str, instance: Path) -> dict:
    """The same settings as `bench_config`, for the gunicorn process."""
    env = dict(os.environ)
    env.update({
        "TRADEPORTAL_ENV": "production",
        "TRADEPORTAL_SECRET_KEY": SECRET_KEY,
        "TRADEPORTAL_INSTANCE_DIR": str(instance),
        "TRADEPORTAL_DATABASE_URL": url,
        "TRADEPORTAL_UPLOAD_DIR": str(instance / "uploads"),
        "TRADEPORTAL_SMTP_HOST": "",
    })
    return env


def make_app(url: str, instance: Path):
    from tradeportal import create_app

    instance.mkdir(parents=True, exist_ok=True)
    return create_app(bench_config(url, instance))


def _reset(app, url: str) -> None:
    from flask_migrate import upgrade

    from tradeportal.extensions import db

    if url.startswith("sqlite"):
        db.engine.dispose()
    else:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(revision="heads")


def _completer(table):
    """Fill every column a row leaves out with its default (evaluated once) or None."""
    fixed = {}
    for column in table.columns:
        if column.primary_key:
            continue
        default = column.default
        if default is None:
            fixed[column.name] = None
        elif default.is_scalar:
            fixed[column.name] = default.arg
        elif default.is_callable:
            fixed[column.name] = default.arg(None)
        else:
            fixed[column.name] = None

    def complete(row: dict) -> dict:
        return {**fixed, **row}

    return complete


def _bulk(conn, table, rows, dialect: str) -> int:
    """Write `rows` (an iterable of dicts) to `table` in chunks; returns the count."""
    complete = _completer(table)
    count = 0
    chunk: list[dict] = []

    def flush():
        nonlocal chunk
        if not chunk:
            return
        if dialect == "postgresql":
            columns = list(chunk[0].keys())
            raw = conn.connection.driver_connection
            names = ", ".join(f'"{c}"' for c in columns)
            with raw.cursor() as cursor:
                with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in chunk:
                        copy.write_row([row[c] for c in columns])
        else:
            conn.execute(table.insert(), chunk)
        chunk = []

    for row in rows:
        chunk.append(complete(row))
        count += 1
        if len(chunk) >= CHUNK:
            flush()
    flush()
    return count


def _next_id(conn, table) -> int:
    return (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1


def _fix_sequences(conn, tables) -> None:
    for table in tables:
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM \"{table.name}\"))"
        ))


def documents_table(metadata):
    return metadata.tables.get("document")


def seed(url: str, sizes: Sizes, instance: Path, log=print) -> Seeded:
    """Build the schema at `url` and fill it; returns the ids the load needs."""
    from tradeportal import demo
    from tradeportal.access import StaffPermission
    from tradeportal.auth.passwords import hash_password
    from tradeportal.db import utcnow
    from tradeportal.extensions import db

    started = time.perf_counter()
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = make_app(url, instance)
    with app.app_context():
        _reset(app, url)
        demo.seed()
        db.session.commit()
        metadata = db.metadata
        t = metadata.tables
        dialect = db.engine.dialect.name
        rng = random.Random(9)
        now = utcnow()
        password_hash = hash_password(BENCH_PASSWORD)  # once, reused by every account
        roles = list(db.session.execute(select(t["role"].c.id).order_by(t["role"].c.id)).scalars())
        terms_id = db.session.execute(select(func.max(t["terms_version"].c.id))).scalar()
        db.session.remove()

        with db.engine.begin() as conn:
            if dialect == "sqlite":
                conn.exec_driver_sql("PRAGMA synchronous=OFF")
            first_user = _next_id(conn, t["user_account"])
            first_partner = _next_id(conn, t["partner"])

            def users():
                for i in range(sizes.users):
                    email = f"user{i}@bench.example"
                    yield {"id": first_user + i, "email": email, "email_normalized": email, "password_hash": password_hash,
                           "first_name": f"First{i}", "last_name": f"Last{i}", "locale": ("fr", "en", "de")[i % 3],
                           "email_confirmed_at": now, "totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                           "totp_enrolled_at": now, "email_notifications": False, "created_at": now, "updated_at": now}
                email = "bench.staff@bench.example"
                yield {"id": first_user + sizes.users, "email": email, "email_normalized": email,
                       "password_hash": password_hash, "first_name": "Bench", "last_name": "Staff", "locale": "en",
                       "email_confirmed_at": now, "totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                       "totp_enrolled_at": now, "is_staff": True,
                       "staff_permissions": ",".join(p.value for p in StaffPermission),
                       "created_at": now, "updated_at": now}

            _bulk(conn, t["user_account"], users(), dialect)
            member_id, staff_id = first_user, first_user + sizes.users

            def partners():
                for i in range(sizes.partners):
                    name = f"{_WORDS_A[i % 20]} {_WORDS_B[(i // 20) % 20]} {i:06d} AG"
                    identifier = f"CHE-{100000000 + i:09d}"
                    yield {"id": first_partner + i, "kind": "legal_entity", "status": "active", "source": "register",
                           "identifier": identifier, "registration_key": identifier, "name": name,
                           "name_search": name.lower(), "legal_form": "AG", "address_line1": f"Bahnhofstrasse {i % 200}",
                           "postcode": "3003", "town": "Bern", "country": "CH", "locale": ("fr", "en", "de")[i % 3],
                           "created_at": now, "updated_at": now, "activated_at": now}

            _bulk(conn, t["partner"], partners(), dialect)
            partner_id = first_partner

            def memberships():
                for i in range(sizes.users):
                    yield {"partner_id": first_partner + (i // 3) % sizes.partners, "user_id": first_user + i,
                           "role": "administrator" if i % 3 == 0 else "member", "rights": "view_documents",
                           "created_at": now}

            _bulk(conn, t["partner_membership"], memberships(), dialect)

            def role_requests():
                for role_id in roles:  # the bench partner holds every role: every service is open
                    yield {"partner_id": partner_id, "role_id": role_id, "status": "active", "requested_by_id": member_id,
                           "requested_at": now - timedelta(days=60), "activated_at": now - timedelta(days=59)}
                for i in range(sizes.role_requests):
                    yield {"partner_id": first_partner + 1 + i % (sizes.partners - 1), "role_id": roles[i % len(roles)],
                           "status": "pending", "requested_by_id": first_user + 3 * (1 + i % (sizes.partners - 1)),
                           "requested_at": now - timedelta(minutes=i), "contact_name": "Contact Person",
                           "contact_email": "contact@bench.example", "contact_phone": "+41 31 000 00 00"}

            _bulk(conn, t["role_request"], role_requests(), dialect)

            def notifications():
                own = sizes.own_notifications
                others = sizes.users - 1
                for i in range(sizes.notifications):
                    user = member_id if i < own else first_user + 1 + (i % others)
                    yield {"user_id": user, "partner_id": partner_id if i < own else None, "kind": _KINDS[i % len(_KINDS)],
                           "urgent": i % 17 == 0, "sensitive": False,
                           "subject": f"Notification {i}: your request was decided",
                           "body": "The agency decided on your request. Open the portal to see the details.",
                           "link": "/dashboard", "created_at": now - timedelta(seconds=30 * i),
                           "read_at": None if i % 3 == 0 else now}

            _bulk(conn, t["notification"], notifications(), dialect)

            _bulk(conn, t["terms_acceptance"],
                  ({"user_id": uid, "terms_version_id": terms_id, "accepted_at": now} for uid in (member_id, staff_id)),
                  dialect)

        # The documents area may not be built (or migrated) yet: seed it when its table exists.
        has_documents = documents_table(metadata) is not None and inspect(db.engine).has_table("document")
        if has_documents:
            try:
                with db.engine.begin() as conn:
                    _seed_documents(conn, metadata, sizes, partner_id, first_partner, member_id, now, dialect, rng)
            except Exception as error:  # noqa: BLE001 - a half-built area must not stop the bench
                log(f"  documents not seeded: {error.__class__.__name__}: {str(error).splitlines()[0][:200]}")
                has_documents = False
        with db.engine.begin() as conn:
            if dialect == "postgresql":
                _fix_sequences(conn, [t["user_account"], t["partner"], t["partner_membership"], t["role_request"],
                                      t["notification"], t["terms_acceptance"]]
                               + ([documents_table(metadata)] if has_documents else []))
                if has_documents:
                    _fix_sequences(conn, [fk.column.table for c in documents_table(metadata).columns
                                          for fk in c.foreign_keys
                                          if fk.column.table.name not in ("partner", "user_account")])
        with db.engine.begin() as conn:
            if dialect == "postgresql":
                conn.execute(text("ANALYZE"))
            else:
                conn.exec_driver_sql("ANALYZE")
        db.engine.dispose()
    seconds = time.perf_counter() - started
    log(f"  seeded {sizes.name} into {dialect} in {seconds:.0f} s")
    return Seeded(url, sizes, member_id, staff_id, partner_id, seconds, has_documents)


def _seed_documents(conn, metadata, sizes, partner_id, first_partner, member_id, now, dialect, rng) -> None:
    """Document records (metadata rows only: the files themselves are not needed to list them)."""
    from sqlalchemy import Boolean, DateTime, Integer, String, Text

    table = documents_table(metadata)
    references = {}
    for column in table.columns:
        for fk in column.foreign_keys:
            references[column.name] = _ensure_row(conn, fk.column.table, partner_id, member_id, now)

    own = sizes.own_documents

    def rows():
        for i in range(sizes.documents):
            row = _fake_row(table, i, now)
            for name, value in references.items():
                row[name] = value
            row["partner_id"] = partner_id if i < own else first_partner + 1 + i % (sizes.partners - 1)
            if "status" in table.c:
                row["status"] = "received"  # listed (staged files of a draft are not)
            for name in ("is_test",):
                if name in table.c:
                    row[name] = False
            for name in ("received_at", "created_at", "uploaded_at"):
                if name in table.c:
                    row[name] = now - timedelta(minutes=7 * i)
            for name in ("deleted_at", "withdrawn_at"):
                if name in table.c:
                    row[name] = None
            yield row

    _bulk(conn, table, rows(), dialect)


def _ensure_row(conn, target, partner_id, member_id, now):
    """The id of a row of `target` a foreign key may point to (created when the table is empty)."""
    if target.name == "partner":
        return partner_id
    if target.name == "user_account":
        return member_id
    existing = conn.execute(select(target.c.id).order_by(target.c.id).limit(1)).scalar()
    if existing is not None:
        return existing
    row = _fake_row(target, 0, now)
    if "status" in target.c:
        row["status"] = "received"
    for column in target.columns:
        for fk in column.foreign_keys:
            if not column.nullable or fk.column.table.name in ("partner", "user_account"):
                row[column.name] = _ensure_row(conn, fk.column.table, partner_id, member_id, now)
    conn.execute(target.insert(), [row])
    return conn.execute(select(target.c.id).order_by(target.c.id).limit(1)).scalar()


def _fake_row(table, i: int, now) -> dict:
    """A plausible value for every required column of an unknown table."""
    from sqlalchemy import Boolean, Integer, LargeBinary, Numeric, String, Text

    row = {}
    for column in table.columns:
        if column.primary_key or column.foreign_keys:
            continue
        if column.nullable and column.default is None and column.name not in ("display_name", "case_number", "sha256"):
            continue
        if column.default is not None and column.name not in ("status",):
            continue
        kind = column.type
        name = column.name
        python_type = None
        try:
            python_type = kind.python_type
        except NotImplementedError:
            pass
        if name == "sha256":
            value = f"{i:064x}"
        elif name == "content_type":
            value = "application/pdf"
        elif name == "status":
            value = column.default.arg if column.default is not None and column.default.is_scalar else "received"
        elif name.endswith("_name") or name in ("name", "title", "subject"):
            value = f"document-{i:07d}.pdf"
        elif isinstance(kind, (String, Text)):
            length = getattr(kind, "length", None) or 40
            value = f"{name[:8]}{i}"[:length]
        elif isinstance(kind, Boolean):
            value = False
        elif isinstance(kind, (Integer, Numeric)):
            value = 1000 + i % 5000
        elif isinstance(kind, LargeBinary):
            value = b""
        elif python_type is not None and python_type.__name__ == "datetime":
            value = now
        else:
            value = None
        row[name] = value
    return row


def new_session_cookie(app, user_id: int, acting_partner_id: int | None = None) -> str:
    """A live server-side session for `user_id` and the signed cookie that carries it."""
    from tradeportal.auth.models import UserSession
    from tradeportal.auth.sessions import _hash
    from tradeportal.extensions import db

    token = secrets.token_urlsafe(32)
    with app.app_context():
        db.session.add(UserSession(token_hash=_hash(token), user_id=user_id, ip_address="127.0.0.1", user_agent="wrk"))
        db.session.commit()
        db.session.remove()
        serializer = app.session_interface.get_signing_serializer(app)
        # What a browser's cookie holds from its second page on: the session's CSRF token (Flask-WTF's
        # raw token, stored by the first page that shows a form). wrk sends the same cookie again and
        # again and keeps none it is given; without the token every request would make a new one and
        # answer with a new cookie, which a browser's requests do not.
        values = {"sid": token, "_user_id": str(user_id), "_fresh": True, "locale": "en",
                  app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token": secrets.token_hex(20)}
        if acting_partner_id is not None:
            # as the session holds it once the person has seen the dashboard or a partner page
            # (partners.resolver: set_acting_for); the staff person acts for none
            values["acting_partner_id"] = acting_partner_id
        return serializer.dumps(values)
