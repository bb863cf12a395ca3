"""Telling a person that something changed for them.

The notifications area (issue 6) does not exist yet, so `notify_user` sends an
e-mail through the outbox. It is the one place to switch to the notifications
service later. Pass `subject` and `body` as lazy strings (`_l(...)`): they are
rendered in the recipient's language.
"""
from __future__ import annotations

from ..mail import queue_mail


def notify_user(user, kind: str, subject, body, link: str | None = None) -> None:
    queue_mail(
        user.email, "partners_notification", user.locale or "fr",
        kind=kind, name=user.full_name, subject=subject, body=body, link=link,
    )


def notify_managers(partner, kind: str, subject, body, link: str | None = None, except_user=None) -> None:
    from .services import managers_of

    for membership in managers_of(partner):
        if except_user is None or membership.user_id != except_user.id:
            notify_user(membership.user, kind, subject, body, link)
