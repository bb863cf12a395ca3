"""Figures of the security battery, written by the tests that measure them.

Each part of the battery (see docs/SECURITY.md) calls `record(part, **figures)` with
numbers it measured in this run: cells tested, failures, examples run, trials,
double redemptions, timing differences. `make security-report` runs the battery and
then `python -m tests.security.report`, which turns the file into docs/SECURITY.md.
Nothing in the report is typed by hand: a part with no figures says so.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES_FILE = Path(os.environ.get("TRADEPORTAL_SECURITY_FIGURES", ROOT / "build" / "security-figures.json"))


def _database() -> str:
    url = os.environ.get("TRADEPORTAL_TEST_DATABASE_URL", "")
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def load() -> dict:
    try:
        return json.loads(FIGURES_FILE.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def record(part: str, **figures) -> None:
    """Merge `figures` into the part's entry for the current database."""
    data = load()
    entry = data.setdefault(_database(), {}).setdefault(part, {})
    entry.update(figures)
    entry["recorded_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    tmp = FIGURES_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")
    tmp.replace(FIGURES_FILE)
