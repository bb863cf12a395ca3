"""Password reset by an e-mail link (1 hour, once). It never bypasses the second factor."""
from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public
from ..account.models import User
from ..extensions import db, limiter
from . import bp, services, tokens
from .forms import ForgotPasswordForm, ResetPasswordForm
from .sessions import clear_pending_user, end_session
from .views import address_key, redirected


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
@limiter.limit("10/hour", methods=["POST"])
@limiter.limit("3/hour", key_func=address_key, methods=["POST"], deduct_when=redirected)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        session["reset_email"] = form.email.data
        return redirect(url_for("auth.forgot_password_sent"))
    status = 422 if form.errors else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.get("/forgot-password/sent")
@public
def forgot_password_sent():
    # The same page whether or not the address has an account.
    return render_template("auth/forgot_password_sent.html", email=session.get("reset_email"))


def _link_invalid():
    return render_template("auth/link_invalid.html", kind="reset"), 410


@bp.get("/reset-password/<token>")
@public
def reset_password_link(token: str):
    """Take the token out of the address bar (history, referrers) into the session."""
    if not tokens.is_usable(tokens.find(token, tokens.RESET_PASSWORD)):
        return _link_invalid()
    session["reset_token"] = token
    return redirect(url_for("auth.reset_password"))


@bp.route("/reset-password", methods=["GET", "POST"])
@public
@limiter.limit("20/hour", methods=["POST"])
def reset_password():
    token = session.get("reset_token")
    row = tokens.find(token, tokens.RESET_PASSWORD)
    if not tokens.is_usable(row):
        session.pop("reset_token", None)
        return _link_invalid()
    user = db.session.get(User, row.user_id)
    form = ResetPasswordForm()
    form.account_email = user.email
    if form.validate_on_submit():
        if services.reset_password(token, form.password.data) is None:
            db.session.rollback()
            return _link_invalid()
        if current_user.is_authenticated:
            end_session()  # its row already ended with all the others
        clear_pending_user()
        session.pop("reset_token", None)
        db.session.commit()
        flash(_("Your password has been changed. Sign in with your new password."), "success")
        return redirect(url_for("auth.sign_in"))
    status = 422 if form.errors else 200
    return render_template("auth/reset_password.html", form=form, email=user.email), status
