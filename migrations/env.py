"""Alembic environment for Flask-Migrate: the app's engine and metadata."""
from __future__ import annotations

import logging

from alembic import context
from flask import current_app

log = logging.getLogger("alembic.env")
config = context.config
db = current_app.extensions["migrate"].db


def _metadata():
    return db.metadata


def run_migrations_offline() -> None:
    context.configure(url=str(db.engine.url), target_metadata=_metadata(), literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(context_, revision, directives):
        # `flask db migrate` with no change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            log.info("No changes in schema detected.")

    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", skip_empty)
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(), **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
