"""Links of list rows: a URL built once with a marker number in place of a row's id, then split
around it, so that each row's link is the two parts with its id written in between.

`url_for` with arguments costs 10 to 30 k instructions a call; a list builds two or three links a
row. `id_link_parts` keeps the parts of a link whose only argument is the id, per endpoint and
mount point; `link_maker` makes them from a URL that has other arguments too (the partner's id).
"""
from __future__ import annotations

from flask import request, url_for

MARKER = 987654321  # a number no URL of the portal holds otherwise

_parts: dict = {}


def link_maker(url: str, marker: int = MARKER):
    """From a link built with `marker` as its last number, a function making it for another number."""
    head, found, tail = url.rpartition(str(marker))
    if not found:
        raise ValueError(f"{marker} is not in {url}")
    return lambda number: f"{head}{number}{tail}"


def id_link_parts(endpoint: str, name: str) -> tuple[str, str]:
    """`url_for(endpoint, **{name: id})` as the text before and after the id (once per mount point)."""
    key = (endpoint, name, request.root_path)
    parts = _parts.get(key)
    if parts is None:
        head, _sep, tail = url_for(endpoint, **{name: MARKER}).rpartition(str(MARKER))
        parts = _parts[key] = (head, tail)
    return parts
