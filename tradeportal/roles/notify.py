"""Telling people about roles and rights: in the portal and by e-mail.

Through the notifications service when it is there (a notification row and its
e-mail), else through the partners area's e-mail fallback. Texts are built per
recipient language by `render(locale) -> (subject, body)`, because role names are
trilingual columns, not catalogue strings.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Callable, Iterable

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

ROLE_DECISION = "role_decision"
RIGHTS_CHANGED = "rights_changed"


def _notifications():
    if importlib.util.find_spec("tradeportal.notifications.services") is None:
        return None
    module = importlib.import_module("tradeportal.notifications.services")
    return module if hasattr(module, "notify_user") else None


def register_kinds() -> None:
    service = _notifications()
    if service is not None and hasattr(service, "register_kind"):
        service.register_kind(RIGHTS_CHANGED, _l("Rights"), False)


class _Rendered:
    """A text rendered in the locale in force when it is turned into a string (the e-mail's)."""

    def __init__(self, render: Callable, index: int):
        self.render, self.index = render, index

    def __str__(self) -> str:
        return str(self.render(str(get_locale() or "fr"))[self.index])

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


def notify(users: Iterable, kind: str, render: Callable, link: str, partner_id: int) -> None:
    """One notification per person (deduplicated), in their language."""
    unique = list({user.id: user for user in users}.values())
    service = _notifications()
    for user in unique:
        if service is not None:
            service.notify_user(user, kind, render=render, link=link, partner_id=partner_id)
        else:
            from ..partners.notify import notify_user

            notify_user(user, kind, _Rendered(render, 0), _Rendered(render, 1), link)


def notify_managers(partner, kind: str, render: Callable, link: str) -> None:
    """The partner's administrators and deputies."""
    from ..partners.services import managers_of

    notify([m.user for m in managers_of(partner)], kind, render, link, partner.id)
