"""The inbox: list with filters, details with "Back", read and unread, all read."""
from __future__ import annotations

from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from ..current import request_user
from ..access import signed_in
from ..chrome import fragment
from ..extensions import db
from ..htmx import announcement, is_partial, render_page_or_partial
from ..i18n import DateTimes, current_language
from ..links import id_link_parts
from ..templating import html_text
from . import bp
from .forms import InboxFilterForm
from .services import (
    INBOX_COLUMNS, KINDS, forget_badge, get_for_user, inbox_page, kind_label, mark_all_read, mark_read, mark_unread, partner_names,
)

FILTER_KEYS = ("date_from", "date_to", "kind", "state", "page")


def _filter_query(source) -> str:
    """The list's query string, rebuilt from the known keys only (it travels in links and forms)."""
    pairs = []
    for key in FILTER_KEYS:
        value = (source.get(key) or "").strip()[:40]
        if value and not (key == "state" and value == "all") and not (key == "page" and value == "1"):
            pairs.append((key, value))
    return urlencode(pairs)


def _list_url(query: str) -> str:
    return url_for("notifications.index") + (f"?{query}" if query else "")


class InboxRow(NamedTuple):
    """One line of the list, every text ready and HTML-escaped (notifications/_row.html prints
    the fields as they are, in this order)."""
    id: int
    read: bool
    urgent: bool
    subject: str  # HTML, as every text below (the ISO date has no character to escape)
    created_iso: str
    created_text: str
    kind_label: str
    partner: str | None
    detail_url: str
    action_url: str


def _id_url(endpoint: str) -> tuple[str, str]:
    """The URL of `endpoint` for a notification, as the text before and after the id."""
    return id_link_parts(endpoint, "notification_id")


def inbox_rows(items, query: str, partners: dict) -> list[InboxRow]:
    """The rows of the list: tuples in the order of `services.INBOX_COLUMNS` (rows of `inbox_page`,
    or `as_inbox_row(notification)`), with their texts and links built here once per request:
    URLs from prefixes, each kind's label translated once. Every text is HTML-escaped here
    (_row.html prints them as they are): each distinct value once, the others once per row."""
    detail_head, detail_tail = _id_url("notifications.detail")
    detail_head, detail_tail = html_text(detail_head), html_text(detail_tail + (f"?{query}" if query else ""))
    read_head, read_tail = map(html_text, _id_url("notifications.read"))
    unread_head, unread_tail = map(html_text, _id_url("notifications.unread"))
    labels: dict = {}
    names: dict = {None: None}
    dates = DateTimes("short")
    found = []
    for id_, created_at, kind, subject, urgent, partner_id, read_at in items:
        label = labels.get(kind)
        if label is None:
            label = labels[kind] = html_text(str(kind_label(kind)))
        partner = names.get(partner_id, False)
        if partner is False:
            partner = names[partner_id] = html_text(partners[partner_id]) if partner_id and partners.get(partner_id) else None
        read = read_at is not None
        found.append(InboxRow(
            id_, read, urgent, html_text(subject), created_at.isoformat(), html_text(dates(created_at)),
            label, partner, f"{detail_head}{id_}{detail_tail}",
            f"{unread_head}{id_}{unread_tail}" if read else f"{read_head}{id_}{read_tail}",
        ))
    return found


def as_inbox_row(notification) -> tuple:
    """A `Notification` as a row of `inbox_page` (for `inbox_rows`)."""
    return tuple(getattr(notification, name) for name in INBOX_COLUMNS)


_kind_choices: dict = {}


def _kind_choices_here() -> list:
    """The type filter's options in the request's language, translated once per language (and
    again when an area registers a kind)."""
    key = (current_language(), len(KINDS))
    choices = _kind_choices.get(key)
    if choices is None:
        choices = _kind_choices[key] = [("", _("All types"))] + [(code, str(label)) for code, (label, _s) in KINDS.items()]
    return choices


FORM_KEYS = ("date_from", "date_to", "kind", "state")
# "Every notification", what the form gives when the request has none of its fields.
_NO_FILTER = (None, None, None, "all")


def _filter_form(args) -> InboxFilterForm:
    form = InboxFilterForm(formdata=args)
    form.kind.choices = _kind_choices_here()
    return form


def _render_filter_fields(form: InboxFilterForm) -> Markup:
    return current_app.jinja_env.get_template("notifications/_filter_fields.html").module.filter_fields(form)


def _filter_fields(args, form: InboxFilterForm | None = None) -> Markup:
    """The filter's fields for `args` whose filters are valid (or absent).

    Without errors they depend only on the language, the kinds and the values given (the fields
    show them back), so they are a `chrome.fragment`: everyone's inbox without filters, and the
    next pages of a search, build no form and skip the fields' template. `form` is the validated
    form, None when the request has none of its fields.
    """
    def render() -> Markup:
        if form is not None:
            return _render_filter_fields(form)
        fresh = _filter_form(args)
        fresh.validate()
        return _render_filter_fields(fresh)

    return fragment("inbox_filter_fields", (len(KINDS), *(tuple(args.getlist(k)) for k in FORM_KEYS)), render)


def _inbox(args) -> tuple[dict, bool]:
    """The list's template context for the filters in `args`, and whether they were valid."""
    form, valid = None, True
    date_from, date_to, kind, state = _NO_FILTER
    if any(key in args for key in FORM_KEYS):
        form = _filter_form(args)
        valid = form.validate()
        fields = _filter_fields(args, form) if valid else _render_filter_fields(form)
        date_from, date_to, state = form.date_from.data, form.date_to.data, form.state.data
        kind = form.kind.data if form.kind.data in KINDS else None
    else:
        fields = _filter_fields(args)
    page = None
    if valid:
        number = args.get("page", 1, type=int) or 1
        page = inbox_page(request_user(), number, date_from=date_from, date_to=date_to, kind=kind, state=state)
    query = _filter_query(args)
    rows = inbox_rows(page.items, query, partner_names(n.partner_id for n in page.items)) if page else []
    return dict(
        form=form, filter_fields=fields, results=page, query=query, rows=rows,
        # the filters without the page number, for the pagination links
        filters={k: v for k, v in parse_qsl(query) if k != "page"},
    ), valid


@bp.get("/notifications")
@signed_in
def index():
    context, valid = _inbox(request.args)
    return render_page_or_partial("notifications/index.html", "notifications/_panel.html",
                                  status=200 if valid else 422, partial=is_partial(), **context)


@bp.get("/notifications/<int:notification_id>")
@signed_in
def detail(notification_id: int):
    notification = get_for_user(current_user, notification_id)
    if notification is None:
        abort(404)
    if mark_read(notification):  # opening it is reading it
        db.session.commit()
        forget_badge()
    query = _filter_query(request.args)
    return render_template(
        "notifications/detail.html", notification=notification, kind_label=kind_label,
        back_url=_list_url(query), query=query, partners=partner_names([notification.partner_id]),
    )


def _fragment_with_bell(body: str, message: str):
    """An htmx answer: the fragment, the bell out-of-band, and the announcement."""
    forget_badge()
    html = Markup(body) + Markup(render_template("notifications/_bell.html", oob=True)) + announcement(message)
    response = make_response(html)
    response.vary.add("HX-Request")
    return response


def _back_query() -> str:
    """The list's filters, sent back by the forms of the list and of the details page."""
    return _filter_query(MultiDict(parse_qsl(request.form.get("back", ""))))


def _after_change(notification, message: str):
    query = _back_query()
    if is_partial() and request.form.get("origin") == "list":
        row = render_template("notifications/_row.html", query=query,
                              rows=inbox_rows([as_inbox_row(notification)], query, partner_names([notification.partner_id])))
        return _fragment_with_bell(row, message)
    flash(message, "success")
    return redirect(_list_url(query))


def _own_or_404(notification_id: int):
    notification = get_for_user(current_user, notification_id)
    if notification is None:
        abort(404)
    return notification


@bp.post("/notifications/<int:notification_id>/read")
@signed_in
def read(notification_id: int):
    notification = _own_or_404(notification_id)
    mark_read(notification)
    db.session.commit()
    return _after_change(notification, _("Notification marked as read: %(subject)s", subject=notification.subject))


@bp.post("/notifications/<int:notification_id>/unread")
@signed_in
def unread(notification_id: int):
    notification = _own_or_404(notification_id)
    mark_unread(notification)
    db.session.commit()
    return _after_change(notification, _("Notification marked as unread: %(subject)s", subject=notification.subject))


@bp.post("/notifications/read-all")
@signed_in
def read_all():
    changed = mark_all_read(current_user)
    db.session.commit()
    message = _("All your notifications are marked as read.") if changed else _("You have no unread notifications.")
    query = _back_query()
    if not is_partial():
        flash(message, "success")
        return redirect(_list_url(query))
    context, _valid = _inbox(MultiDict(parse_qsl(query)))
    return _fragment_with_bell(render_template("notifications/_panel.html", partial=True, **context), message)
