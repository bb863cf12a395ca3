"""Notifications: the API other areas call, and the inbox queries.

Public API (call inside the transaction of the action; the view commits once)
-----------------------------------------------------------------------------

``notify_user(user, kind, subject, body="", *, link=None, urgent=False, sensitive=None, partner_id=None)``
    One notification for one person; returns the `Notification`.

``notify_partner(partner_id, right, kind, subject, body="", *, link=None, urgent=False, sensitive=None, exclude_user_id=None)``
    One notification per member of the partner who holds `right` (a `access.Right`,
    or None for every member); returns the list. Members come from the resolver
    the partners area registers with ``register_partner_audience(fn)``, where
    ``fn(partner_id, right) -> list[User]``; until then nobody is notified.

`subject` and `body` are rendered in each recipient's language with
`flask_babel.force_locale`. Each is a lazy string
(``_l("Your role %(role)s was approved", role=code)``), a plain string, or a
callable ``(locale) -> str``. Instead of both, ``render=fn`` with
``fn(locale) -> (subject, body)`` suits texts built from trilingual columns.

`kind` is one of `KINDS` (other areas add theirs with ``register_kind``; an
unregistered one is accepted, logged, and listed as "Other");
`link` is a path on this site (the object the notification is about);
`urgent` e-mails it even to people who switched e-mails off; `sensitive` keeps the
contents out of the e-mail ("sign in to read it"). The e-mail is an outbox row in
the same transaction: a rolled-back action leaves neither row nor e-mail.

Optional: ``register_partner_names(fn)``, ``fn(ids) -> {id: "name (number)"}``,
lets the inbox name the partner a notification is about (one query per page).
"""
from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Callable, Iterable

from flask import current_app, g, has_app_context
from flask_babel import LazyString, force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, bindparam, func, select, update

from .. import reads
from ..account.models import User
from ..db import day_start, utcnow
from ..extensions import db
from ..mail import queue_mail
from ..pagination import Page, page_of, window
from .models import Notification

log = logging.getLogger(__name__)

BADGE_CAP = 99  # the badge shows "99+" beyond; its query never counts more than 100 rows

# code -> (label, sensitive by default)
KINDS: dict[str, tuple] = {
    "access_request": (_l("Access request"), False),
    "role_decision": (_l("Role decision"), False),
    "letter_sent": (_l("Verification letter sent"), False),
    "invitation": (_l("Invitation"), False),
    "document_received": (_l("Document received"), True),
    "secure_message": (_l("Secure message"), True),
    "security": (_l("Security"), False),
    "agency_notice": (_l("Agency notice"), False),
}


def register_kind(code: str, label, sensitive: bool = False) -> None:
    """Add a kind of notification (label: a lazy string)."""
    KINDS.setdefault(code, (label, sensitive))


def kind_label(code: str):
    return KINDS[code][0] if code in KINDS else _l("Other")


# --- hooks the partners area fills ---------------------------------------------

def _no_members(partner_id, right) -> list:
    return []


def _no_names(ids) -> dict:
    return {}


_partner_audience: Callable = _no_members
_partner_names: Callable = _no_names


def register_partner_audience(fn: Callable) -> None:
    """`fn(partner_id, right) -> list[User]`: the members who hold `right` (None: all)."""
    global _partner_audience
    _partner_audience = fn


def register_partner_names(fn: Callable) -> None:
    """`fn(partner_ids: set[int]) -> dict[int, str]`, in one query."""
    global _partner_names
    _partner_names = fn


def partner_names(ids: Iterable[int | None]) -> dict:
    wanted = {i for i in ids if i is not None}
    return _partner_names(wanted) if wanted else {}


# --- creating notifications ----------------------------------------------------

def _text(value, locale: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, LazyString)):
        return str(value)
    return str(value(locale))


def _one_line(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def safe_link(link: str | None) -> str | None:
    """A path on this site, or None; anything else is a programming error."""
    if link is None or link == "":
        return None
    if not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > 500:
        raise ValueError(f"a notification links to a path on this site, not {link!r}")
    return link


def notification_path(notification_id: int) -> str:
    # Built by hand: the worker has no request to build URLs from.
    return f"/notifications/{notification_id}"


def create_notifications(users: Iterable[User], kind: str, subject=None, body=None, *, render: Callable | None = None,
                         link: str | None = None, urgent: bool = False, sensitive: bool | None = None,
                         partner_id: int | None = None, notice_id: int | None = None) -> list[Notification]:
    """One row per person (texts rendered once per language), then their e-mails."""
    if kind not in KINDS:
        # Not an error: the action must not fail for a missing registration. It shows as "Other".
        log.warning("notification kind %r is not registered (notifications.services.register_kind)", kind)
    if sensitive is None:
        sensitive = KINDS.get(kind, (None, False))[1]
    link = safe_link(link)
    texts: dict[str, tuple[str, str]] = {}
    rows = []
    users = list(users)
    now = utcnow()
    for user in users:
        locale = user.locale or current_app.config["DEFAULT_LOCALE"]
        if locale not in texts:
            with force_locale(locale):
                if render is not None:
                    s, b = render(locale)
                    texts[locale] = (_one_line(str(s), 255), str(b or "").strip())
                else:
                    texts[locale] = (_one_line(_text(subject, locale), 255), _text(body, locale).strip())
        s, b = texts[locale]
        rows.append(Notification(user_id=user.id, partner_id=partner_id, kind=kind, urgent=urgent, sensitive=sensitive,
                                 subject=s, body=b, link=link, notice_id=notice_id, created_at=now))
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()  # ids for the links in the e-mails
    forget_badge()
    for user, row in zip(users, rows):
        if user.email and (urgent or user.email_notifications):
            _queue_email(user, row)
    return rows


def _queue_email(user: User, row: Notification) -> None:
    queue_mail(
        user.email, "notification", row_locale(user),
        name=user.full_name, subject=row.subject, body=row.body, urgent=row.urgent,
        sensitive=row.sensitive, kind=row.kind, link=notification_path(row.id),
    )


def row_locale(user: User) -> str:
    return user.locale or current_app.config["DEFAULT_LOCALE"]


def notify_user(user: User, kind: str, subject=None, body=None, *, render: Callable | None = None,
                link: str | None = None, urgent: bool = False, sensitive: bool | None = None,
                partner_id: int | None = None) -> Notification:
    """Notify one person (see the module docstring); flushes, never commits."""
    return create_notifications([user], kind, subject, body, render=render, link=link, urgent=urgent,
                                sensitive=sensitive, partner_id=partner_id)[0]


def notify_partner(partner_id: int, right, kind: str, subject=None, body=None, *, render: Callable | None = None,
                   link: str | None = None, urgent: bool = False, sensitive: bool | None = None,
                   exclude_user_id: int | None = None) -> list[Notification]:
    """Notify every member of `partner_id` who holds `right`; flushes, never commits."""
    members = [u for u in _partner_audience(partner_id, right) if u.id != exclude_user_id]
    unique = list({u.id: u for u in members}.values())
    return create_notifications(unique, kind, subject, body, render=render, link=link, urgent=urgent,
                                sensitive=sensitive, partner_id=partner_id)


# --- the badge -----------------------------------------------------------------

def unread_count_subquery(user_id: int):
    """The badge's count as a scalar subquery, for a statement that asks something else as well."""
    capped = (
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(BADGE_CAP + 1)
        .subquery()
    )
    return select(func.count()).select_from(capped).scalar_subquery()


def unread_count(user_id: int) -> int:
    """Unread notifications, counted up to BADGE_CAP + 1 on the partial index."""
    return db.session.execute(select(unread_count_subquery(user_id))).scalar_one()


def badge(user) -> int:
    """The unread count for this request: one query, however often a page asks (none when the
    session check already brought it, see `remember_badge`)."""
    cache = g.setdefault("notification_badge", {})
    if user.id not in cache:
        cache[user.id] = unread_count(user.id)
    return cache[user.id]


def remember_badge(user_id: int, count: int) -> None:
    """Keep a count read by another statement of this request (auth.sessions loads it with the session)."""
    g.setdefault("notification_badge", {})[user_id] = count


def forget_badge() -> None:
    """Notifications changed in this request: the badge counts again when it is next shown."""
    if has_app_context():
        g.pop("notification_badge", None)


def badge_label(count: int) -> str:
    return f"{BADGE_CAP}+" if count > BADGE_CAP else str(count)


# --- the inbox -----------------------------------------------------------------

# The inbox's columns (not the body): a list row needs no ORM entity. One statement per shape of
# the filters (state x kind x from x to: at most 24), built on first use; the values are bound.
INBOX_COLUMNS = ("id", "created_at", "kind", "subject", "urgent", "partner_id", "read_at")
_inbox_statements: dict = {}


def _inbox_statement(state: str | None, kind: bool, date_from: bool, date_to: bool):
    key = (state if state in ("unread", "read") else None, kind, date_from, date_to)
    stmt = _inbox_statements.get(key)
    if stmt is not None:
        return stmt
    table = Notification.__table__
    c = table.c
    stmt = select(*(c[name] for name in INBOX_COLUMNS)).where(c.user_id == bindparam("user_id"))
    if key[0] == "unread":
        stmt = stmt.where(c.read_at.is_(None))
    elif key[0] == "read":
        stmt = stmt.where(c.read_at.is_not(None))
    if kind:
        stmt = stmt.where(c.kind == bindparam("kind"))
    if date_from:
        stmt = stmt.where(c.created_at >= bindparam("date_from", type_=c.created_at.type))
    if date_to:
        stmt = stmt.where(c.created_at < bindparam("date_to", type_=c.created_at.type))
    stmt = (stmt.order_by(c.created_at.desc(), c.id.desc())
            .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))
    _inbox_statements[key] = stmt
    return stmt


def inbox_page(user, number: int, *, date_from: date | None = None, date_to: date | None = None,
               kind: str | None = None, state: str | None = None) -> Page:
    """One page of a person's notifications, newest first (one query). The items are rows with
    the attributes of `INBOX_COLUMNS` (`id`, `created_at`, `kind`, `subject`, `urgent`,
    `partner_id`, `read_at`), not `Notification` entities."""
    number, params = window(number)
    params["user_id"] = user.id
    if kind:
        params["kind"] = kind
    if date_from:
        params["date_from"] = day_start(date_from)
    if date_to:
        params["date_to"] = day_start(date_to + timedelta(days=1))
    stmt = _inbox_statement(state, bool(kind), bool(date_from), bool(date_to))
    rows = reads.rows(stmt, params)
    return page_of(rows, number)


def get_for_user(user, notification_id: int) -> Notification | None:
    """The person's own notification; another person's is None (a 404)."""
    return db.session.execute(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    ).scalar_one_or_none()


def mark_read(notification: Notification) -> bool:
    """True when it was unread; a conditional UPDATE, so parallel requests agree."""
    if notification.read_at is not None:
        return False
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    forget_badge()
    return result.rowcount == 1


def mark_unread(notification: Notification) -> bool:
    if notification.read_at is None:
        return False
    notification.read_at = None
    db.session.flush()
    forget_badge()
    return True


def mark_all_read(user) -> int:
    """Every unread notification of the person; returns how many changed."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    forget_badge()
    return result.rowcount
