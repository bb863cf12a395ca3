"""Password rules (NIST SP 800-63B / ASVS 5): length, blocklist, the address's first part."""
from __future__ import annotations

import pytest

from tradeportal.auth import blocklist, passwords


def test_blocklist_is_large_and_holds_our_own_words():
    words = blocklist.words()
    assert len(words) >= 10_000
    assert {"password", "123456", "qwerty", "tradeportal", "douane", "zoll", "customs"} <= words
    assert all(word == word.lower() for word in list(words)[:1000])


@pytest.mark.parametrize("password", [
    "passwordpassword", "PasswordPassword", "123456789012", "TradePortal2026!", "Douane-123456", "customs!!!!!!!!!",
    "qwertyuiop123", "abcabcabcabc", "zzzzzzzzzzzzzz",
])
def test_common_passwords_are_refused(password):
    assert passwords.password_problem(password, "anna@example.com") is not None


@pytest.mark.parametrize("password", [
    "Correct-Horse-Battery-42", "mauve lettuce tractor glacier", "Zürich tram 11 to Rehalp!", "🙂🙂 emoji are fine here",
    "lamp-cactus-" * 10 + "tuba-mug", "   spaces   count   ",
])
def test_good_passwords_of_any_characters_are_accepted(password):
    assert passwords.password_problem(password, "anna@example.com") is None


def test_length_is_12_to_128_characters():
    assert "at least 12" in str(passwords.password_problem("Tr4in-lamp?", None))
    assert passwords.password_problem("Tr4in-lamp?x", None) is None
    assert "128" in str(passwords.password_problem("y" * 129, None))


def test_the_first_part_of_the_address_is_refused_case_insensitively():
    problem = passwords.password_problem("My-ANNA.MUSTER-garden", "Anna.Muster@example.com")
    assert problem is not None and "e-mail" in str(problem)
    # A first part shorter than 3 characters would refuse too much.
    assert passwords.password_problem("jo jumps over the fence", "jo@example.com") is None


@pytest.mark.real_argon2
def test_production_hashes_use_argon2id_at_its_production_cost():
    hashed = passwords.hash_password("mauve lettuce tractor glacier")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # argon2-cffi's RFC 9106 low-memory profile
    assert passwords.verify_password(hashed, "mauve lettuce tractor glacier")
    assert passwords._DUMMY_HASH.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # unknown accounts: the same work


def test_hashes_are_argon2id_and_verify():
    hashed = passwords.hash_password("mauve lettuce tractor glacier")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "mauve lettuce tractor glacier")
    assert not passwords.verify_password(hashed, "mauve lettuce tractor glacieR")
    assert not passwords.verify_password(None, "anything at all")
