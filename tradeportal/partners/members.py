"""The people of a partner: roles, invitations, access requests, leaving and removal.

Rule kept everywhere: a partner always has at least one administrator. The
partner row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite has a single
writer) before counting, so two administrators cannot remove each other at once.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager

from .. import audit
from ..account.models import User, normalise_email
from ..db import utcnow
from ..extensions import db
from ..mail import queue_mail
from .models import AccessRequest, Invitation, MemberRole, Membership, Partner, PartnerStatus
from .notify import notify_user

INVITATION_VALIDITY = timedelta(days=14)
ROLE_LABELS = {
    MemberRole.ADMINISTRATOR: _l("Administrator"),
    MemberRole.DEPUTY: _l("Deputy"),
    MemberRole.MEMBER: _l("Member"),
}


class MemberError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _lock(partner: Partner) -> None:
    db.session.execute(select(Partner.id).where(Partner.id == partner.id).with_for_update())


def _administrators(partner: Partner) -> int:
    return db.session.execute(
        select(func.count()).select_from(Membership)
        .where(Membership.partner_id == partner.id, Membership.role == MemberRole.ADMINISTRATOR)
    ).scalar_one()


def _keep_one_administrator(partner: Partner, membership: Membership) -> None:
    _lock(partner)
    db.session.refresh(membership)
    if membership.role == MemberRole.ADMINISTRATOR and _administrators(partner) <= 1:
        raise MemberError(_l("A business partner needs an administrator. Make another member administrator first."))


def members(partner: Partner) -> list[Membership]:
    order = {MemberRole.ADMINISTRATOR: 0, MemberRole.DEPUTY: 1, MemberRole.MEMBER: 2}
    rows = list(db.session.execute(
        select(Membership).join(User, User.id == Membership.user_id)
        .where(Membership.partner_id == partner.id).order_by(User.last_name, User.first_name)
        .options(contains_eager(Membership.user))  # the person comes with the row: no query per member
    ).scalars())
    return sorted(rows, key=lambda m: order.get(m.role, 3))


def pending_invitations(partner: Partner) -> list[Invitation]:
    return list(db.session.execute(
        select(Invitation).where(Invitation.partner_id == partner.id, Invitation.accepted_at.is_(None),
                                 Invitation.withdrawn_at.is_(None), Invitation.expires_at > utcnow())
        .order_by(Invitation.created_at.desc())
    ).scalars())


def pending_requests(partner: Partner) -> list[AccessRequest]:
    return list(db.session.execute(
        select(AccessRequest).where(AccessRequest.partner_id == partner.id, AccessRequest.status == "pending")
        .order_by(AccessRequest.created_at)
    ).scalars())


def set_role(actor, membership: Membership, role: str) -> None:
    """Make a member administrator, deputy or member (an administrator may not demote the last one)."""
    partner = membership.partner
    if role == membership.role:
        return
    if membership.role == MemberRole.ADMINISTRATOR:
        _keep_one_administrator(partner, membership)
    old = membership.role
    membership.role = role
    audit.record("partners.member_role_changed", actor=actor, partner_id=partner.id, object_type="membership",
                 object_id=membership.id, subject_user_id=membership.user_id, details={"from": old, "to": role})
    notify_user(membership.user, "member_role_changed",
                _l("Your role for %(partner)s changed", partner=partner.name),
                _l("You are now %(role)s of %(partner)s.", role=ROLE_LABELS[role], partner=partner.name),
                f"/partners/{partner.id}", partner_id=partner.id)


def remove_member(actor, membership: Membership) -> None:
    partner = membership.partner
    _keep_one_administrator(partner, membership)
    user = membership.user
    leaving = actor.id == user.id
    audit.record("partners.member_left" if leaving else "partners.member_removed", actor=actor, partner_id=partner.id,
                 object_type="membership", object_id=membership.id, subject_user_id=user.id)
    db.session.delete(membership)
    db.session.flush()
    if not leaving:
        notify_user(user, "member_removed", _l("You no longer work for %(partner)s", partner=partner.name),
                    _l("An administrator of %(partner)s removed you from its members.", partner=partner.name), "/dashboard",
                    partner_id=partner.id)


# --- invitations ------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(actor, partner: Partner, email: str, role: str, locale: str) -> Invitation:
    """Invite a colleague by e-mail; the link's token is shown only in that e-mail."""
    normalised = normalise_email(email)
    existing_user = db.session.execute(select(User).where(User.email_normalized == normalised)).scalar_one_or_none()
    if existing_user is not None and db.session.execute(select(Membership.id).where(
            Membership.partner_id == partner.id, Membership.user_id == existing_user.id)).first():
        raise MemberError(_l("This person is already a member of %(partner)s.", partner=partner.name))
    now = utcnow()
    # A new invitation to the same address replaces the pending one.
    db.session.execute(
        update(Invitation).where(Invitation.partner_id == partner.id, Invitation.email_normalized == normalised,
                                 Invitation.accepted_at.is_(None), Invitation.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(partner_id=partner.id, email=email.strip(), email_normalized=normalised, role=role,
                            token_hash=_token_hash(token), invited_by_id=actor.id, created_at=now,
                            expires_at=now + INVITATION_VALIDITY)
    db.session.add(invitation)
    db.session.flush()
    audit.record("partners.invitation_sent", actor=actor, partner_id=partner.id, object_type="invitation",
                 object_id=invitation.id, details={"email": invitation.email, "role": role})
    queue_mail(invitation.email, "partners_invitation", existing_user.locale if existing_user else locale,
               partner_name=partner.name, inviter_name=actor.full_name, link=f"/invitations/{token}",
               expires_at=invitation.expires_at)
    return invitation


def withdraw_invitation(actor, invitation: Invitation) -> bool:
    result = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None),
                                 Invitation.withdrawn_at.is_(None)).values(withdrawn_at=utcnow())
    )
    if result.rowcount:
        audit.record("partners.invitation_withdrawn", actor=actor, partner_id=invitation.partner_id,
                     object_type="invitation", object_id=invitation.id)
    return bool(result.rowcount)


def invitation_by_token(token: str) -> Invitation | None:
    if not token or len(token) > 100:
        return None
    return db.session.execute(select(Invitation).where(Invitation.token_hash == _token_hash(token))).scalar_one_or_none()


def invitation_problem(invitation: Invitation | None, user=None):
    """Why this invitation cannot be accepted (now, by `user`), or None."""
    if invitation is None:
        return _l("This invitation link is not valid. Ask the administrator to invite you again.")
    state = invitation.state(utcnow())
    if state == "accepted":
        return _l("This invitation has already been accepted.")
    if state == "withdrawn":
        return _l("This invitation was withdrawn by the administrator.")
    if state == "expired":
        return _l("This invitation has expired. Ask the administrator to invite you again.")
    partner = invitation.partner
    if partner.status != PartnerStatus.ACTIVE or partner.is_suspended:
        return _l("This business partner cannot accept new members at the moment.")
    if user is not None and normalise_email(user.email) != invitation.email_normalized:
        return _l("This invitation was sent to %(email)s. Sign in with the account of that e-mail address to accept it.",
                  email=invitation.email)
    return None


def accept_invitation(user, invitation: Invitation) -> Membership:
    """Single use, decided by the database; the invitee becomes a member (or deputy)."""
    problem = invitation_problem(invitation, user)
    if problem:
        raise MemberError(problem)
    now = utcnow()
    result = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None),
                                 Invitation.withdrawn_at.is_(None), Invitation.expires_at > now)
        .values(accepted_at=now, accepted_by_id=user.id)
    )
    if result.rowcount != 1:
        raise MemberError(_l("This invitation has already been accepted."))
    partner = invitation.partner
    membership = _add_member(partner, user, invitation.role, invitation.invited_by_id)
    audit.record("partners.invitation_accepted", actor=user, partner_id=partner.id, object_type="invitation",
                 object_id=invitation.id, subject_user_id=user.id)
    inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    if inviter is not None:
        notify_user(inviter, "invitation_accepted", _l("%(name)s joined %(partner)s", name=user.full_name, partner=partner.name),
                    _l("%(name)s accepted your invitation and is now a member of %(partner)s.", name=user.full_name,
                       partner=partner.name), f"/partners/{partner.id}/members", partner_id=partner.id)
    return membership


def _add_member(partner: Partner, user, role: str, added_by_id) -> Membership:
    membership = db.session.execute(
        select(Membership).where(Membership.partner_id == partner.id, Membership.user_id == user.id)
    ).scalar_one_or_none()
    if membership is None:
        membership = Membership(partner_id=partner.id, user_id=user.id, role=role, rights="", added_by_id=added_by_id)
        db.session.add(membership)
    elif membership.role == MemberRole.MEMBER and role != MemberRole.MEMBER:
        membership.role = role
    # Whoever joins has nothing left to ask for.
    db.session.execute(
        update(AccessRequest).where(AccessRequest.partner_id == partner.id, AccessRequest.user_id == user.id,
                                    AccessRequest.status == "pending")
        .values(status="approved", decided_at=utcnow(), decided_by_id=added_by_id)
    )
    db.session.flush()
    return membership


# --- access requests ------------------------------------------------------------------------

def decide_access_request(actor, request_row: AccessRequest, approve: bool, message: str) -> None:
    partner = request_row.partner
    status = "approved" if approve else "refused"
    result = db.session.execute(
        update(AccessRequest).where(AccessRequest.id == request_row.id, AccessRequest.status == "pending")
        .values(status=status, decided_at=utcnow(), decided_by_id=actor.id, decision_message=(message or "").strip() or None)
    )
    if result.rowcount != 1:
        raise MemberError(_l("This access request has already been answered."))
    db.session.refresh(request_row)
    if approve:
        _add_member(partner, request_row.user, MemberRole.MEMBER, actor.id)
    audit.record(f"partners.access_request_{status}", actor=actor, partner_id=partner.id, object_type="access_request",
                 object_id=request_row.id, subject_user_id=request_row.user_id)
    if approve:
        subject = _l("Your request to join %(partner)s was approved", partner=partner.name)
        body = _l("You are now a member of %(partner)s. Message from the administrator: %(message)s",
                  partner=partner.name, message=request_row.decision_message or "–")
    else:
        subject = _l("Your request to join %(partner)s was refused", partner=partner.name)
        body = _l("An administrator of %(partner)s refused your request. Message from the administrator: %(message)s",
                  partner=partner.name, message=request_row.decision_message or "–")
    notify_user(request_row.user, f"access_request_{status}", subject, body, "/dashboard", partner_id=partner.id)


def only_administrator_blocker(user) -> str | None:
    """For account deletion: the only administrator of a partner must hand over first."""
    from flask_babel import gettext as _

    admin_of = select(Membership.partner_id).where(Membership.user_id == user.id, Membership.role == MemberRole.ADMINISTRATOR)
    counts = db.session.execute(
        select(Partner.name, func.count(Membership.id))
        .join(Membership, Membership.partner_id == Partner.id)
        .where(Partner.id.in_(admin_of), Membership.role == MemberRole.ADMINISTRATOR)
        .group_by(Partner.id, Partner.name)
    ).all()
    alone = sorted(name for name, count in counts if count <= 1)
    if not alone:
        return None
    return _("You are the only administrator of %(partners)s. Make another member administrator before you delete your account.",
             partners=", ".join(alone))
