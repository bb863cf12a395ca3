"""Language selection and formatting in the reader's locale.

Order: `?lang=xx` on any URL (remembered in a cookie and, when signed in, in the
profile), the signed-in person's saved language, the cookie, the browser's
Accept-Language, then TRADEPORTAL_DEFAULT_LOCALE.
"""
from __future__ import annotations

from datetime import date as _date, datetime as _datetime, timezone as _timezone
from operator import attrgetter
from urllib.parse import urlencode

import flask_babel
from flask import current_app, g, request
from flask.globals import _cv_app
from flask_login import current_user

from .current import request_user
from .config import LOCALES
from .extensions import babel as _babel

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
    user = request_user()
    if user is not None and getattr(user, "is_authenticated", False) and user.locale in LOCALES:
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
    req = request._get_current_object()  # asked three times a page: the proxy once
    if not req.args:
        return f"{req.path}?lang={code}"
    args = [(k, v) for k, v in req.args.items(multi=True) if k != "lang"]
    args.append(("lang", code))
    return f"{req.path}?{urlencode(args)}"


# --- templates: the catalogue looked up once per language, not per message --------------------
# flask_babel's template gettext resolves the context, the domain, the locale and its cache
# key on every message (about 14 µs; a page has 30 to 60 messages). The catalogue of the
# locale already chosen for this request (or forced by `force_locale`) is reused instead.
def chosen_babel_locale():
    """The babel Locale flask_babel chose for this context (or `force_locale` set), or None.

    Read through Flask's context variable rather than the `g` proxy: a page asks 50 to 100
    times (every message, date and localised name) and the proxy costs more than the lookup.
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        return None
    state = getattr(ctx.g, "_flask_babel", None)
    return None if state is None else state.babel_locale


def current_language(default: str = "fr") -> str:
    """"fr", "en" or "de" for this request: flask_babel's choice, made once per request."""
    locale = _chosen_locale()
    return str(locale) if locale is not None else default


def _request_translations(catalogues: dict):
    from flask_babel import get_translations

    locale = chosen_babel_locale()
    if locale is None:  # outside a request, or before the locale is chosen: flask_babel chooses it
        return get_translations()
    key = (locale.language, locale.territory, locale.script)
    translations = catalogues.get(key)
    if translations is None:
        translations = catalogues[key] = get_translations()
    return translations


def install_template_gettext(app) -> None:
    catalogues: dict = {}  # this app's catalogues (flask_babel keeps them for the process too)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _request_translations(catalogues).ugettext(s),
        ngettext=lambda s, p, n: _request_translations(catalogues).ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _request_translations(catalogues).upgettext(c, s),
        npgettext=lambda c, s, p, n: _request_translations(catalogues).unpgettext(c, s, p, n),
    )


# --- templates: dates formatted with patterns parsed once per locale and format ---------------
# flask_babel's format_datetime looks the CLDR patterns up, parses them and converts the time
# zone through pytz on every call (about 43 µs; the inbox shows 20 dates). The pattern of a
# (locale, kind, format) is built once; the conversion uses zoneinfo. Patterns that show a time
# zone name, and calls outside a request, go to flask_babel unchanged.
_ZONE_FIELDS = frozenset("zZvVOxX")
_patterns: dict = {}
_zones: dict = {}
_shared_datetimes: dict[tuple, tuple] = {}  # DateTimes: (language, format, zone) → what it prepared


def _pattern(locale, kind: str, format: str):
    key = (locale.language, locale.territory, locale.script, kind, format)
    found = _patterns.get(key, False)
    if found is not False:
        return found
    from babel.dates import DateTimePattern, get_datetime_format, parse_pattern

    if format in ("short", "medium", "long", "full"):
        date = locale.date_formats[format].pattern
        if kind == "date":
            text = date
        else:
            time = locale.time_formats[format].pattern
            # Babel joins the two formatted parts into the datetime format; joining the
            # patterns gives the same text (the glue's quoted literals stay literals).
            text = get_datetime_format(format, locale=locale).replace("{0}", time).replace("{1}", date)
    else:
        text = format
    pattern: DateTimePattern | None = parse_pattern(text)
    if _ZONE_FIELDS & {field[0] for field in _pattern_fields(text)}:
        pattern = None
    elif kind == "datetime" or kind == "date":
        pattern = _compile(text, locale, kind) or pattern
    _patterns[key] = pattern
    return pattern


class _CompiledPattern:
    """A date pattern as a list of pieces: literal text, or a function of the value.

    babel's `DateTimePattern.apply` looks every field up through `DateTimeFormat.__getitem__`
    and the locale's data on each call (about 35 µs for "d MMM y, HH:mm:ss"). Numbers are
    formatted here directly; names (months, weekdays, AM/PM) are asked of babel once per
    locale, for each possible value, so the text is babel's own. Only the fields below are
    compiled; a pattern with any other field keeps babel's `apply`.
    """

    __slots__ = ("pieces", "pattern")

    def __init__(self, pieces, pattern: str):
        self.pieces = pieces
        self.pattern = pattern  # the CLDR pattern's text, as babel's DateTimePattern has it

    def apply(self, value, locale=None) -> str:
        return "".join([piece if piece.__class__ is str else piece(value) for piece in self.pieces])


def _number(attribute: str, width: int, twelve_hour: bool = False):
    if twelve_hour:
        return lambda value: f"{(value.hour % 12 or 12):0{width}d}"
    return lambda value: f"{getattr(value, attribute):0{width}d}"


def _compile(text: str, locale, kind: str) -> _CompiledPattern | None:
    from datetime import datetime as _dt

    from babel.dates import DateTimeFormat, tokenize_pattern

    def babel_text(value, field):
        return DateTimeFormat(value, locale)[field]

    pieces: list = []
    for part, value in tokenize_pattern(text):
        if part == "chars":
            pieces.append(value)
            continue
        char, count = value
        field = char * count
        if kind == "date" and char in "aHhms":
            return None  # a time in a date's pattern: babel's own way
        if char in "dHms" and count <= 2:
            pieces.append(_number({"d": "day", "H": "hour", "m": "minute", "s": "second"}[char], count))
        elif char == "h" and count <= 2:
            pieces.append(_number("hour", count, twelve_hour=True))
        elif char == "M" and count <= 2:
            pieces.append(_number("month", count))
        elif char == "y" and count == 1:
            pieces.append(lambda value: str(value.year))
        elif char == "y" and count == 2:
            pieces.append(lambda value: f"{value.year % 100:02d}")
        elif char == "M" and count in (3, 4):
            names = [""] + [babel_text(_dt(2024, month, 1), field) for month in range(1, 13)]
            pieces.append(lambda value, names=names: names[value.month])
        elif char == "E" and count in (3, 4):
            names = [babel_text(_dt(2024, 1, 1 + day), field) for day in range(7)]  # 2024-01-01 is a Monday
            pieces.append(lambda value, names=names: names[value.weekday()])
        elif char == "a" and count <= 3:
            am, pm = babel_text(_dt(2024, 1, 1, 1), field), babel_text(_dt(2024, 1, 1, 13), field)
            pieces.append(lambda value, am=am, pm=pm: pm if value.hour >= 12 else am)
        else:
            return None
    merged: list = []
    for piece in pieces:  # neighbouring literals joined once
        if piece.__class__ is str and merged and merged[-1].__class__ is str:
            merged[-1] += piece
        else:
            merged.append(piece)
    return _CompiledPattern(merged, text)


def _pattern_fields(text: str) -> list[str]:
    from babel.dates import tokenize_pattern

    return [value[0] for kind, value in tokenize_pattern(text) if kind == "field"]


def _zone(tzinfo):
    name = getattr(tzinfo, "zone", None) or getattr(tzinfo, "key", None)
    zone = _zones.get(name)
    if zone is None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            zone = ZoneInfo(name) if name else tzinfo
        except (ZoneInfoNotFoundError, ValueError):
            zone = tzinfo
        _zones[name] = zone
    return zone


def _format(kind: str, value, format, rebase: bool):
    locale = chosen_babel_locale()  # what flask_babel chose (or force_locale set) for this context
    if locale is None:
        locale = flask_babel.get_locale()
        if locale is None:
            return None
    formats = _babel.date_formats
    if format is None:
        format = formats[kind]
    if format in ("short", "medium", "long", "full"):
        format = formats.get(f"{kind}.{format}") or format
    pattern = _pattern(locale, kind, format)
    if pattern is None:
        return None
    if value is None:
        value = _datetime.now(_timezone.utc)
    if isinstance(value, _datetime):
        if rebase:
            if value.tzinfo is None:
                value = value.replace(tzinfo=_timezone.utc)
            tzinfo = getattr(_cv_app.get().g._flask_babel, "babel_tzinfo", None) or flask_babel.get_timezone()
            value = value.astimezone(_zone(tzinfo))
        if kind == "date":
            value = value.date()
    elif not isinstance(value, _date):
        return None
    return pattern.apply(value, locale)


def format_datetime(datetime=None, format=None, rebase=True) -> str:
    """flask_babel.format_datetime with the pattern parsed once (same text, same arguments)."""
    text = _format("datetime", datetime, format, rebase)
    if text is None:
        return flask_babel.format_datetime(datetime, format, rebase)
    return text


def format_date(date=None, format=None, rebase=True) -> str:
    """flask_babel.format_date with the pattern parsed once (same text, same arguments)."""
    text = _format("date", date, format, rebase)
    if text is None:
        return flask_babel.format_date(date, format, rebase)
    return text


# --- lists: many dates of one request ---------------------------------------------------------
# Fields of a CLDR date pattern that depend only on the day (era, year, quarter, month, week, day,
# weekday), the clock's numbers (babel writes them as the value padded to the field's width), and
# the am/pm marker (the half-day).
_DAY_FIELDS = frozenset("GyYuUQqMLlwWdDFgEec")
_CLOCK = {
    "h": lambda t: t.hour % 12 or 12,
    "H": lambda t: t.hour,
    "K": lambda t: t.hour % 12,
    "k": lambda t: t.hour or 24,
    "m": lambda t: t.minute,
    "s": lambda t: t.second,
}
_CLOCK_ATTRIBUTES = {"H": "hour", "m": "minute", "s": "second"}


class DateTimes:
    """`format_datetime(value, format)` for the many values of one request (a list's dates), with
    the same text. Make one per request and format (the locale and zone are read at first use).

    `i18n.format_datetime` resolves the locale, the pattern and the time zone, and babel formats
    every field, on each call (about 90 k instructions). Here those are resolved once, and the
    fields that do not depend on the clock are formatted by babel once per half-day: what stays
    is a %-format of the clock's numbers ("2 déc. 2026, %02d:%02d:%02d"). Anything else (a pattern
    with a time zone or fractions of seconds, no locale) goes to `i18n.format_datetime`, value by
    value.
    """

    def __init__(self, format: str = "medium"):
        self.format = format
        self._days: dict[int, str] = {}
        self._fallback: bool | None = None  # not prepared yet

    def _prepare(self) -> None:
        """The pattern's parts, the zone and the texts of the half-days, shared by the requests of
        this worker in the same language, format and time zone (a list shows the same days again
        and again: each is formatted by babel once, not once per request)."""
        self._fallback = True
        locale = chosen_babel_locale() or flask_babel.get_locale()
        if locale is None:
            return
        tzinfo = flask_babel.get_timezone()
        key = (str(locale), self.format, getattr(tzinfo, "zone", None) or getattr(tzinfo, "key", None) or str(tzinfo))
        shared = _shared_datetimes.get(key)
        if shared is None:
            shared = self._prepare_for(locale, tzinfo)
            if shared is None:
                return
            if len(_shared_datetimes) >= 64:
                _shared_datetimes.clear()
            _shared_datetimes[key] = shared
        self._locale, self._tokens, self._zone, self._clock, self._days = shared
        if len(self._days) >= 4096:  # years of dates shown: start again
            self._days.clear()
        self._fallback = False

    def _prepare_for(self, locale, tzinfo) -> tuple | None:
        """(locale, tokens, zone, clock, half-days) of a pattern this class formats, else None."""
        from babel.dates import tokenize_pattern

        format = self.format
        if format in ("short", "medium", "long", "full"):
            format = _babel.date_formats.get(f"datetime.{format}") or format
        pattern = _pattern(locale, "datetime", format)
        if pattern is None:
            return None
        tokens, clock = [], []
        for kind, value in tokenize_pattern(pattern.pattern):
            if kind == "field":
                char, width = value
                if char in _CLOCK:
                    clock.append(char)
                    value = (char, width, f"%0{width}d")
                elif char not in _DAY_FIELDS and char != "a":
                    return None
            tokens.append((kind, value))
        if all(char in _CLOCK_ATTRIBUTES for char in clock):
            read_clock = attrgetter(*[_CLOCK_ATTRIBUTES[char] for char in clock]) if len(clock) > 1 else (
                (lambda t, get=_CLOCK[clock[0]]: (get(t),)) if clock else (lambda t: ()))
        else:
            getters = [_CLOCK[char] for char in clock]
            read_clock = lambda t: tuple([get(t) for get in getters])  # noqa: E731
        return locale, tokens, _zone(tzinfo), read_clock, {}

    def _day_format(self, local, key: int) -> str:
        """The %-format of this half-day: babel's text of every other field, the clock's numbers left."""
        from babel.dates import DateTimeFormat

        fields = DateTimeFormat(local, self._locale)
        parts = []
        for kind, value in self._tokens:
            if kind != "field":
                parts.append(value.replace("%", "%%"))
            elif len(value) == 3:  # a clock field
                parts.append(value[2])
            else:
                parts.append(fields[value[0] * value[1]].replace("%", "%%"))
        text = self._days[key] = "".join(parts)
        return text

    def __call__(self, value) -> str:
        if self._fallback is not False:
            if self._fallback is None:
                self._prepare()
            if self._fallback:
                return format_datetime(value, self.format)
        if value.tzinfo is None:
            value = value.replace(tzinfo=_timezone.utc)
        local = value.astimezone(self._zone)
        key = local.toordinal() * 2 + (local.hour >= 12)
        text = self._days.get(key) or self._day_format(local, key)
        return text % self._clock(local)


# --- templates: numbers and file sizes, the pattern parsed once --------------------------------
# flask_babel.format_decimal finds the locale through its own lookups and babel parses the
# number pattern on every call (about 15 µs; the documents list shows 20 sizes). The pattern of
# a (locale, format) is parsed once; the locale is the one chosen for this request.
_number_patterns: dict = {}
_catalogues: dict = {}


def _chosen_locale():
    return chosen_babel_locale() or flask_babel.get_locale()


def format_decimal(number, format=None) -> str:
    """flask_babel.format_decimal with the pattern parsed once (same text, same arguments)."""
    locale = _chosen_locale()
    if locale is None:
        return flask_babel.format_decimal(number, format)
    key = (locale.language, locale.territory, locale.script, format)
    pattern = _number_patterns.get(key)
    if pattern is None:
        from babel.numbers import parse_pattern

        pattern = _number_patterns[key] = parse_pattern(locale.decimal_formats[None] if format is None else format)
    return pattern.apply(number, locale)


def format_file_size(size: int) -> str:
    """A file's size as people read it: "1.5 MB", "340.2 kB" (never below 0.1 kB), localised."""
    translations = _request_translations(_catalogues)
    if size >= 1_048_576:
        return translations.ugettext("%(size)s MB") % {"size": format_decimal(size / 1_048_576, "#,##0.0")}
    return translations.ugettext("%(size)s kB") % {"size": format_decimal(max(size / 1024, 0.1), "#,##0.0")}
