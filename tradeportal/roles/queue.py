"""The staff review queue of role requests (GET /staff/role-requests), cheap to show.

Issue #9: the page used to load 20 requests as ORM entities with their partner, role and
requester (about 3 M instructions), build its statement anew on every request, and call four
macros, a date filter, `url_for` and gettext on every row from the template. Here:

- one Core statement per (list, search or not), built once at import, with the page's LIMIT and
  OFFSET and the search key as bound parameters; it runs on the session's connection and
  returns plain column rows (the same single query as before);
- the labels and status tags are translated once per request (only those the page shows),
  the link of a row is a prefix built once with the id appended, dates by i18n.DateTimes;
- the table rows are one piece of HTML made here from escaped values (`rows_html`), which the
  template prints once.

The HTML is the one the macros made (`tests/test_perf_staff_queue.py` compares them).
"""
from __future__ import annotations

from flask import current_app, request
from markupsafe import Markup, escape
from sqlalchemy import bindparam, or_, select

from .. import reads
from ..account.models import User
from ..i18n import DateTimes, chosen_babel_locale, current_language
from ..links import id_link_parts
from ..pagination import PAGE_SIZE, Page, page_of, window
from ..partners.models import Partner
from .models import GrantStatus, Role, RoleRequest

FILTERS = ("pending", "active", "closed")

_rr = RoleRequest.__table__.c
_p = Partner.__table__.c
_role = Role.__table__.c
_user = User.__table__.c


def _build(status: str, searching: bool):
    stmt = (
        select(_rr.id, _rr.status, _rr.requested_at,
               _p.name, _p.identifier, _p.status, _p.suspended_at,
               _p.address_line1, _p.address_line2, _p.postcode, _p.town, _p.country,
               _role.name_fr, _role.name_en, _role.name_de,
               _user.id, _user.first_name, _user.last_name)
        .select_from(RoleRequest.__table__)
        .join(Partner.__table__, _p.id == _rr.partner_id)
        .join(Role.__table__, _role.id == _rr.role_id)
        .outerjoin(User.__table__, _user.id == _rr.requested_by_id)
    )
    if status == "pending":
        stmt = stmt.where(_rr.status == GrantStatus.PENDING).order_by(_rr.requested_at, _rr.id)
    elif status == "active":
        stmt = stmt.where(_rr.status == GrantStatus.ACTIVE).order_by(_p.name_search, _rr.id)
    else:
        # OR of equalities rather than IN: an IN list is re-rendered on each run (reads.rows refuses it).
        closed = (GrantStatus.REJECTED, GrantStatus.REVOKED, GrantStatus.WITHDRAWN)
        stmt = (stmt.where(or_(*(_rr.status == status for status in closed)))
                .order_by(_rr.decided_at.desc(), _rr.id.desc()))
    if searching:
        # What `startswith(key, autoescape=True)` renders, with the key escaped by `_like_prefix`.
        stmt = stmt.where(or_(_p.name_search.startswith(bindparam("key"), escape="/"),
                              _p.identifier == bindparam("identifier")))
    return stmt.limit(bindparam("limit")).offset(bindparam("offset"))


STATEMENTS = {(status, searching): _build(status, searching) for status in FILTERS for searching in (False, True)}


def _like_prefix(key: str) -> str:
    """The key as SQLAlchemy's autoescape passes it to LIKE (escape character "/")."""
    return key.replace("/", "//").replace("%", "/%").replace("_", "/_")


def fetch(session, status: str, q: str, number: int, size: int = PAGE_SIZE) -> Page:
    """One page of the list (its items are the column rows)."""
    number, params = window(number, size)
    if q:
        params["key"] = _like_prefix(" ".join(q.lower().split()))
        params["identifier"] = q.strip()
    return page_of(reads.rows(STATEMENTS[status, bool(q)], params), number, size)


class _Labels(dict):
    """Translations of this request, looked up on first use (a page shows few of them).

    As `_()` in a template, the catalogue's text is printed as it is (trusted, not escaped).
    """

    def __init__(self, translations):
        super().__init__()
        self._translations = translations

    def __missing__(self, msgid: str) -> str:
        text = self[msgid] = str(self._translations.ugettext(msgid))
        return text


def N_(msgid: str) -> str:
    """Marks a message for `pybabel extract` (one of its default keywords); `_Labels` translates it."""
    return msgid


# The tags of partners/_macros.html status_tag and roles/_macros.html status_tag, with the same
# classes, texts and trailing newline (the last branch of each macro has none).
_PARTNER_TAGS = {
    "active": ("active", N_("Active"), "\n"),
    "letter_pending": ("pending", N_("Letter pending"), "\n"),
    "awaiting_check": ("pending", N_("Awaiting the agency's check"), "\n"),
    "suspended": ("rejected", N_("Suspended"), "\n"),
}
_PARTNER_OTHER_TAG = ("rejected", N_("Rejected"), "")
_REQUEST_TAGS = {
    "pending": ("pending", N_("Pending"), "\n"),
    "active": ("active", N_("Active"), "\n"),
    "rejected": ("rejected", N_("Rejected"), "\n"),
    "revoked": ("revoked", N_("Revoked"), "\n"),
}
_REQUEST_OTHER_TAG = ("neutral", N_("Withdrawn"), "")


class _Tags(dict):
    """The tag of a status, made on first use from the translated label."""

    def __init__(self, labels: _Labels, table: dict, other: tuple):
        super().__init__()
        self._labels, self._table, self._other = labels, table, other

    def __missing__(self, status: str) -> str:
        kind, msgid, end = self._table.get(status, self._other)
        tag = self[status] = f'<strong class="tag tag--{kind}">{self._labels[msgid]}</strong>{end}'
        return tag


def _html(value) -> str:
    """The escaped text of a value, as a template prints it."""
    return str(escape(str(value)))


def _html_all(values: list) -> list[str]:
    """`_html` of each value, in one pass over them all (a page escapes about 120 values)."""
    try:
        parts = _html("\0".join(values)).split("\0")
    except TypeError:  # a value that is not text
        parts = []
    if len(parts) != len(values):  # or one holding the separator
        parts = [_html(value) for value in values]
    return parts


def _kept_for_the_locale():
    """(labels, partner tags, request tags, link prefix) of this request's locale and mount point.

    Kept by the app, like the catalogues themselves (flask_babel loads them once): the labels
    and tags fill in as pages need them, instead of being looked up again on every request.
    """
    import flask_babel

    locale = chosen_babel_locale() or flask_babel.get_locale()
    key = (None if locale is None else (locale.language, locale.territory, locale.script), request.root_path)
    kept = current_app.extensions.setdefault("tradeportal.roles.queue", {})
    found = kept.get(key)
    if found is None:
        labels = _Labels(flask_babel.get_translations())
        found = kept[key] = (
            labels, _Tags(labels, _PARTNER_TAGS, _PARTNER_OTHER_TAG), _Tags(labels, _REQUEST_TAGS, _REQUEST_OTHER_TAG),
            _html(id_link_parts("staff.role_request", "request_id")[0]),  # "/staff/role-requests/": the id follows
        )
    return found


_TEXTS_PER_ROW = 6


def rows_html(rows) -> Markup:
    """The rows of the table (`<tr>` elements), as staff/role_requests.html printed them.

    Built here rather than in the template: the template escapes every value through a Markup
    object (about 4,400 instructions each, 16 a row). Every text from the database is escaped
    by `_html_all`; the rest is this module's markup and the catalogue's labels (as `_()` prints
    them). The cells are those of the partner and role `status_tag` macros and of
    partners/_macros.html `address` (one line each, the line breaks kept by the class);
    `tests/test_perf_staff_queue.py` compares them with the macros.
    """
    labels, partner_tags, request_tags, link = _kept_for_the_locale()
    name_index = {"fr": 0, "en": 1, "de": 2}.get(current_language())
    short_datetime = DateTimes("short")  # i18n.format_datetime(value, "short")'s text, computed once per half-day
    texts = []  # _TEXTS_PER_ROW a row, escaped together below
    others = []
    for (request_id, status, requested_at, name, identifier, partner_status, suspended_at,
         line1, line2, postcode, town, country, name_fr, name_en, name_de, user_id, first, last) in rows:
        texts += (
            name,
            identifier or "",
            f"{line1}\n{line2 + chr(10) if line2 else ''}{postcode} {town}\n{country}",  # the address macro's text
            # Role.localized("name"): the reader's language, else French, English, German.
            ((name_fr, name_en, name_de)[name_index] if name_index is not None else None)
            or name_fr or name_en or name_de or "",
            short_datetime(requested_at),
            "" if user_id is None else f"{first} {last}".strip(),  # User.full_name
        )
        others.append((request_id, status, "suspended" if suspended_at is not None else partner_status, user_id))
    texts = _html_all(texts)
    no_identifier = labels[N_("No identification number")]
    review, details = labels[N_("Review")], labels[N_("Details")]
    out = []
    for i, (request_id, status, partner_status, user_id) in enumerate(others):
        name, identifier, address, role, requested, requester = texts[i * _TEXTS_PER_ROW:(i + 1) * _TEXTS_PER_ROW]
        if user_id is not None:
            requested = f'{requested}<br><span class="meta">{requester}</span>'
        out.append(
            f'    <tr>\n'
            f'      <td>{name}<br><span class="meta">{identifier or no_identifier}</span>'
            f'<br>{partner_tags[partner_status]}</td>\n'
            f'      <td><span class="address">{address}</span></td>\n'
            f'      <td>{role}</td>\n'
            f'      <td>{requested}</td>\n'
            f'      <td>{request_tags[status]}</td>\n'
            f'      <td><a href="{link}{request_id}">{review if status == GrantStatus.PENDING else details}'
            f'<span class="visually-hidden"> – {name}, {role}</span></a></td>\n'
            f'    </tr>\n'
        )
    return Markup("".join(out))


def queue_page(session, status: str, q: str, number: int) -> tuple[Page, Markup]:
    """The page (its items are the column rows) and the HTML of its table rows."""
    page = fetch(session, status, q, number)
    return page, rows_html(page.items)
