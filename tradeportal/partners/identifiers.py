"""Enterprise identification numbers and their check digits.

Each agency accepts the schemes listed in TRADEPORTAL_IDENTIFIER_SCHEMES (default: all).
`normalise(value)` returns (scheme, canonical form) or None when the value is no valid
identifier of an accepted scheme.
"""
from __future__ import annotations

import re

_CHE_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4)


def che_check_digit(eight_digits: str) -> int | None:
    """Swiss UID check digit (modulus 11); None when no valid digit exists (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(eight_digits, _CHE_WEIGHTS))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def format_che(nine_digits: str) -> str:
    return f"CHE-{nine_digits[0:3]}.{nine_digits[3:6]}.{nine_digits[6:9]}"


def _che(value: str) -> str | None:
    digits = re.sub(r"[\s.\-]", "", value.upper())
    if not re.fullmatch(r"CHE\d{9}", digits):
        return None
    number = digits[3:]
    if che_check_digit(number[:8]) != int(number[8]):
        return None
    return format_che(number)


def _siren(value: str) -> str | None:
    digits = re.sub(r"\s", "", value)
    if re.fullmatch(r"\d{9}", digits) and luhn_valid(digits):
        return digits
    if re.fullmatch(r"\d{14}", digits) and (luhn_valid(digits) or _la_poste_siret(digits)):  # SIRET
        return digits
    return None


def _la_poste_siret(digits: str) -> bool:
    # La Poste's establishments share SIREN 356 000 000; their SIRETs follow "digit sum divisible by 5".
    return digits.startswith("356000000") and sum(int(d) for d in digits) % 5 == 0


def _be(value: str) -> str | None:
    digits = re.sub(r"[\s.]", "", value.upper()).removeprefix("BE")
    if not re.fullmatch(r"[01]\d{9}", digits):
        return None
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        return None
    return f"{digits[0:4]}.{digits[4:7]}.{digits[7:10]}"


def _bn(value: str) -> str | None:
    digits = re.sub(r"\s", "", value)
    return digits if re.fullmatch(r"\d{9}", digits) else None


SCHEMES = {"che": _che, "siren": _siren, "be": _be, "bn": _bn}


def accepted_schemes() -> list[str]:
    """The schemes this agency accepts (TRADEPORTAL_IDENTIFIER_SCHEMES, default all)."""
    from flask import current_app, has_app_context

    configured = current_app.config.get("IDENTIFIER_SCHEMES") if has_app_context() else None
    schemes = list(configured or SCHEMES)
    unknown = [name for name in schemes if name not in SCHEMES]
    if unknown:
        raise ValueError(f"TRADEPORTAL_IDENTIFIER_SCHEMES: unknown {', '.join(unknown)}; known: {', '.join(SCHEMES)}")
    return schemes


def identifier_prefixes(value: str) -> list[str]:
    """Canonical-form prefixes a partly typed identifier can match ("CHE-123.4", "0123.4", "7350")."""
    text = (value or "").strip().upper()
    digits = re.sub(r"\D", "", text)
    if not digits or len(digits) < 3 or re.search(r"[A-Z]", text.removeprefix("CHE").removeprefix("BE")):
        return []
    if text.startswith("CHE"):
        groups = [digits[i:i + 3] for i in range(0, min(len(digits), 9), 3)]
        return ["CHE-" + ".".join(groups)]
    prefixes = [digits]
    if digits[0] in "01" and len(digits) <= 10:  # Belgian enterprise numbers: 0123.456.789
        be = ".".join(p for p in (digits[0:4], digits[4:7], digits[7:10]) if p)
        prefixes.append(be)
    return prefixes


def normalise(value: str, schemes=None) -> tuple[str, str] | None:
    for name in schemes or SCHEMES:
        canonical = SCHEMES[name](value or "")
        if canonical:
            return name, canonical
    return None
