"""Back office: publish a new version of the terms of use, in French, English and German.

A published version is never changed; a correction is a new version. People
accept the newest version at their next sign-in (the onboarding area's terms gate).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..access import StaffPermission, staff
from ..audit import record
from ..db import utcnow
from ..extensions import db
from ..pagination import paginate
from ..public.models import TermsVersion
from . import bp, register_menu

MAX_TERMS = 50_000


def _body(label, missing):
    return TextAreaField(label, validators=[
        DataRequired(message=missing),
        Length(max=MAX_TERMS, message=_l("The terms of use must be 50,000 characters or fewer in each language")),
    ])


class TermsForm(FlaskForm):
    body_fr = _body(_l("Terms of use in French"), _l("Enter the terms of use in French"))
    body_en = _body(_l("Terms of use in English"), _l("Enter the terms of use in English"))
    body_de = _body(_l("Terms of use in German"), _l("Enter the terms of use in German"))


def latest_terms() -> TermsVersion | None:
    return db.session.execute(select(TermsVersion).order_by(TermsVersion.version.desc()).limit(1)).scalar_one_or_none()


def publish_terms(actor, body_fr: str, body_en: str, body_de: str) -> TermsVersion:
    """A new version numbered after the newest one, in force now; audited."""
    number = (db.session.execute(select(func.max(TermsVersion.version))).scalar_one_or_none() or 0) + 1
    terms = TermsVersion(version=number, published_at=utcnow(), body_fr=body_fr.strip(), body_en=body_en.strip(),
                         body_de=body_de.strip(), created_by_id=actor.id)
    db.session.add(terms)
    db.session.flush()  # the unique version number refuses a parallel publication
    record("terms.published", actor=actor, object_type="terms_version", object_id=terms.id, details={"version": number})
    return terms


@bp.get("/terms")
@staff(StaffPermission.CONTENT)
def terms():
    page = paginate(select(TermsVersion).order_by(TermsVersion.version.desc()), request.args.get("page", 1, type=int))
    return render_template("staff/terms.html", page=page)


@bp.route("/terms/new", methods=["GET", "POST"])
@staff(StaffPermission.CONTENT)
def terms_new():
    form = TermsForm()
    if request.method == "GET":
        current = latest_terms()
        if current is not None:  # start from the text in force
            form.body_fr.data, form.body_en.data, form.body_de.data = current.body_fr, current.body_en, current.body_de
    preview = None
    if form.validate_on_submit():
        if request.form.get("action") == "publish":
            try:
                version = publish_terms(current_user, form.body_fr.data, form.body_en.data, form.body_de.data)
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                form.form_errors.append(_("Another version was published at the same moment. Check the list of versions, then publish again."))
            else:
                flash(_("Version %(version)s of the terms of use is published. People accept it at their next sign-in.", version=version.version), "success")
                return redirect(url_for("staff.terms"))
        else:
            preview = {code: getattr(form, f"body_{code}").data for code in ("fr", "en", "de")}
    status = 422 if form.errors or form.form_errors else 200
    return render_template("staff/terms_new.html", form=form, preview=preview), status


@bp.get("/terms/<int:version>")
@staff(StaffPermission.CONTENT)
def terms_version(version: int):
    item = db.session.execute(select(TermsVersion).where(TermsVersion.version == version)).scalar_one_or_none()
    if item is None:
        abort(404)
    return render_template("staff/terms_version.html", item=item)


register_menu("staff.terms", _l("Terms of use"), StaffPermission.CONTENT)
