"""Helpers for the roles, rights and dashboard tests (no tests here).

Partners and memberships are built with the ORM; the role catalogue is the demo one.
"""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from tradeportal.audit import AuditEvent
from tradeportal.db import utcnow
from tradeportal.mail import OutboxMessage
from tradeportal.partners.models import Membership, Partner
from tradeportal.roles.models import Role, RoleRequest

_numbers = itertools.count(1)


def add_partner(db, name=None, status="active", **fields) -> Partner:
    n = next(_numbers)
    name = name or f"Partner {n} AG"
    partner = Partner(
        kind="legal_entity", status=status, source="register", identifier=f"CHE-{n:03d}.000.00{n % 10}",
        registration_key=f"test-{n}", name=name, name_search=name.lower(), legal_form="AG",
        address_line1=f"Bahnhofstrasse {n}", postcode="3003", town="Bern", country="CH", locale="fr",
        activated_at=utcnow() if status == "active" else None, **fields,
    )
    db.session.add(partner)
    db.session.commit()
    return partner


def add_member(db, partner, user, role="member", rights=()) -> Membership:
    membership = Membership(partner_id=partner.id, user_id=user.id, role=role,
                            rights=",".join(getattr(r, "value", r) for r in rights))
    db.session.add(membership)
    db.session.commit()
    return membership


def add_catalogue(db) -> dict[str, Role]:
    """The demo catalogue: goods_traffic, transport, authorised_consignee, authorised_consignor, payments."""
    from tradeportal.demo import ROLES

    roles = {}
    for code, names, review, contact, services in ROLES:
        role = Role(code=code, name_fr=names[0], name_en=names[1], name_de=names[2],
                    description_fr="", description_en=f"The role {names[1]}.", description_de="",
                    needs_review=review, needs_contact=contact, services=services, active=True)
        db.session.add(role)
        roles[code] = role
    db.session.commit()
    return roles


def add_role(db, code, services="", review=False, contact=False, active=True, name=None) -> Role:
    name = name or code.replace("_", " ").title()
    role = Role(code=code, name_fr=name, name_en=name, name_de=name, description_fr="", description_en="",
                description_de="", needs_review=review, needs_contact=contact, services=services, active=active)
    db.session.add(role)
    db.session.commit()
    return role


def grant(db, partner, role, status="active", requested_by=None) -> RoleRequest:
    now = utcnow()
    row = RoleRequest(partner_id=partner.id, role_id=role.id, status=status, requested_at=now,
                      requested_by_id=getattr(requested_by, "id", None),
                      activated_at=now if status == "active" else None)
    db.session.add(row)
    db.session.commit()
    return row


def requests_of(db, partner) -> list[RoleRequest]:
    db.session.expire_all()
    return list(db.session.execute(select(RoleRequest).where(RoleRequest.partner_id == partner.id)
                                   .order_by(RoleRequest.id)).scalars())


def audit_actions(db, partner_id=None) -> list[str]:
    stmt = select(AuditEvent.action).order_by(AuditEvent.id)
    if partner_id is not None:
        stmt = stmt.where(AuditEvent.partner_id == partner_id)
    return list(db.session.execute(stmt).scalars())


def outbox_to(db, email) -> list[OutboxMessage]:
    return list(db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient == email)).scalars())


def notifications_of(db, user, kind=None) -> list:
    from tradeportal.notifications.models import Notification

    stmt = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.execute(stmt).scalars())


@pytest.fixture
def catalogue(db):
    return add_catalogue(db)


@pytest.fixture
def team(db, make_user, catalogue):
    """An active partner with an administrator, a deputy and a member (no rights), and an outsider partner."""

    class Team:
        pass

    t = Team()
    t.roles = catalogue
    t.partner = add_partner(db, "Rhein Handel AG")
    t.admin = make_user(first_name="Ada", last_name="Admin")
    t.deputy = make_user(first_name="Dora", last_name="Deputy")
    t.member = make_user(first_name="Max", last_name="Member")
    t.admin_membership = add_member(db, t.partner, t.admin, "administrator")
    t.deputy_membership = add_member(db, t.partner, t.deputy, "deputy")
    t.member_membership = add_member(db, t.partner, t.member, "member")
    t.other_partner = add_partner(db, "Jura Textil SA")
    t.outsider = make_user(first_name="Otto", last_name="Outsider")
    add_member(db, t.other_partner, t.outsider, "administrator")
    return t
