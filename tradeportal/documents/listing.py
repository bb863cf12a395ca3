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
from operator import attrgetter

import flask_babel
from babel.dates import DateTimeFormat, tokenize_pattern

from .. import i18n
from ..extensions import babel as _babel

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
_TENTH = Decimal("0.1")


class DateTimes:
    """`format_datetime(value, format)` for the many values of one request, with the same text.

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
        self._fallback = True
        locale = i18n.chosen_babel_locale() or flask_babel.get_locale()
        if locale is None:
            return
        format = self.format
        if format in ("short", "medium", "long", "full"):
            format = _babel.date_formats.get(f"datetime.{format}") or format
        pattern = i18n._pattern(locale, "datetime", format)
        if pattern is None:
            return
        tokens, clock = [], []
        for kind, value in tokenize_pattern(pattern.pattern):
            if kind == "field":
                char, width = value
                if char in _CLOCK:
                    clock.append(char)
                    value = (char, width, f"%0{width}d")
                elif char not in _DAY_FIELDS and char != "a":
                    return
            tokens.append((kind, value))
        self._locale, self._tokens = locale, tokens
        self._zone = i18n._zone(flask_babel.get_timezone())
        if all(char in _CLOCK_ATTRIBUTES for char in clock):
            self._clock = attrgetter(*[_CLOCK_ATTRIBUTES[char] for char in clock]) if len(clock) > 1 else (
                (lambda t, get=_CLOCK[clock[0]]: (get(t),)) if clock else (lambda t: ()))
        else:
            getters = [_CLOCK[char] for char in clock]
            self._clock = lambda t: tuple([get(t) for get in getters])
        self._fallback = False

    def _day_format(self, local, key: int) -> str:
        """The %-format of this half-day: babel's text of every other field, the clock's numbers left."""
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
                return i18n.format_datetime(value, self.format)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        local = value.astimezone(self._zone)
        key = local.toordinal() * 2 + (local.hour >= 12)
        text = self._days.get(key) or self._day_format(local, key)
        return text % self._clock(local)


class FileSizes:
    """`i18n.format_file_size` once per distinct text of a page.

    The text depends only on the unit and on the number rounded to one decimal, which babel computes
    as `Decimal(str(number)).quantize(Decimal("0.1"))` (half to even): sizes that round alike (1000
    and 1019 bytes are both "1.0 kB") are formatted once. Below a megabyte, size / 1024 is exact in
    a float and `str` writes it exactly, so the tenths are computed on integers.
    """

    def __init__(self):
        self._done: dict = {}

    def __call__(self, size: int) -> str:
        if size < 1_048_576:
            if size * 10 < 1024:
                key = 1  # written as 0.1 kB at least
            else:
                key, rest = divmod(size * 5, 512)  # tenths of a kilobyte: size * 10 / 1024
                if rest > 256 or (rest == 256 and key & 1):
                    key += 1
        else:
            key = ("MB", Decimal(str(size / 1_048_576)).quantize(_TENTH))
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
