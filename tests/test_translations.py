"""The three catalogues are complete, current and use the glossary."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def _catalog(lang):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh)


def _ids(catalog):
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_no_untranslated_or_fuzzy_entries(lang):
    catalog = _catalog(lang)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy or not all(strings):
            problems.append(message.id)
    assert problems == [], f"{lang}: {len(problems)} untranslated or fuzzy, e.g. {problems[:5]}"


def test_catalogues_hold_every_message_of_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext",
         "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with open(pot, "rb") as fh:
        wanted = _ids(read_po(fh))
    for lang in ("fr", "en", "de"):
        missing = wanted - _ids(_catalog(lang))
        assert not missing, f"run `make translations`: {lang} lacks {sorted(missing)[:5]}"


@pytest.mark.parametrize(
    "english, french, german",
    [
        ("Terms of use", "Conditions d'utilisation", "Nutzungsbedingungen"),
        ("Back office", None, None),
    ],
)
def test_glossary_words(english, french, german):
    fr, de = _catalog("fr"), _catalog("de")
    if french:
        assert fr[english].string == french
    if german:
        assert de[english].string == german
