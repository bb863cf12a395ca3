"""Sign-up, confirmation of the address, acceptance of the terms of use."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public, second_factor_pending, signed_in
from ..auth.forms import ButtonForm
from ..auth.sessions import clear_pending_user, set_pending_user
from ..auth.views import address_key, pending_for, redirected, safe_next, to_pending_step
from ..extensions import db, limiter
from ..public.services import current_terms
from . import bp, services
from .forms import AcceptTermsForm, SignUpForm


@bp.route("/sign-up", methods=["GET", "POST"])
@public
@limiter.limit("30/hour", methods=["POST"])
@limiter.limit("3/hour", key_func=address_key, methods=["POST"], deduct_when=redirected)
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    terms = current_terms()
    form = SignUpForm()
    if terms is None:
        del form.accept_terms  # nothing to accept yet
    if form.validate_on_submit():
        services.sign_up(form.email.data, form.first_name.data, form.last_name.data,
                         form.password.data, form.locale.data)
        db.session.commit()
        session["signup_email"] = form.email.data
        return redirect(url_for("onboarding.check_email"))
    status = 422 if form.errors else 200
    return render_template("onboarding/sign_up.html", form=form, terms=terms), status


@bp.get("/sign-up/check-your-email")
@public
def check_email():
    # The same page whether or not the address already had an account.
    return render_template("onboarding/check_email.html", email=session.get("signup_email"))


@bp.get("/confirm-email/<token>")
@public
def confirm_email(token: str):
    outcome, _user = services.confirm_email(token)
    if outcome == "invalid":
        return render_template("auth/link_invalid.html", kind="confirm"), 410
    db.session.commit()
    if session.get("pending_purpose") == "confirm":
        clear_pending_user()
    if outcome == "confirmed":
        flash(_("Thank you: your e-mail address is confirmed. Sign in to set up two-factor authentication."), "success")
    else:
        flash(_("Your e-mail address is already confirmed. Sign in to continue."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.get("/confirm-email")
@second_factor_pending
def confirm_pending():
    """After a right password for an address not confirmed yet: nothing else is possible."""
    user = pending_for("confirm")
    if user is None:
        return to_pending_step()
    if user.email_confirmed_at is not None:  # confirmed meanwhile, in another tab
        return _next_step_after_confirmation(user)
    return render_template("onboarding/confirm_pending.html", form=ButtonForm(), email=user.email)


def _next_step_after_confirmation(user):
    set_pending_user(user, "second_factor" if user.second_factor_enrolled else "enrol")
    db.session.commit()
    return to_pending_step()


def _pending_account_key() -> str:
    return f"confirm-resend:{session.get('pending_user_id')}"


@bp.post("/confirm-email/send-again")
@second_factor_pending
@limiter.limit("10/hour", methods=["POST"])
@limiter.limit("3/hour", key_func=_pending_account_key, methods=["POST"])
def resend_confirmation():
    user = pending_for("confirm")
    if user is None:
        return to_pending_step()
    form = ButtonForm()
    if form.validate_on_submit():
        if user.email_confirmed_at is not None:
            return _next_step_after_confirmation(user)
        services.resend_confirmation(user)
        db.session.commit()
        flash(_("We have sent a new link to %(email)s. The previous link no longer works.", email=user.email), "success")
    return redirect(url_for("onboarding.confirm_pending"))


@bp.route("/terms-of-use/accept", methods=["GET", "POST"])
@signed_in
def accept_terms():
    next_url = safe_next(request.args.get("next")) or url_for("dashboard.index")
    terms = services.terms_to_accept(current_user)
    if terms is None:
        session.pop(services.TERMS_PENDING, None)
        return redirect(next_url)
    form = AcceptTermsForm()
    if form.validate_on_submit():
        services.accept_terms(current_user, terms)
        db.session.commit()
        return redirect(next_url)
    status = 422 if form.errors else 200
    return render_template("onboarding/accept_terms.html", form=form, terms=terms, next_url=next_url), status
