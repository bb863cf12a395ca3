"""Steps a signed-in person must have passed: a confirmed address and an enrolled
second factor. Sign-in never opens a session without them, but a staff member may
reset a second factor while the person is signed in: the session then ends, and
the next sign-in asks for enrolment (with the password, never from a session alone)."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _

from ..current import request_user
from ..extensions import db
from .sessions import end_session


def account_ready_gate():
    user = request_user()
    if user.email_confirmed_at is not None and user.second_factor_enrolled:
        return None
    end_session()
    db.session.commit()
    flash(_("Sign in again to finish setting up your user account."), "info")
    return redirect(url_for("auth.sign_in"))
