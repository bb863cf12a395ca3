"""The mandatory second factor: enrol an authenticator app, then save ten recovery codes.

Reached after the password step by a person with no authenticator yet. The
candidate secret is kept in the account's row (not in the signed, readable session
cookie) until a code proves the app has it. The
recovery codes are shown in the one answer that creates them, never stored in
clear (not in the session cookie either): the download posts them back.
"""
from __future__ import annotations

import segno
from flask import abort, current_app, make_response, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select, update

from ..access import second_factor_pending
from ..account.models import User
from ..db import utcnow
from ..extensions import db, limiter
from . import bp, recovery, services, totp
from .forms import ButtonForm, EnrolForm
from .models import RecoveryCode
from .sessions import set_pending_user
from .views import finish_sign_in, pending_for, to_pending_step


def _candidate_secret(user) -> str:
    # Kept per account, so that a person who scanned it and signs in again keeps the same one.
    if user.totp_candidate_secret:
        return user.totp_candidate_secret
    secret = totp.new_secret()
    # Only while no authenticator is enrolled: a second tab cannot replace a secret already kept.
    db.session.execute(
        update(User).where(User.id == user.id, User.totp_enrolled_at.is_(None),
                           User.totp_candidate_secret.is_(None))
        .values(totp_candidate_secret=secret).execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(user, ["totp_candidate_secret"])
    return user.totp_candidate_secret or secret


def qr_svg(uri: str) -> Markup:
    """The QR code as inline SVG: attributes only (the CSP forbids style attributes)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", svgclass="qr-code", lineclass=None,
    )
    label = escape(_("QR code to add this portal to your authenticator app"))
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" focusable="false" ', 1))


@bp.route("/sign-in/set-up", methods=["GET", "POST"])
@second_factor_pending
@limiter.limit("20/minute", methods=["POST"])
def enrol():
    user = pending_for(services.ENROL)
    if user is None:
        return to_pending_step()
    secret = _candidate_secret(user)
    form = EnrolForm()
    if form.validate_on_submit():
        codes = services.complete_enrolment(user, secret, form.code.data)
        if codes is not None:
            set_pending_user(user, "codes")
            db.session.commit()
            # Shown once, in this answer only (never in a redirect, never in the session, never cached).
            response = make_response(render_template("auth/recovery_codes.html", form=ButtonForm(), codes=codes))
            response.headers["Cache-Control"] = "no-store"
            return response
        form.code.errors.append(_("The code is not right. Check that you added the key shown on this page, "
                                  "then enter the code the app shows now."))
    uri = totp.provisioning_uri(secret, user.email, current_app.config["AGENCY_NAME"])
    status = 422 if form.errors else 200
    return render_template("auth/enrol.html", form=form, qr=qr_svg(uri), secret=totp.grouped(secret),
                           otpauth_uri=uri), status


@bp.route("/sign-in/recovery-codes", methods=["GET", "POST"])
@second_factor_pending
def recovery_codes():
    user = pending_for("codes")
    if user is None:
        return to_pending_step()
    form = ButtonForm()
    if form.validate_on_submit():
        services.enrolment_signed_in(user)
        return finish_sign_in(user)
    # Reached again (reload, back button): the codes were shown once and are not kept in clear.
    return render_template("auth/recovery_codes.html", form=form, codes=[])


def _posted_codes(user) -> list[str]:
    """The codes the page posts back, when each is an unused recovery code of `user`."""
    posted = [recovery.normalise(c) for c in request.form.getlist("code")[:recovery.COUNT]]
    if not posted or not all(recovery.looks_like_recovery_code(c) for c in posted):
        return []
    kept = set(db.session.execute(
        select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).scalars())
    if not all(recovery.code_hash(c) in kept for c in posted):
        return []
    return ["-".join(c[i:i + 4] for i in range(0, recovery.LENGTH, 4)) for c in posted]


@bp.post("/sign-in/recovery-codes/download")
@second_factor_pending
def recovery_codes_download():
    """The codes just shown, as a text file: the page posts them back, nothing is kept."""
    user = pending_for("codes")
    if user is None:
        return to_pending_step()
    if not ButtonForm().validate_on_submit():
        abort(400)
    codes = _posted_codes(user)
    if not codes:
        abort(400)
    body = render_template("auth/recovery_codes.txt", codes=codes, email=user.email,
                           date=format_date(utcnow(), "long"))
    response = make_response(body)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="recovery-codes.txt"'
    response.headers["Cache-Control"] = "no-store"
    return response
