"""`flask --app app tp import-register FILE`."""
from __future__ import annotations

import click

from ..cli import tp
from ..extensions import db


@tp.command("import-register")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_register_command(path):
    """Import the company register from a CSV file (all rows or none).

    Columns: identifier, name, legal_form, address_line1, address_line2, postcode,
    town, country, head_office_identifier, branch_number.
    """
    from .register_import import import_register

    with open(path, encoding="utf-8-sig", newline="") as fh:
        result = import_register(fh.read())
    if result.errors:
        db.session.rollback()
        for error in result.errors:
            click.echo(error, err=True)
        raise click.ClickException(f"{len(result.errors)} row(s) with errors: nothing was imported.")
    db.session.commit()
    click.echo(f"Register imported: {result.added} added, {result.updated} updated.")
