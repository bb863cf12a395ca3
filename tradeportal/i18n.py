"""Language selection and formatting in the reader's locale.

Order: `?lang=xx` on any URL (remembered in a cookie and, when signed in, in the
profile), the signed-in person's saved language, the cookie, the browser's
Accept-Language, then TRADEPORTAL_DEFAULT_LOCALE.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, request
from flask_login import current_user

from .config import LOCALES

LANG_COOKIE = "tp_lang"
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "de": "Deutsch"}


def requested_locale() -> str | None:
    lang = request.args.get("lang", "")
    return lang if lang in LOCALES else None


def select_locale() -> str:
    if g.get("locale_override"):
        return g.locale_override
    chosen = requested_locale()
    if chosen:
        return chosen
    user = current_user
    if user and getattr(user, "is_authenticated", False) and user.locale in LOCALES:
        return user.locale
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LOCALES:
        return cookie
    return request.accept_languages.best_match(LOCALES) or current_app.config["DEFAULT_LOCALE"]


def remember_choice(response):
    """after_request: keep the language chosen with ?lang= in a cookie (a year)."""
    chosen = requested_locale()
    if chosen and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
        )
    return response


def save_choice_to_profile() -> None:
    """before_request: a signed-in person who picks a language keeps it in the profile."""
    chosen = requested_locale()
    if chosen and current_user.is_authenticated and current_user.locale != chosen:
        from .extensions import db

        current_user.locale = chosen
        db.session.commit()


def lang_url(code: str) -> str:
    """This page's URL in language `code` (keeps the other query parameters)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", code))
    return f"{request.path}?{urlencode(args)}"
