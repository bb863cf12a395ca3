"""Part 3 of the battery (fuzzing): what the three fuzzing modules share.

The hostile values (`PAYLOADS`, `VALUES`), the reading of a page's forms (`forms_of`,
`fields_of`), the checks of one answer (`problems`) and the figures (`record`): each module
records its own slice ("before_sign_in", "signed_in", "api") and the totals of part 3
(`forms`, `examples`, `failures`, `examples_per_form`) are recomputed from the slices, so
that the modules may run in any order, alone or together.
"""
from __future__ import annotations

import os
import re
from html.parser import HTMLParser

from hypothesis import strategies as st
from markupsafe import escape

from . import figures
from .world_areas import PDF

PART = "3 fuzzing"
MARK = "fz7q"
PAYLOADS = [
    f"<script>{MARK}()</script>", f'"><img src=x onerror={MARK}>', f"'; DROP TABLE user_account; -- {MARK}",
    f"' OR '1'='1 {MARK}", f"{{{{7*7}}}}{MARK}t", f"{{% for x in range(9) %}}{MARK}l{{% endfor %}}", f"${{7*7}}{MARK}",
    f"\u202e{MARK}\u200b\u200d", f"{MARK}\x00null", "\r\nSet-Cookie: x=1", "a@b.c\x00@example.com",
    "%00%0d%0a" + MARK, "😀" * 50, "x" * 5000, "Ä" * 300 + "@example.com",
]
ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",))
VALUES = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(ALPHABET, max_size=80),
    st.text(st.sampled_from("\u200b\u200c\u200d\u202e\u2066\ufeff\x00\x07\t\n<>\"'&{}%$;-"), max_size=40),
    st.builds(lambda a, p: a + p, st.text(ALPHABET, max_size=20), st.sampled_from(PAYLOADS)),
)
# A payload's markup as markup, or a template payload evaluated ({{7*7}} became 49, the loop ran).
UNESCAPED = re.compile(rf"<script>{MARK}|<img src=x onerror={MARK}|49{MARK}t|(?:{MARK}l){{3}}")
# Input types a person types into (a form with none of them is a button, not a form to fuzz).
FILLABLE = {"text", "email", "tel", "search", "url", "password", "number", "date", "datetime-local", "time",
            "month", "week"}
NOT_SENT = {"submit", "button", "reset", "image", "file"}
# What a file field receives: a valid PDF, random bytes, markup, an empty file.
FILE_CONTENTS = st.one_of(st.just(PDF), st.binary(max_size=2_000),
                          st.sampled_from([PAYLOADS[0].encode(), b"<html><script>fz7q()</script>",
                                           b"%PDF-1.4\n" + b"\x00" * 1000, b""]))
# A file's name: a plain one, a hostile one, a hostile one that ends in .pdf.
FILE_NAMES = st.one_of(st.just("invoice.pdf"), VALUES, VALUES.map(lambda v: v + ".pdf"))
# The files of a file field: a valid one half of the time, else up to three hostile ones.
FILES = st.one_of(st.just([("invoice.pdf", PDF)]), st.lists(st.tuples(FILE_NAMES, FILE_CONTENTS), max_size=3))


def examples(default: int) -> int:
    return int(os.environ.get("TRADEPORTAL_FUZZ_EXAMPLES") or default)


class _Forms(HTMLParser):
    """Every form of a page: (action, method) -> {name: (tag, type, options)}.

    `options` are the values the page offers (a select's options, the values of checkboxes,
    radios and named buttons); the CSRF token is left out."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.current: dict | None = None
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                            "fields": {}}
            self.forms.append(self.current)
            return
        if self.current is None:
            return
        fields = self.current["fields"]
        name = a.get("name")
        if tag in ("input", "textarea", "select", "button") and name and name != "csrf_token":
            kind = (a.get("type") or ("submit" if tag == "button" else "text")).lower()
            if tag in ("textarea", "select"):
                kind = tag
            _tag, _kind, options = fields.setdefault(name, (tag, kind, []))
            if kind in ("checkbox", "radio", "submit", "hidden") and a.get("value") is not None:
                options.append(a["value"])
            if tag == "select":
                self.select = name
        elif tag == "option" and self.select and self.current is not None:
            options = fields[self.select][2]
            if a.get("value") is not None:
                options.append(a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def forms_of(page: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def fields_of(page: str, action: str) -> dict:
    """The named fields of the form(s) whose action is `action`: {name: (tag, type)}."""
    found = {}
    for form in forms_of(page):
        if form["action"].split("?")[0] == action:
            for name, (tag, kind, _options) in form["fields"].items():
                found.setdefault(name, (tag, "text" if kind == "textarea" else kind))
    return found


def is_fillable(fields: dict) -> bool:
    """A field a person fills in or picks (text-like input, textarea, select, checkbox, radio)."""
    return any(tag in ("textarea", "select") or (tag == "input" and kind in FILLABLE | {"checkbox", "radio", "file"})
               for tag, kind, _options in fields.values())


def strategy_for(tag: str, kind: str, options: list) -> st.SearchStrategy:
    """Hostile text for every field; the offered values too where the page offers some (so that the
    form's branches behind a choice are reached); a file field gets files (`as_files` makes them sendable)."""
    if kind == "file":
        return FILES
    if options:
        return st.one_of(st.sampled_from(sorted(set(options))), VALUES)
    return VALUES


def as_files(values: dict, fields: dict) -> dict:
    """`values` ready to post: the files of file fields as fresh file objects (hypothesis may replay)."""
    import io

    return {name: [(io.BytesIO(content), filename) for filename, content in value]
            if fields.get(name, ("", ""))[1] == "file" else value for name, value in values.items()}


def problems(response, sent: dict, kinds: dict) -> list[str]:
    """What is wrong with one answer to a fuzzed form: a 5xx, a payload's markup echoed unescaped, or
    (on a 422) the text typed in a plain field not shown again."""
    found = []
    if response.status_code >= 500:
        found.append(f"status {response.status_code}")
    body = response.get_data(as_text=True)
    if UNESCAPED.search(body):
        found.append("a payload came back unescaped (or evaluated)")
    if response.status_code == 422:
        for name, value in sent.items():
            if name not in kinds or not isinstance(value, str):
                continue
            tag, kind = kinds[name][:2]
            shown = value.strip()
            plain = tag in ("input", "textarea") and kind in ("text", "email", "textarea") and name not in ("code",)
            if plain and shown and shown.isprintable() and len(shown) <= 254 and str(escape(shown)) not in body:
                found.append(f"{name}: the typed value is not shown again")
    return found


# --- figures -----------------------------------------------------------------------------

SLICES = ("before_sign_in", "signed_in", "api")


def record(slice_: str, *, forms: int, examples_run: int, failures: int, examples_per_form: int, **more) -> None:
    """Record one slice and recompute part 3's totals from every slice recorded in this figures file."""
    assert slice_ in SLICES
    figures.record(PART, **{f"forms_{slice_}" if slice_ != "api" else "api_bodies": forms,
                            f"examples_{slice_}": examples_run, f"failures_{slice_}": failures,
                            f"examples_per_form_{slice_}": examples_per_form}, **more)
    entry = figures.load().get(figures._database(), {}).get(PART, {})
    per_form = sorted({entry[f"examples_per_form_{s}"] for s in SLICES if f"examples_per_form_{s}" in entry})
    figures.record(
        PART,
        forms=sum(entry.get(f"forms_{s}", 0) for s in ("before_sign_in", "signed_in")),
        examples=sum(entry.get(f"examples_{s}", 0) for s in SLICES),
        failures=sum(entry.get(f"failures_{s}", 0) for s in SLICES),
        examples_per_form=per_form[0] if len(per_form) == 1 else "/".join(map(str, per_form)),
    )
