"""Back office: agency notices in three languages, previewed, then sent to an audience.

Sending only queues the notice; the worker (`flask tp send-mail`) creates the
notifications and e-mails in batches (notifications/worker.py).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from ..access import StaffPermission, staff
from ..extensions import db
from ..notifications.models import AgencyNotice
from ..notifications.notices import (
    AUDIENCE_LABELS, LANGUAGES, audience_select, audience_size, available_audiences, delivery_counts, notices_page,
    queue_notice,
)
from ..roles.models import Role
from . import bp, register_menu

LANGUAGE_LABELS = {"fr": _l("French"), "en": _l("English"), "de": _l("German")}
STATUS_LABELS = {"queued": _l("Waiting to be sent"), "sending": _l("Sending"), "done": _l("Sent")}


def _subject(label, missing):
    return StringField(label, validators=[
        DataRequired(message=missing),
        Length(max=200, message=_l("The subject must be 200 characters or fewer in each language")),
    ])


def _body(label, missing):
    return TextAreaField(label, validators=[
        DataRequired(message=missing),
        Length(max=10_000, message=_l("The text must be 10,000 characters or fewer in each language")),
    ])


class NoticeForm(FlaskForm):
    subject_fr = _subject(_l("Subject in French"), _l("Enter the subject in French"))
    body_fr = _body(_l("Text in French"), _l("Enter the text in French"))
    subject_en = _subject(_l("Subject in English"), _l("Enter the subject in English"))
    body_en = _body(_l("Text in English"), _l("Enter the text in English"))
    subject_de = _subject(_l("Subject in German"), _l("Enter the subject in German"))
    body_de = _body(_l("Text in German"), _l("Enter the text in German"))
    audience = RadioField(_l("Who receives the notice"), validate_choice=False,
                          validators=[InputRequired(message=_l("Choose who receives the notice"))])
    role = SelectField(_l("Business partner role"), validate_choice=False)
    partner = StringField(_l("Business partner"), validators=[Length(max=64, message=_l("Enter a shorter business partner number"))])
    urgent = BooleanField(_l("Urgent notification: e-mail it to everyone, even to people who switched e-mails for notifications off"))

    def setup(self):
        audiences = available_audiences()
        self.audience.choices = [(name, str(AUDIENCE_LABELS[name])) for name in audiences]
        if "role" in audiences:
            roles = db.session.execute(select(Role).where(Role.active.is_(True)).order_by(Role.code)).scalars()
            self.role.choices = [("", _("Choose a business partner role"))] + [(r.code, r.localized("name")) for r in roles]
        else:
            self.role.choices = []
        return self

    def audience_value(self) -> str | None:
        if self.audience.data == "role":
            return self.role.data or None
        if self.audience.data == "partner":
            return (self.partner.data or "").strip() or None
        return None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.recipients = None
        if not self.audience.errors and self.audience.data not in {name for name, _label in self.audience.choices}:
            self.audience.errors.append(_("Choose who receives the notice"))
        if self.audience.errors:
            return False
        value = self.audience_value()
        if self.audience.data == "role" and value not in {code for code, _label in self.role.choices if code}:
            self.role.errors.append(_("Choose the business partner role"))
            return False
        if self.audience.data == "partner" and not value:
            self.partner.errors.append(_("Enter the business partner"))
            return False
        stmt = audience_select(self.audience.data, value)
        if stmt is None:
            self.partner.errors.append(_("No business partner was found with this number"))
            return False
        self.recipients = stmt
        return ok


def _audience_text(notice: AgencyNotice) -> str:
    label = str(AUDIENCE_LABELS.get(notice.audience, notice.audience))
    if notice.audience == "role" and notice.audience_value:
        role = db.session.execute(select(Role).where(Role.code == notice.audience_value)).scalar_one_or_none()
        return f"{label}: {role.localized('name') if role else notice.audience_value}"
    if notice.audience_value:
        return f"{label}: {notice.audience_value}"
    return label


@bp.get("/notices")
@staff(StaffPermission.CONTENT)
def notices():
    page = notices_page(request.args.get("page", 1, type=int))
    counts = delivery_counts([n.id for n in page.items])
    return render_template("staff/notices.html", page=page, counts=counts, audience_labels=AUDIENCE_LABELS,
                           status_labels=STATUS_LABELS)


@bp.route("/notices/new", methods=["GET", "POST"])
@staff(StaffPermission.CONTENT)
def notices_new():
    form = NoticeForm().setup()
    preview = None
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in
                ("subject_fr", "body_fr", "subject_en", "body_en", "subject_de", "body_de", "audience", "urgent")}
        data["audience_value"] = form.audience_value()
        if request.form.get("action") == "send":
            notice = queue_notice(current_user, data)
            db.session.commit()
            flash(_("The notice is being sent. The count of people who received it grows as it goes out."), "success")
            return redirect(url_for("staff.notices_detail", notice_id=notice.id))
        preview = {
            "languages": [(code, LANGUAGE_LABELS[code], " ".join(data[f"subject_{code}"].split()), data[f"body_{code}"])
                          for code in LANGUAGES],
            "recipients": audience_size(form.recipients),
        }
    status = 422 if form.errors else 200
    return render_template("staff/notices_new.html", form=form, preview=preview), status


@bp.get("/notices/<int:notice_id>")
@staff(StaffPermission.CONTENT)
def notices_detail(notice_id: int):
    notice = db.session.get(AgencyNotice, notice_id)
    if notice is None:
        abort(404)
    received, read = delivery_counts([notice.id])[notice.id]
    return render_template("staff/notices_detail.html", notice=notice, received=received, read=read,
                           audience=_audience_text(notice), status_labels=STATUS_LABELS,
                           languages=[(code, LANGUAGE_LABELS[code]) for code in LANGUAGES])


register_menu("staff.notices", _l("Agency notices"), StaffPermission.CONTENT)
