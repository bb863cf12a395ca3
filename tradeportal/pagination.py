"""Offset pagination that costs one query: fetch one row more than the page shows."""
from __future__ import annotations

from dataclasses import dataclass

from .extensions import db

PAGE_SIZE = 20
MAX_PAGE = 10_000


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.number > 1


def paginate(stmt, number: int, size: int = PAGE_SIZE) -> Page:
    number = max(1, min(number or 1, MAX_PAGE))
    rows = list(db.session.execute(stmt.limit(size + 1).offset((number - 1) * size)).scalars())
    return Page(items=rows[:size], number=number, has_next=len(rows) > size)
