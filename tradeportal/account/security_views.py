"""Security page: authenticator, recovery codes, sessions, activity history."""
from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import signed_in
from ..auth import totp
from ..auth.sessions import current_session
from ..extensions import db, limiter
from . import activity, bp, services
from . import security as sec
from .forms import CodeForm, EmptyForm, PasswordConfirmForm
from .views import SENSITIVE_LIMIT, forget_this_browser


@bp.get("/account/security")
@signed_in
def security():
    user = current_user
    return render_template(
        "account/security.html",
        unused_codes=sec.unused_recovery_codes(user),
        session_count=len(sec.live_sessions(user)),
    )


@bp.route("/account/security/authenticator", methods=["GET", "POST"])
@signed_in
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def replace_authenticator():
    """Step 1: the password again. Step 2 (same URL, `step=confirm`): scan and give a code."""
    user = current_user
    if request.method == "POST" and request.form.get("step") == "confirm":
        form = CodeForm()
        secret = sec.pending_secret()
        if secret is None:
            flash(_("Setting up the new app took too long. Start again."), "warning")
            return redirect(url_for("account.replace_authenticator"))
        if form.validate_on_submit():
            if sec.confirm_reenrolment(user, form.code.data):
                ended = services.authenticator_replaced(user)
                db.session.commit()
                message = _("Your new authenticator app is set up. The previous one no longer works.")
                if ended:
                    message += " " + _("Your other sessions were signed out.")
                flash(message, "success")
                return redirect(url_for("account.security"))
            form.code.errors.append(_("The code is not right. Enter the current code shown by your new authenticator app"))
        form.code.data = ""
        return _render_enrolment(form, secret), 422
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        if services.password_matches(user, form.password.data):
            sec.start_reenrolment()
            return _render_enrolment(CodeForm(formdata=None), sec.pending_secret())
        form.password.errors.append(_("The password is not right. Enter your current password"))
        db.session.commit()
    form.password.data = ""
    return render_template("account/authenticator.html", form=form), 422 if form.errors else 200


def _render_enrolment(form, secret):
    uri = totp.provisioning_uri(secret, current_user.email, current_app.config["AGENCY_NAME"])
    return render_template("account/authenticator_scan.html", form=form, qr=sec.qr_svg(uri),
                           secret=sec.group_secret(secret))


@bp.route("/account/security/recovery-codes", methods=["GET", "POST"])
@signed_in
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def recovery_codes():
    user = current_user
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        if services.password_matches(user, form.password.data):
            codes = services.regenerate_recovery_codes(user)
            db.session.commit()
            # Shown once, in this answer only (never in a redirect, never stored in clear).
            return render_template("account/recovery_codes_new.html", codes=codes, form=EmptyForm())
        form.password.errors.append(_("The password is not right. Enter your current password"))
        db.session.commit()
    form.password.data = ""
    return render_template("account/recovery_codes.html", form=form,
                           unused_codes=sec.unused_recovery_codes(user)), 422 if form.errors else 200


@bp.post("/account/security/recovery-codes/download")
@signed_in
def recovery_codes_download():
    """The codes just shown, as a text file: the page posts them back, nothing is kept."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    codes = [sec.format_recovery_code(c) for c in request.form.getlist("code")[:sec.RECOVERY_CODE_COUNT]]
    if not codes or not all(sec.is_recovery_code_shaped(c) for c in codes):
        abort(400)
    body = render_template("account/recovery_codes.txt", codes=codes)
    response = make_response(body)
    response.mimetype = "text/plain"
    response.headers["Content-Disposition"] = 'attachment; filename="recovery-codes.txt"'
    return response


@bp.get("/account/sessions")
@signed_in
def sessions():
    rows = sec.live_sessions(current_user)
    this = current_session()
    return render_template("account/sessions.html", rows=rows, this_id=this.id if this else None,
                           describe=sec.describe_device, form=EmptyForm())


@bp.post("/account/sessions/<int:session_id>/end")
@signed_in
def end_session(session_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = current_user
    if not sec.end_one_session(user, session_id):
        abort(404)
    services.session_ended(user, session_id)
    this = current_session()
    if this is not None and this.id == session_id:
        forget_this_browser()
        db.session.commit()
        flash(_("You have signed out."), "success")
        return redirect(url_for("auth.sign_in"))
    db.session.commit()
    flash(_("The session was signed out."), "success")
    return redirect(url_for("account.sessions"))


@bp.post("/account/sessions/end-all")
@signed_in
def end_all_sessions():
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.sign_out_everywhere(current_user)
    forget_this_browser()
    db.session.commit()
    flash(_("You were signed out everywhere, on this device too. Sign in again to continue."), "success")
    return redirect(url_for("auth.sign_in"))


@bp.get("/account/activity")
@signed_in
def activity_history():
    page = activity.history_page(current_user, request.args.get("page", 1, type=int))
    return render_template("account/activity.html", page=page, label=activity.action_label)
