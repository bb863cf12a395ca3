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


def window(number: int | None, size: int = PAGE_SIZE) -> tuple[int, dict]:
    """The page number kept within bounds, and the `limit` and `offset` of its rows: one row more
    than the page shows, so that the same query tells whether another page follows (`page_of`)."""
    number = max(1, min(number or 1, MAX_PAGE))
    return number, {"limit": size + 1, "offset": (number - 1) * size}


def page_of(rows: list, number: int, size: int = PAGE_SIZE) -> Page:
    """The page of the rows fetched for `window(number, size)`."""
    return Page(items=rows[:size], number=number, has_next=len(rows) > size)


def paginate(stmt, number: int, size: int = PAGE_SIZE) -> Page:
    number, bounds = window(number, size)
    rows = list(db.session.execute(stmt.limit(bounds["limit"]).offset(bounds["offset"])).scalars())
    return page_of(rows, number, size)
