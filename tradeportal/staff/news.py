"""Back office: news in three languages, with a publication date (a future date schedules it)."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..access import StaffPermission, staff
from ..audit import record
from ..db import utcnow
from ..extensions import db
from ..notifications.forms import DateInput
from ..pagination import paginate
from ..public.models import NewsItem
from . import bp, register_menu

LANGUAGES = ("fr", "en", "de")


def _title(label, missing):
    return StringField(label, validators=[
        DataRequired(message=missing),
        Length(max=200, message=_l("The title must be 200 characters or fewer in each language")),
    ])


def _body(label, missing):
    return TextAreaField(label, validators=[
        DataRequired(message=missing),
        Length(max=20_000, message=_l("The text must be 20,000 characters or fewer in each language")),
    ])


class NewsForm(FlaskForm):
    title_fr = _title(_l("Title in French"), _l("Enter the title in French"))
    body_fr = _body(_l("Text in French"), _l("Enter the text in French"))
    title_en = _title(_l("Title in English"), _l("Enter the title in English"))
    body_en = _body(_l("Text in English"), _l("Enter the text in English"))
    title_de = _title(_l("Title in German"), _l("Enter the title in German"))
    body_de = _body(_l("Text in German"), _l("Enter the text in German"))
    published_on = DateInput(_l("Publication date"), _l("Enter the publication date as a date, for example 2026-03-31"),
                             validators=[DataRequired(message=_l("Enter the publication date"))])


# --- services -------------------------------------------------------------------

def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def publication_time(day: date) -> datetime:
    """Midnight of `day` in the portal's time zone: the item appears on that day."""
    return datetime.combine(day, time.min, tzinfo=_zone()).astimezone(timezone.utc)


def local_day(moment: datetime) -> date:
    return moment.astimezone(_zone()).date()


def _apply(item: NewsItem, data: dict) -> None:
    for code in LANGUAGES:
        setattr(item, f"title_{code}", " ".join(data[f"title_{code}"].split()))
        setattr(item, f"body_{code}", data[f"body_{code}"].strip())
    # An unchanged date keeps the exact moment (demo items and earlier ones keep their order).
    if item.published_at is None or local_day(item.published_at) != data["published_on"]:
        item.published_at = publication_time(data["published_on"])


def create_news(actor, data: dict) -> NewsItem:
    """A news item, public from its publication date on. Audited."""
    item = NewsItem(created_by_id=actor.id)
    item.published_at = None
    _apply(item, data)
    db.session.add(item)
    db.session.flush()
    record("news.created", actor=actor, object_type="news_item", object_id=item.id,
           details={"published_at": item.published_at.isoformat()})
    return item


def update_news(actor, item: NewsItem, data: dict) -> None:
    _apply(item, data)
    db.session.flush()
    record("news.updated", actor=actor, object_type="news_item", object_id=item.id,
           details={"published_at": item.published_at.isoformat()})


def delete_news(actor, item: NewsItem) -> None:
    record("news.deleted", actor=actor, object_type="news_item", object_id=item.id, details={"title": item.title_en})
    db.session.delete(item)
    db.session.flush()


def _item_or_404(news_id: int) -> NewsItem:
    item = db.session.get(NewsItem, news_id)
    if item is None:
        abort(404)
    return item


def _form_data(form: NewsForm) -> dict:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


# --- views ----------------------------------------------------------------------

@bp.get("/news")
@staff(StaffPermission.CONTENT)
def news():
    stmt = select(NewsItem).order_by(NewsItem.published_at.desc(), NewsItem.id.desc())
    page = paginate(stmt, request.args.get("page", 1, type=int))
    return render_template("staff/news.html", page=page, now=utcnow())


@bp.route("/news/new", methods=["GET", "POST"])
@staff(StaffPermission.CONTENT)
def news_new():
    form = NewsForm()
    if request.method == "GET":
        form.published_on.data = local_day(utcnow())
    if form.validate_on_submit():
        item = create_news(current_user, _form_data(form))
        db.session.commit()
        if item.published_at > utcnow():
            flash(_("The news item is saved. It will appear on the home page on its publication date."), "success")
        else:
            flash(_("The news item is published on the home page."), "success")
        return redirect(url_for("staff.news"))
    status = 422 if form.errors else 200
    return render_template("staff/news_form.html", form=form, item=None), status


@bp.route("/news/<int:news_id>/edit", methods=["GET", "POST"])
@staff(StaffPermission.CONTENT)
def news_edit(news_id: int):
    item = _item_or_404(news_id)
    form = NewsForm(obj=item)
    if request.method == "GET":
        form.published_on.data = local_day(item.published_at)
    if form.validate_on_submit():
        update_news(current_user, item, _form_data(form))
        db.session.commit()
        flash(_("The news item is saved."), "success")
        return redirect(url_for("staff.news"))
    status = 422 if form.errors else 200
    return render_template("staff/news_form.html", form=form, item=item), status


@bp.route("/news/<int:news_id>/delete", methods=["GET", "POST"])
@staff(StaffPermission.CONTENT)
def news_delete(news_id: int):
    item = _item_or_404(news_id)
    form = FlaskForm()
    if form.validate_on_submit():
        delete_news(current_user, item)
        db.session.commit()
        flash(_("The news item is deleted."), "success")
        return redirect(url_for("staff.news"))
    return render_template("staff/news_delete.html", item=item, form=form), 422 if form.errors else 200


register_menu("staff.news", _l("News"), StaffPermission.CONTENT)
