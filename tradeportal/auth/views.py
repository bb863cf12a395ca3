"""Sign-in in two steps (password, then second factor) and sign-out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public, second_factor_pending
from ..extensions import db, limiter
from . import bp, services
from .forms import SecondFactorForm, SignInForm
from .sessions import clear_pending_user, end_session, pending_user, set_pending_user, start_session


def safe_next(target: str | None) -> str | None:
    """Only a path on this site; never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit("30/minute;200/hour", methods=["POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = SignInForm()
    if request.method == "GET" and safe_next(request.args.get("next")):
        session["next_url"] = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        user = services.check_password(form.email.data, form.password.data)
        if user is not None:
            set_pending_user(user)
            db.session.commit()
            return redirect(url_for("auth.second_factor"))
        db.session.commit()  # the failure's audit event
        form.form_errors.append(_("The e-mail address or the password is not right. Check them and try again."))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("auth/sign_in.html", form=form), status


@bp.route("/sign-in/code", methods=["GET", "POST"])
@second_factor_pending
@limiter.limit("20/minute", methods=["POST"])
def second_factor():
    user = pending_user()
    form = SecondFactorForm()
    if form.validate_on_submit():
        if services.check_second_factor(user, form.code.data):
            next_url = session.pop("next_url", None)
            clear_pending_user()
            start_session(user)
            db.session.commit()
            return redirect(safe_next(next_url) or url_for("dashboard.index"))
        db.session.commit()
        form.code.errors.append(_("The code is not right. Enter the current code from your authenticator app."))
    status = 422 if form.errors else 200
    return render_template("auth/second_factor.html", form=form), status


@bp.post("/sign-out")
@public
def sign_out():
    if current_user.is_authenticated:
        end_session()
        db.session.commit()
    else:
        clear_pending_user()
    flash(_("You have signed out."), "success")
    return redirect(url_for("public.home"))
