"""Rights of members inside a partner, given by its administrators and deputies."""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import audit
from ..access import Right
from ..account.models import User
from ..extensions import db
from ..partners.models import MemberRole, Membership
from ..partners.resolver import RIGHT_LABELS
from .grants import RoleError
from .notify import RIGHTS_CHANGED, notify

RIGHT_ORDER = [r.value for r in Right]


def members_with_rights(partner) -> list[Membership]:
    """The partner's members with their accounts (one query), managers first."""
    order = {MemberRole.ADMINISTRATOR: 0, MemberRole.DEPUTY: 1, MemberRole.MEMBER: 2}
    rows = db.session.execute(
        select(Membership).join(User, User.id == Membership.user_id).where(Membership.partner_id == partner.id)
        .options(joinedload(Membership.user)).order_by(User.last_name, User.first_name, Membership.id)
    ).scalars()
    return sorted(rows, key=lambda m: order.get(m.role, 3))


def set_rights(actor, membership: Membership, rights) -> bool:
    """Replace the member's rights; audited, and the member is told. False when nothing changed."""
    if membership.is_manager:
        raise RoleError(_l("Administrators and deputies hold every right."))
    wanted = {getattr(r, "value", r) for r in rights} & set(RIGHT_ORDER)
    new = [r for r in RIGHT_ORDER if r in wanted]
    old = [r for r in RIGHT_ORDER if r in membership.right_set()]
    if new == old:
        return False
    membership.rights = ",".join(new)
    db.session.flush()
    partner = membership.partner
    audit.record("roles.rights_changed", actor=actor, partner_id=partner.id, object_type="membership",
                 object_id=membership.id, subject_user_id=membership.user_id, details={"from": old, "to": new})

    def render(locale):
        with force_locale(locale):
            labels = ", ".join(str(RIGHT_LABELS[Right(r)]) for r in new)
            subject = str(_l("Your rights for %(partner)s changed")) % {"partner": partner.name}
            if new:
                body = str(_l("%(name)s changed your rights for %(partner)s. You may now: %(rights)s.")) % {
                    "name": actor.full_name, "partner": partner.name, "rights": labels}
            else:
                body = str(_l("%(name)s took away your rights for %(partner)s.")) % {
                    "name": actor.full_name, "partner": partner.name}
            return subject, body

    notify([membership.user], RIGHTS_CHANGED, render, "/dashboard", partner.id)
    return True
