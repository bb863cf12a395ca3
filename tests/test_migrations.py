"""Every schema change is a migration: the migrated database matches the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tradeportal import extensions as ext


def test_models_and_migrations_agree(app, db):
    with ext.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, ext.db.metadata)
    assert diff == [], diff
