"""Which partner a request acts for, and the tenancy rule: another partner's things are a 404.

Registered with `access.register_partner_resolver` when the package is imported.
"""
from __future__ import annotations

from flask import abort, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from ..current import request_user
from .. import reads
from ..access import Right
from ..extensions import db
from .models import Membership, Partner, PartnerStatus

ACTING_KEY = "acting_partner_id"

RIGHT_LABELS = {
    Right.VIEW_DOCUMENTS: _l("View documents"),
    Right.UPLOAD_DOCUMENTS: _l("Upload documents"),
    Right.MANAGE_API: _l("Manage API applications"),
    Right.CREATE_CERTIFICATES: _l("Create certificates"),
    Right.SEND_MESSAGES: _l("Send secure messages"),
    Right.VIEW_PAYMENTS: _l("View payments"),
}


def active_memberships(user) -> list[Membership]:
    """The partners this person may act for (active partners, suspended ones included)."""
    # Cached for this request only (the header and the view both ask): kept in the request's
    # environ, which dies with the request (an id() of the request could be reused by the next one).
    store = request.environ if request else g.__dict__
    key = ("tp.active_memberships", user.id)
    rows = store.get(key)
    if rows is None:
        # The session's statement read the membership of the partner chosen in this session and
        # how many the person has: when that is the only one, it is the whole list.
        header = g.get("header_partners")
        only = _acting_membership_read(user) if header is not None and header[0] == 1 else None
        rows = store[key] = [only] if only is not None else _load_memberships(user.id)
    return rows


_MEMBERSHIPS: list = []  # [statement, membership keys, partner keys], built once


def _load_memberships(user_id: int) -> list[Membership]:
    """The memberships with their partners in one statement, run by `reads.rows` and attached as
    entities (every partner page runs it: through the ORM it cost about 7 % of the page)."""
    if not _MEMBERSHIPS:
        membership_keys, membership_columns = reads.entity_columns(Membership)
        partner_keys, partner_columns = reads.entity_columns(Partner)
        statement = (
            select(*membership_columns, *(c.label(f"of_partner_{c.key}") for c in partner_columns))
            .join_from(Membership.__table__, Partner.__table__, Partner.__table__.c.id == Membership.__table__.c.partner_id)
            .where(Membership.__table__.c.user_id == bindparam("user_id"),
                   Partner.__table__.c.status == PartnerStatus.ACTIVE)
            .order_by(Partner.__table__.c.name_search)
        )
        _MEMBERSHIPS[:] = [statement, membership_keys, partner_keys]
    statement, membership_keys, partner_keys = _MEMBERSHIPS
    memberships = []
    for row in reads.rows(statement, {"user_id": user_id}):
        membership, partner, _ = reads.split(row, (Membership, membership_keys), (Partner, partner_keys))
        set_committed_value(membership, "partner", partner)
        memberships.append(membership)
    return memberships


def acting_membership(user) -> Membership | None:
    """The membership chosen in this session, or the only one; None when a choice is needed."""
    chosen = session.get(ACTING_KEY)
    known = _acting_membership_read(user)
    if known is not None and known.partner_id == chosen:
        return known
    memberships = active_memberships(user)
    for membership in memberships:
        if membership.partner_id == chosen:
            return membership
    if len(memberships) == 1:
        # The session names it from now on (one cookie change): its next requests read this
        # membership with the session (`header_parts`) and the partner's name for the header.
        set_acting_for(memberships[0].partner_id)
        return memberships[0]
    return None


def set_acting_for(partner_id: int) -> None:
    if session.get(ACTING_KEY) != partner_id:
        session[ACTING_KEY] = partner_id


def resolve_partner(user, right: Right | None, admin_only: bool):
    """(partner, membership) for partner routes; a 404 for a partner the person is no member of."""
    partner_id = (request.view_args or {}).get("partner_id")
    if partner_id is None:
        membership = acting_membership(user)
        if membership is None:
            if not active_memberships(user):
                return redirect(url_for("dashboard.index"))
            return redirect(url_for("partners.choose", next=request.full_path.rstrip("?")))
    else:
        membership = _acting_membership_read(user)
        if membership is None or membership.partner_id != partner_id:
            membership = next((m for m in active_memberships(user) if m.partner_id == partner_id), None)
        if membership is None:
            abort(404)
    partner = membership.partner
    if partner.is_suspended:
        # A response, never a tuple: the decorator reads a 2-tuple as (partner, membership).
        return make_response(render_template("partners/suspended.html", partner=partner), 403)
    if admin_only and not membership.is_manager:
        return _missing(partner, _l("Manage the business partner (administrators and deputies)"))
    if right is not None and not membership.has_right(right):
        return _missing(partner, RIGHT_LABELS.get(right, right.value))
    set_acting_for(partner.id)
    return partner, membership


def _missing(partner: Partner, what):
    from .services import managers_of

    managers = [m.user for m in managers_of(partner)]
    return make_response(render_template("partners/missing_right.html", partner=partner, what=what, managers=managers), 403)


def get_for_partner_or_404(model, object_id: int, partner: Partner | None = None):
    """Load an object of the partner acted for; another partner's object is a 404."""
    partner = partner or g.partner
    obj = db.session.execute(
        select(model).where(model.id == object_id, model.partner_id == partner.id)
    ).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


_HEADER: list = []  # [membership keys, partner keys] of `header_parts`' columns


def header_parts(users, user_id, acting_id, membership: bool) -> tuple:
    """What the session's statement adds for the header and this resolver (every signed-in page
    needs the header; a page that does not act for a partner then runs no query of its own).

    Returns (outer joins as (table, ON clause) pairs, the joined membership's partner id, columns).
    The columns: how many partners the person may act for, the first name in order (the one acted
    for when alone), and the name of the one chosen in this session (`acting_id`) if it is one of
    them. With `membership` (the statement of the pages that act for a partner), the person's
    membership of the partner acted for (the one chosen, else the first in order) and that partner
    if active come first, and the chosen name is theirs: the resolver then loads no memberships on
    that partner's pages.
    `users` is the person's table in that statement. (Two outer joins, not one of a nested join:
    SQLite would build the nested join for every partner first.)"""
    from sqlalchemy import Integer, and_, func

    mine = (Membership.user_id == user_id, Partner.status == PartnerStatus.ACTIVE)
    joined = select(Partner.name).join(Membership, Membership.partner_id == Partner.id).where(*mine)
    count = (select(func.count()).select_from(Membership).join(Partner, Partner.id == Membership.partner_id)
             .where(*mine).scalar_subquery())
    first = joined.order_by(Partner.name_search, Partner.id).limit(1)
    columns = [count.label("partner_count"), first.scalar_subquery().label("first_name")]
    if not membership:
        chosen = joined.where(Partner.id == acting_id).limit(1).scalar_subquery()
        return [], None, [*columns, chosen.label("chosen_name")]
    mt, pt = Membership.__table__, Partner.__table__
    membership_keys, membership_columns = reads.entity_columns(Membership)
    partner_keys, partner_columns = reads.entity_columns(Partner)
    _HEADER[:] = [membership_keys, partner_keys]
    first_id = first.with_only_columns(Partner.id).scalar_subquery()
    joins = [(mt, and_(mt.c.user_id == users.c.id, mt.c.partner_id == func.coalesce(acting_id.cast(Integer), first_id))),
             (pt, and_(pt.c.id == mt.c.partner_id, pt.c.status == PartnerStatus.ACTIVE))]
    columns = [*(c.label(f"acting_membership_{c.key}") for c in membership_columns),
               *(c.label(f"acting_partner_{c.key}") for c in partner_columns), *columns]
    return joins, mt.c.partner_id, columns


def remember_header(values: tuple, acting_id: int | None, membership: bool) -> int | None:
    """Keep what the session's statement read through `header_parts` (its columns' values, in
    order; `acting_id` the partner the session names). Returns the id of the partner whose
    membership it read (with `membership`), None when it read none."""
    read = None
    if membership:
        count, first_name = values[-2:]
        membership_keys, partner_keys = _HEADER
        split = len(membership_keys)
        partner = dict(zip(partner_keys, values[split:split + len(partner_keys)]))
        if partner["id"] is not None:  # (none: no membership, or of a partner that is not active)
            read = partner["id"]
            request.environ["tp.acting_membership"] = (dict(zip(membership_keys, values[:split])), partner)
        chosen_name = partner["name"] if read is not None and read == acting_id else None
    else:
        count, first_name, chosen_name = values[-3:]
    g.header_partners = (count, chosen_name if chosen_name is not None else (first_name if count == 1 else None))
    if chosen_name is not None:
        request.environ["tp.chosen_partner"] = (acting_id, chosen_name)
    return read


def _acting_membership_read(user) -> Membership | None:
    """The membership the session's statement read (`header_parts`: of the partner chosen in this
    session, else of the first one), as an entity of the session made once; None when it read none."""
    found = request.environ.get("tp.acting_membership")
    if found is None:
        return None
    if isinstance(found, Membership):
        return found if found.user_id == user.id else None
    membership_values, partner_values = found
    if membership_values["user_id"] != user.id:
        return None
    membership = reads.attach(Membership, membership_values)
    set_committed_value(membership, "partner", reads.attach(Partner, partner_values))
    request.environ["tp.acting_membership"] = membership
    return membership


def known_partner_names() -> dict[int, str]:
    """{id: name} of the partners this request has read already (the one acted for, the memberships
    when loaded), so that a list naming them asks no query for these (notifications' inbox)."""
    if not request:
        return {}
    known = {}
    chosen = request.environ.get("tp.chosen_partner")
    if chosen is not None:
        known[chosen[0]] = chosen[1]
    found = request.environ.get("tp.acting_membership")
    if isinstance(found, Membership):
        known[found.partner.id] = found.partner.name
    elif found is not None:
        known[found[1]["id"]] = found[1]["name"]
    for key, memberships in request.environ.items():
        if type(key) is tuple and key[0] == "tp.active_memberships":
            known.update((m.partner.id, m.partner.name) for m in memberships)
    return known


class _Named:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


def header_context() -> dict:
    """For the header: the partner acted for and whether there is another to switch to.

    The memberships when this request loaded them (a partner page, the dashboard), else what the
    session's statement brought (`remember_header`): the same answer without a query."""
    user = request_user()
    if user is None or not user.is_authenticated:
        return {"partner": None, "count": 0}
    if ("tp.active_memberships", user.id) not in request.environ:
        known = g.get("header_partners")
        if known is not None:
            count, name = known
            return {"partner": _Named(name) if name is not None else None, "count": count}
    memberships = active_memberships(user)
    membership = acting_membership(user)
    return {"partner": membership.partner if membership else None, "count": len(memberships)}
