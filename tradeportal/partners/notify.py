"""Telling a person that something changed for them: a notification in their inbox,
e-mailed according to their preference (notifications area). Pass `subject` and `body`
as lazy strings (`_l(...)`): they are rendered in the recipient's language.
"""
from __future__ import annotations


def notify_user(user, kind: str, subject, body, link: str | None = None, partner_id: int | None = None) -> None:
    from ..notifications.services import notify_user as notify

    notify(user, kind, subject, body, link=link, partner_id=partner_id)


def notify_managers(partner, kind: str, subject, body, link: str | None = None, except_user=None) -> None:
    from .services import managers_of

    for membership in managers_of(partner):
        if except_user is None or membership.user_id != except_user.id:
            notify_user(membership.user, kind, subject, body, link, partner_id=partner.id)
