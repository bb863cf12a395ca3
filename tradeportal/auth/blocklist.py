"""Passwords that are refused because attackers try them first (NIST SP 800-63B 3.1.1.2).

The list is zxcvbn's 30,000 most common passwords plus our own words
(`data/blocklist_extra.txt`), compared lower-cased. It is loaded on first use
only, so that starting the portal costs nothing.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path

_EXTRA = Path(__file__).resolve().parent / "data" / "blocklist_extra.txt"
# "password2026!" is no better than "password": trailing digits and symbols are ignored.
_TRAILING = re.compile(r"[\d\W_]+$")
_lock = threading.Lock()
_words: frozenset[str] | None = None


def _load() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words = {w.lower() for w in FREQUENCY_LISTS["passwords"]}
    for line in _EXTRA.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(line.lower())
    return frozenset(words)


def words() -> frozenset[str]:
    global _words
    if _words is None:
        with _lock:
            if _words is None:
                _words = _load()
    return _words


def _repeated_unit(text: str) -> str | None:
    """"abcabcabcabc" → "abc": the shortest piece that, repeated, makes `text`."""
    match = re.fullmatch(r"(.+?)\1+", text, re.DOTALL)
    return match.group(1) if match else None


def is_blocked(password: str) -> bool:
    """True for a common password, also when followed only by digits or symbols,
    or repeated ("passwordpassword", "abcabcabcabc")."""
    lowered = password.lower()
    blocked = words()
    stem = _TRAILING.sub("", lowered)
    for candidate in {lowered, stem}:
        if not candidate:
            continue
        if candidate in blocked:
            return True
        unit = _repeated_unit(candidate)
        if unit is not None and (len(unit) <= 3 or unit in blocked):
            return True
    return False
