"""Profile, e-mail and password changes, deleting the account."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public, signed_in
from ..auth.passwords import verify_password
from ..auth.sessions import current_session, end_session
from ..current import request_user
from ..extensions import db, limiter
from . import bp, services
from .forms import DeleteAccountForm, EmailChangeForm, EmptyForm, PasswordChangeForm, ProfileForm
from .models import normalise_email
from .validation import display_phone, validate_new_password

SENSITIVE_LIMIT = "5/minute;30/hour"


def forget_this_browser() -> None:
    """Empty the cookie (keeping the language) after this session was ended on the server."""
    row = current_session()
    if row is not None and row in db.session:
        db.session.expunge(row)  # its row is ended or gone already; never write it back
    end_session()


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def profile():
    user = request_user()
    form = ProfileForm()
    if request.method == "GET":
        form.first_name.data, form.last_name.data = user.first_name, user.last_name
        form.phone.data, form.phone_extension.data = user.phone, user.phone_extension
        form.locale.data = user.locale
        form.email_notifications.data = "on" if user.email_notifications else "off"
    if form.validate_on_submit():
        services.update_profile(
            user,
            first_name=form.first_name.data.strip(),
            last_name=form.last_name.data.strip(),
            phone=display_phone(form.phone.data) or None,
            phone_extension=(form.phone_extension.data or "").strip() or None,
            locale=form.locale.data,
            email_notifications=form.email_notifications.data == "on",
        )
        db.session.commit()
        with force_locale(user.locale):  # the message in the language just chosen
            flash(_("Your profile was saved."), "success")
        return redirect(url_for("account.profile"))
    return render_template("account/profile.html", form=form), 422 if form.errors else 200


@bp.route("/account/email", methods=["GET", "POST"])
@signed_in
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def change_email():
    user = request_user()
    form = EmailChangeForm()
    if form.validate_on_submit():
        if normalise_email(form.email.data) == user.email_normalized:
            form.email.errors.append(_("This is already your e-mail address. Enter a different one"))
        elif not services.password_matches(user, form.password.data):
            form.password.errors.append(_("The password is not right. Enter your current password"))
        else:
            services.request_email_change(user, form.email.data)
            db.session.commit()
            flash(_("We sent a link to %(email)s. Follow it within 24 hours to confirm your new address. Until then your address stays %(current)s.",
                    email=form.email.data.strip(), current=user.email), "success")
            return redirect(url_for("account.profile"))
        db.session.commit()  # the audit event of a wrong password
    form.password.data = ""
    return render_template("account/email.html", form=form), 422 if form.errors else 200


@bp.route("/account/email/confirm/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20/minute", methods=["POST"])
def confirm_email_change(token: str):
    # The link only shows a button: mail scanners that open links must not change the address.
    form = EmptyForm()
    if request.method == "GET":
        pending = services.pending_email_change(token)
        status = 200 if pending else 404
        return render_template("account/email_confirm.html", form=form, pending=pending, problem=None if pending else "invalid"), status
    if not form.validate_on_submit():
        abort(400)
    user, problem = services.confirm_email_change(token)
    if problem:
        db.session.commit()  # the link is spent either way
        return render_template("account/email_confirm.html", form=form, pending=None, problem=problem), 409 if problem == "taken" else 404
    db.session.commit()
    flash(_("Your e-mail address is now %(email)s.", email=user.email), "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("account.profile"))
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def change_password():
    user = request_user()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        problem = validate_new_password(form.new_password.data, user.email)
        if not services.password_matches(user, form.password.data):
            form.password.errors.append(_("The password is not right. Enter your current password"))
        elif problem:
            form.new_password.errors.append(problem)
        elif verify_password(user.password_hash, form.new_password.data):
            form.new_password.errors.append(_("Your new password must be different from your current password"))
        else:
            ended = services.change_password(user, form.new_password.data)
            db.session.commit()
            message = _("Your password was changed.")
            if ended:
                message += " " + _("Your other sessions were signed out.")
            flash(message, "success")
            return redirect(url_for("account.security"))
        db.session.commit()
    form.password.data = form.new_password.data = ""
    return render_template("account/password.html", form=form), 422 if form.errors else 200


@bp.route("/account/delete", methods=["GET", "POST"])
@signed_in
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def delete():
    user = request_user()
    reasons = services.deletion_blocked_reasons(user)
    form = DeleteAccountForm()
    if reasons:
        status = 409 if request.method == "POST" else 200
        return render_template("account/delete.html", form=None, reasons=reasons), status
    if form.validate_on_submit():
        if services.password_matches(user, form.password.data):
            services.delete_account(user)
            forget_this_browser()
            db.session.commit()
            return redirect(url_for("account.deleted"))
        form.password.errors.append(_("The password is not right. Enter your current password"))
        db.session.commit()
    form.password.data = ""
    return render_template("account/delete.html", form=form, reasons=[]), 422 if form.errors else 200


@bp.get("/account/deleted")
@public
def deleted():
    return render_template("account/deleted.html")
