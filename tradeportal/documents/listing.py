"""Display values of the partner's documents list, computed once per page in Python (issue #9).

The list shows 20 rows. Each Jinja call made for a row (a macro, `url_for`, `format_datetime`,
`format_file_size`, a translated label) costs 15 to 70 k instructions; the view computes these
values here instead: links from a prefix built once per page, labels once per page, status tags,
dates and sizes once per worker and language, with the same text as `i18n.format_datetime` and
`i18n.format_file_size`.
`tests/test_perf_documents.py` compares both for many values in every language.
"""
from __future__ import annotations

from decimal import Decimal

from .. import i18n
from ..i18n import DateTimes  # noqa: F401 - the list's dates (i18n's per-request formatter)
from ..links import link_maker  # noqa: F401 - the list's links

_TENTH = Decimal("0.1")


class FileSizes:
    """`i18n.format_file_size` once per distinct text and language in a worker.

    The text depends only on the unit and on the number rounded to one decimal, which babel computes
    as `Decimal(str(number)).quantize(Decimal("0.1"))` (half to even): sizes that round alike (1000
    and 1019 bytes are both "1.0 kB") are formatted once. Below a megabyte, size / 1024 is exact in
    a float and `str` writes it exactly, so the tenths are computed on integers. The texts are
    kept per language for the worker's next requests (`_texts`).
    """

    def __init__(self):
        self._done: dict | None = None

    def __call__(self, size: int) -> str:
        done = self._done
        if done is None:
            done = self._done = _texts_of(i18n.current_language())
        if size < 1_048_576:
            if size * 10 < 1024:
                key = 1  # written as 0.1 kB at least
            else:
                key, rest = divmod(size * 5, 512)  # tenths of a kilobyte: size * 10 / 1024
                if rest > 256 or (rest == 256 and key & 1):
                    key += 1
        else:
            key = ("MB", Decimal(str(size / 1_048_576)).quantize(_TENTH))
        text = done.get(key)
        if text is None:
            if len(done) >= 20_000:
                done.clear()
            text = done[key] = i18n.format_file_size(size)
        return text


# The texts of each language, shared by the requests of a worker: a partner's list shows the same
# sizes page after page. Bounded (below a megabyte there are 10,240 tenths of a kilobyte).
_texts: dict[str, dict] = {}


def _texts_of(language: str) -> dict:
    texts = _texts.get(language)
    if texts is None:
        texts = _texts[language] = {}
    return texts
