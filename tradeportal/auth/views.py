"""Sign-in in two steps (password, then second factor), sign-out, and the session's time-outs."""
from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import current_app, flash, has_request_context, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public, second_factor_pending, signed_in
from ..account.models import normalise_email
from ..extensions import db, limiter
from . import bp, services
from .forms import SecondFactorForm, SignInForm
from .sessions import (
    clear_pending_user, current_session, end_session, pending_purpose, pending_user, seconds_left,
    set_pending_user, start_session, touch,
)
from .stash import stash_target

# The page of each step between the password and a full session.
PENDING_STEPS = {
    services.SECOND_FACTOR: "auth.second_factor",
    services.CONFIRM: "onboarding.confirm_pending",
    services.ENROL: "auth.enrol",
    "codes": "auth.recovery_codes",
}
WARN_SECONDS = 120


def safe_next(target: str | None) -> str | None:
    """Only a path on this site; never an open redirect."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def address_key() -> str:
    """Rate-limit key: the address typed in the form, whether or not it has an account."""
    return "address:" + normalise_email(request.form.get("email", ""))[:254]


def failed(response) -> bool:
    return response.status_code == 422


def redirected(response) -> bool:
    return response.status_code == 302


def pending_for(*purposes: str):
    """The person between two sign-in steps, when their next step is one of `purposes`."""
    user = pending_user()
    if user is None or session.get("pending_purpose") not in purposes:
        return None
    return user


def to_pending_step():
    """Send a pending person to their own next step (or to sign in)."""
    endpoint = PENDING_STEPS.get(pending_purpose() or "")
    if endpoint and endpoint in current_app.view_functions:
        return redirect(url_for(endpoint))
    return redirect(url_for("auth.sign_in"))


def finish_sign_in(user):
    """The last step passed: a new session, then the page the person was going to."""
    from ..onboarding.services import note_terms_at_sign_in

    next_url = stash_target() or session.pop("next_url", None)
    clear_pending_user()
    start_session(user)
    note_terms_at_sign_in(user)
    db.session.commit()
    return redirect(safe_next(next_url) or url_for("dashboard.index"))


@bp.route("/sign-in", methods=["GET", "POST"])
@public
@limiter.limit("30/minute;200/hour", methods=["POST"])
@limiter.limit("10 per 15 minutes", key_func=address_key, methods=["POST"], deduct_when=failed)
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = SignInForm()
    if request.method == "GET" and safe_next(request.args.get("next")):
        session["next_url"] = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        user, step = services.password_step(form.email.data, form.password.data)
        if user is not None:
            set_pending_user(user, step)
            db.session.commit()
            return redirect(url_for(PENDING_STEPS[step]))
        db.session.commit()  # the failure's audit event and count
        form.form_errors.append(_("The e-mail address or the password is not right. Check them and try again."))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("auth/sign_in.html", form=form), status


@bp.route("/sign-in/code", methods=["GET", "POST"])
@second_factor_pending
@limiter.limit("20/minute", methods=["POST"])
def second_factor():
    user = pending_for(services.SECOND_FACTOR)
    if user is None:
        return to_pending_step()
    form = SecondFactorForm()
    if form.validate_on_submit():
        outcome = services.second_factor_step(user, form.code.data)
        if outcome in ("totp", "recovery_code"):
            response = finish_sign_in(user)
            if outcome == "recovery_code":
                from .recovery import remaining

                flash(_("You signed in with a recovery code; it will not work again. Recovery codes left: %(count)s.",
                        count=remaining(user)), "warning")
            return response
        if outcome == "locked":
            clear_pending_user()
            db.session.commit()
            flash(_("For your security, your user account is locked for 15 minutes after too many wrong attempts. "
                    "We have sent you an e-mail."), "warning")
            return redirect(url_for("auth.sign_in"))
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


# --- time-outs: a warning the person can answer ------------------------------

def _session_state() -> dict:
    row = current_session() if current_user.is_authenticated else None
    if row is None:
        return {"signed_in": False, "remaining": 0, "extendable": False}
    remaining, extendable = seconds_left(row)
    return {"signed_in": True, "remaining": remaining, "extendable": extendable}


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _session_info():
    """For base.html: when the session ends, and where session.js asks about it."""
    def session_info() -> str:
        if not has_request_context() or not current_user.is_authenticated or current_session() is None:
            return ""
        return json.dumps({
            "remaining": seconds_left(current_session())[0], "warn": WARN_SECONDS,
            "status": url_for("auth.session_status"), "dialog": url_for("auth.session_warning"),
        }, separators=(",", ":"))

    return {"session_info": session_info}


@bp.get("/session/status")
@public
def session_status():
    """How long this session has left; asking does not count as activity."""
    return _no_store(jsonify(_session_state()))


@bp.get("/session/warning")
@public
def session_warning():
    """The dialog that session.js shows before the session ends (or once it has)."""
    state = _session_state()
    return _no_store(current_app.make_response(
        render_template("auth/_session_warning.html", state=state)
    ))


@bp.post("/session/extend")
@signed_in
def extend_session():
    row = current_session()
    touch(row)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return _no_store(jsonify(_session_state()))
    flash(_("You are still signed in."), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("dashboard.index"))
