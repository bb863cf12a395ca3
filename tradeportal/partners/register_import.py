"""Importing the company register from CSV: all rows valid, or nothing changes.

Columns (header row, comma or semicolon separated, UTF-8):
identifier, name, legal_form, address_line1, address_line2, postcode, town,
country, head_office_identifier, branch_number. A row whose identifier is known
updates that company; others are added; companies missing from the file stay.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from ..db import utcnow
from ..extensions import db
from .identifiers import accepted_schemes, normalise
from .models import RegisterEntry

COLUMNS = ("identifier", "name", "legal_form", "address_line1", "address_line2", "postcode", "town", "country",
           "head_office_identifier", "branch_number")
REQUIRED = ("identifier", "name", "legal_form", "address_line1", "postcode", "town", "country")
LIMITS = {"identifier": 32, "name": 200, "legal_form": 80, "address_line1": 200, "address_line2": 200,
          "postcode": 16, "town": 100, "country": 2, "head_office_identifier": 32, "branch_number": 16}


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)  # "line 7: …"


def _read(text: str) -> csv.DictReader:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return csv.DictReader(io.StringIO(text), delimiter=delimiter)


def _validate(reader: csv.DictReader, schemes) -> tuple[list[tuple[int, dict]], list[str]]:
    errors: list[str] = []
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [f"line 1: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"]
    reader.fieldnames = header
    rows: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        row = {c: (raw.get(c) or "").strip() or None for c in COLUMNS}
        problems = [f"{c} is empty" for c in REQUIRED if not row[c]]
        problems += [f"{c} is longer than {n} characters" for c, n in LIMITS.items() if row[c] and len(row[c]) > n]
        for column in ("identifier", "head_office_identifier"):
            if row[column]:
                found = normalise(row[column], schemes)
                if found is None:
                    problems.append(f"{column} {row[column]!r} is not a valid identifier (check digit or format)")
                else:
                    row[column] = found[1]
        if row["country"]:
            row["country"] = row["country"].upper()
            if not row["country"].isalpha() or len(row["country"]) != 2:
                problems.append("country must be a two-letter code")
        if bool(row["head_office_identifier"]) != bool(row["branch_number"]):
            problems.append("a branch needs both head_office_identifier and branch_number")
        if row["identifier"] and row["identifier"] in seen:
            problems.append(f"identifier {row['identifier']} already on line {seen[row['identifier']]}")
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
            continue
        seen[row["identifier"]] = line
        rows.append((line, row))
    return rows, errors


def import_register(text: str) -> ImportResult:
    """Validate every row, then add or update them in the current transaction (the caller commits)."""
    result = ImportResult()
    try:
        rows, result.errors = _validate(_read(text.lstrip("\ufeff")), accepted_schemes())
    except csv.Error as error:
        result.errors.append(f"the file is not valid CSV: {error}")
        return result
    if result.errors:
        return result
    in_file = {row["identifier"] for _line, row in rows}
    for line, row in rows:
        head = row["head_office_identifier"]
        if head and head not in in_file and db.session.execute(
                select(RegisterEntry.id).where(RegisterEntry.identifier == head)).first() is None:
            result.errors.append(f"line {line}: head office {head} is neither in the file nor in the register")
    if result.errors:
        return result
    now = utcnow()
    for start in range(0, len(rows), 500):
        chunk = [row for _line, row in rows[start:start + 500]]
        existing = {e.identifier: e for e in db.session.execute(
            select(RegisterEntry).where(RegisterEntry.identifier.in_([r["identifier"] for r in chunk]))).scalars()}
        for row in chunk:
            entry = existing.get(row["identifier"])
            if entry is None:
                entry = RegisterEntry(identifier=row["identifier"])
                db.session.add(entry)
                result.added += 1
            else:
                result.updated += 1
            for column in COLUMNS[1:]:
                setattr(entry, column, row[column])
            entry.name_search = " ".join(row["name"].lower().split())
            entry.imported_at = now
        db.session.flush()
    return result
