"""`flask --app app tp …` commands."""
from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .extensions import db

tp = AppGroup("tp", help="tradeportal commands.")

# Jobs the worker runs on every pass before delivering mail (e.g. the fan-out of an
# agency notice to a large audience). Each is `fn() -> str | None` (a line to print).
WORKER_TASKS: list = []


@tp.command("send-mail")
@click.option("--once", is_flag=True, help="One pass, then exit.")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between passes.")
def send_mail(once: bool, interval: float):
    """Deliver the outbox: due messages are sent, failures retried with back-off."""
    from .mail import send_due

    while True:
        for task in WORKER_TASKS:
            line = task()
            if line:
                click.echo(line)
        sent, waiting = send_due()
        click.echo(f"sent {sent}, not sent this pass {waiting}")
        db.session.remove()
        if once:
            return
        time.sleep(interval)


@tp.command("create-staff")
@click.argument("email")
@click.option("--first-name", default="Staff", show_default=True)
@click.option("--last-name", default="Member", show_default=True)
@click.option("--permission", "permissions", multiple=True, help="Repeat for each; default: all.")
@click.option("--locale", default=None, help="fr, en or de; default: the portal's default.")
@click.password_option(help="The staff member's password (asked for when not given).")
def create_staff(email, first_name, last_name, permissions, locale, password):
    """Create a staff account (or give an existing account staff permissions)."""
    from .staff.accounts import create_staff_account

    user, secret = create_staff_account(email, password, first_name, last_name, permissions, locale)
    db.session.commit()
    click.echo(f"Staff account {user.email} with permissions: {user.staff_permissions}")
    if secret:
        click.echo(f"Authenticator secret (enter it in the app, then sign in): {secret}")


@tp.command("seed-demo")
def seed_demo():
    """Load the demo agency set-up (idempotent). Demo secrets are for demonstration only."""
    from .demo import seed

    for line in seed():
        click.echo(line)


@tp.command("totp-code")
@click.argument("email")
def totp_code(email):
    """Development only: print the current authenticator code of a demo account."""
    import pyotp

    from .auth.services import find_user_by_email

    if current_app.config["ENVIRONMENT"] != "development":
        raise click.ClickException("only available when TRADEPORTAL_ENV=development")
    user = find_user_by_email(email)
    if user is None or not user.totp_secret:
        raise click.ClickException("no such account with an authenticator")
    click.echo(pyotp.TOTP(user.totp_secret).now())


def register(app: Flask) -> None:
    app.cli.add_command(tp)
