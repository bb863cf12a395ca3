"""Display values of the partner's documents list, computed once per page in Python (issue #9).

The list shows 20 rows. Each Jinja call made for a row (a macro, `url_for`, `format_datetime`,
`format_file_size`, a translated label) costs 15 to 70 k instructions; the view computes these
values here instead: links from a prefix built once, labels and status tags once per page,
dates and sizes with the same text as `i18n.format_datetime` and `i18n.format_file_size`.
`tests/test_perf_documents.py` compares both for many values in every language.
"""
from __future__ import annotations

from datetime import timezone
from decimal import Decimal

import flask_babel
from babel.dates import DateTimeFormat, tokenize_pattern

from .. import i18n
from ..extensions import babel as _babel

# Fields of a CLDR date pattern that depend only on the day (era, year, quarter, month, week, day,
# weekday), the ones that are a plain number of the clock, and the am/pm marker.
_DAY_FIELDS = frozenset("GyYuUQqMLlwWdDFgEec")
_CLOCK = {
    "h": lambda t: t.hour % 12 or 12,
    "H": lambda t: t.hour,
    "K": lambda t: t.hour % 12,
    "k": lambda t: t.hour or 24,
    "m": lambda t: t.minute,
    "s": lambda t: t.second,
}


_TENTH = Decimal("0.1")


class DateTimes:
    """`format_datetime(value, format)` for the many values of one request, with the same text.

    `i18n.format_datetime` resolves the locale, the pattern and the time zone, and babel formats
    every field, on each call (about 90 k instructions). Here those are resolved once; the
    fields that depend only on the day are formatted once per day, the clock's numbers directly
    (as babel does: the value padded to the field's width), the am/pm marker once per half-day.
    Anything else (a pattern with a time zone, fractions of seconds, no request) goes to
    `i18n.format_datetime`, value by value.
    """

    def __init__(self, format: str = "medium"):
        self.format = format
        self._days: dict = {}
        self._periods: dict = {}
        self._ready = False
        self._fallback = True

    def _prepare(self) -> None:
        self._ready = True
        locale = i18n.chosen_babel_locale() or flask_babel.get_locale()
        if locale is None:
            return
        format = self.format
        if format in ("short", "medium", "long", "full"):
            format = _babel.date_formats.get(f"datetime.{format}") or format
        pattern = i18n._pattern(locale, "datetime", format)
        if pattern is None:
            return
        day_keys, clock, periods = [], [], []
        for kind, value in tokenize_pattern(pattern.pattern):
            if kind != "field":
                continue
            char, width = value
            key = char * width
            if char in _DAY_FIELDS:
                day_keys.append(key)
            elif char in _CLOCK:
                clock.append((key, width, _CLOCK[char]))
            elif char == "a":
                periods.append(key)
            else:
                return
        self._locale, self._pattern = locale, pattern
        self._zone = i18n._zone(flask_babel.get_timezone())
        self._day_keys, self._clock, self._period_keys = day_keys, clock, periods
        self._fallback = False

    def _day_format(self, local):
        """The pattern's %-format with this day's fields (and the half-day's marker) filled in."""
        key = (local.year, local.month, local.day, local.hour >= 12)
        text = self._days.get(key)
        if text is None:
            fields = DateTimeFormat(local, self._locale)
            values = {name: fields[name].replace("%", "%%") for name in self._day_keys + self._period_keys}
            for name, _width, _get in self._clock:
                values[name] = f"%({name})s"
            text = self._days[key] = self._pattern.format % values
        return text

    def __call__(self, value) -> str:
        if not self._ready:
            self._prepare()
        if self._fallback:
            return i18n.format_datetime(value, self.format)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        local = value.astimezone(self._zone)
        return self._day_format(local) % {name: "%0*d" % (width, get(local)) for name, width, get in self._clock}


class FileSizes:
    """`i18n.format_file_size` once per distinct text of a page.

    The text depends only on the unit and on the number rounded to one decimal, which babel computes
    as `Decimal(str(number)).quantize(Decimal("0.1"))` in the current decimal context: sizes
    that round alike (1000 and 1019 bytes are both "1.0 kB") are formatted once.
    """

    def __init__(self):
        self._done: dict[tuple, str] = {}

    def __call__(self, size: int) -> str:
        large = size >= 1_048_576
        key = (large, Decimal(str(size / 1_048_576 if large else max(size / 1024, 0.1))).quantize(_TENTH))
        text = self._done.get(key)
        if text is None:
            text = self._done[key] = i18n.format_file_size(size)
        return text


def link_maker(url: str, marker: int):
    """From a link built with `marker` as its last number, a function making it for another number."""
    head, found, tail = url.rpartition(str(marker))
    if not found:
        raise ValueError(f"{marker} is not in {url}")
    return lambda number: f"{head}{number}{tail}"
