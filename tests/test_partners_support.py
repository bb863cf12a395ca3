"""Helpers shared by the partner tests (no tests here): register entries, partners, members."""
from __future__ import annotations

import itertools

import pytest

from tradeportal.partners.identifiers import che_check_digit, format_che

_numbers = itertools.count(10_000_000)


def new_che() -> str:
    while True:
        eight = str(next(_numbers))
        check = che_check_digit(eight)
        if check is not None:
            return format_che(eight + str(check))


def add_entry(db, name="Alpen Logistik AG", identifier=None, head=None, branch_number=None, **fields):
    from tradeportal.partners.models import RegisterEntry

    entry = RegisterEntry(
        identifier=identifier or new_che(), name=name, name_search=name.lower(), legal_form=fields.pop("legal_form", "AG"),
        address_line1=fields.pop("address_line1", "Bahnhofstrasse 1"), address_line2=None,
        postcode=fields.pop("postcode", "3003"), town=fields.pop("town", "Bern"), country=fields.pop("country", "CH"),
        head_office_identifier=head, branch_number=branch_number, **fields,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def add_partner(db, admin=None, name="Rhein Handel AG", status="active", members=(), locale="fr", **fields):
    """A partner (active by default) with `admin` as administrator and `members` as (user, role)."""
    from tradeportal.partners.models import Membership, Partner

    identifier = fields.pop("identifier", None) or new_che()
    partner = Partner(
        kind=fields.pop("kind", "legal_entity"), status=status, source=fields.pop("source", "register"),
        identifier=identifier, registration_key=fields.pop("registration_key", identifier), name=name,
        name_search=name.lower(), legal_form="AG", address_line1="Seestrasse 5", postcode="8001", town="Zürich",
        country="CH", locale=locale, registered_by_id=fields.pop("registered_by_id", admin.id if admin else None), **fields,
    )
    db.session.add(partner)
    db.session.flush()
    if admin is not None:
        db.session.add(Membership(partner_id=partner.id, user_id=admin.id, role="administrator", rights=""))
    for user, role in members:
        db.session.add(Membership(partner_id=partner.id, user_id=user.id, role=role, rights=""))
    db.session.commit()
    return partner


def outbox(db, recipient=None):
    from tradeportal.mail import OutboxMessage

    db.session.expire_all()
    query = db.session.query(OutboxMessage).order_by(OutboxMessage.id)
    if recipient:
        query = query.filter(OutboxMessage.recipient == recipient)
    return query.all()


def audit_actions(db, partner_id):
    from tradeportal.audit import AuditEvent

    return [e.action for e in db.session.query(AuditEvent).filter_by(partner_id=partner_id).order_by(AuditEvent.id)]


@pytest.fixture
def signed_in_user(make_user, login_as):
    def factory(**kwargs):
        user = make_user(**kwargs)
        login_as(user)
        return user

    return factory
