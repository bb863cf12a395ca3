"""Helpers of part B of the security battery (fuzzing, brute force, single use, crash consistency).

Rows are made with the ORM and a password hash computed once, so that hundreds of
trials do not spend their time in argon2.
"""
from __future__ import annotations

import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

import pyotp

from tests.conftest import TEST_PASSWORD
from tradeportal import extensions as ext

CI = bool(os.environ.get("CI"))
ON_POSTGRESQL = os.environ.get("TRADEPORTAL_TEST_DATABASE_URL", "").startswith("postgresql")
CSRF_INPUT = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*(")|(<meta name="csrf-token" content=")[^"]*(")')

_hashes: dict = {}
_counter = iter(range(1, 10_000_000))


def password_hash() -> str:
    """TEST_PASSWORD hashed once per hasher in use (the suite's small cost, or the production
    cost in tests marked `real_argon2`, whose timing must not include a rehash)."""
    from tradeportal.auth import passwords

    key = id(passwords._hasher)
    if key not in _hashes:
        _hashes[key] = passwords.hash_password(TEST_PASSWORD)
    return _hashes[key]


def new_user(prefix: str = "b", **fields):
    """A confirmed, enrolled account (password TEST_PASSWORD); `.totp` gives its codes."""
    from tradeportal.account.models import User, normalise_email
    from tradeportal.db import utcnow

    n = next(_counter)
    email = fields.pop("email", f"{prefix}{n}.{secrets.token_hex(3)}@example.com")
    secret = pyotp.random_base32(32)
    values = dict(email=email, email_normalized=normalise_email(email), password_hash=password_hash(),
                  first_name=f"Bea{n}", last_name=f"Tester{n}", locale="en", email_confirmed_at=utcnow(),
                  totp_secret=secret, totp_enrolled_at=utcnow())
    values.update(fields)
    user = User(**values)
    ext.db.session.add(user)
    ext.db.session.flush()
    user.totp = pyotp.TOTP(secret)
    return user


def new_partner(status: str = "active", **fields):
    from tradeportal.db import utcnow
    from tradeportal.partners.models import Partner

    n = next(_counter)
    name = fields.pop("name", f"Partner B{n} AG")
    values = dict(kind="legal_entity", status=status, source="register", identifier=f"CHE-{n:09d}",
                  registration_key=f"security-b-{n}-{secrets.token_hex(3)}", name=name, name_search=name.lower(),
                  legal_form="AG", address_line1=f"Marktgasse {n}", postcode="3011", town="Bern", country="CH",
                  locale="en", activated_at=utcnow() if status == "active" else None)
    values.update(fields)
    partner = Partner(**values)
    ext.db.session.add(partner)
    ext.db.session.flush()
    return partner


def add_member(partner, user, role: str = "administrator", rights: str = ""):
    from tradeportal.partners.models import Membership

    membership = Membership(partner_id=partner.id, user_id=user.id, role=role, rights=rights)
    ext.db.session.add(membership)
    ext.db.session.flush()
    return membership


def normalise_page(html: str) -> str:
    """An answer without what differs between two requests anyway (CSRF tokens, nonces)."""
    html = CSRF_INPUT.sub(lambda m: (m.group(1) or m.group(3)) + "X" + (m.group(2) or m.group(4)), html)
    html = re.sub(r'nonce="[^"]*"', 'nonce="X"', html)
    return html


# --- parallel attempts ---------------------------------------------------------------------

@dataclass
class RaceResult:
    outcomes: list = field(default_factory=list)

    @property
    def successes(self) -> int:
        return sum(1 for o in self.outcomes if o is True)

    @property
    def errors(self) -> list[str]:
        return [o for o in self.outcomes if isinstance(o, str)]


def race(app, attempt, parallel: int = 8, timeout: float = 30) -> RaceResult:
    """Run `attempt(index)` in `parallel` threads released together, each in its own
    request context (so its own session and database connection) and committing its
    own transaction. An attempt returns True when it won; an exception (a database
    that refuses a second writer) counts as "did not win" and is kept as text."""
    start = threading.Barrier(parallel, timeout=timeout)
    outcomes: list = [None] * parallel

    def run(index: int) -> None:
        with app.test_request_context("/", base_url="http://localhost"):
            try:
                start.wait()
                won = bool(attempt(index))
                ext.db.session.commit()
                outcomes[index] = won
            except Exception as error:  # noqa: BLE001 - recorded, judged by the caller
                ext.db.session.rollback()
                outcomes[index] = f"{type(error).__name__}: {str(error)[:120]}"
            finally:
                ext.db.session.remove()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(parallel)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 10
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))
    return RaceResult(outcomes)


class Rendezvous:
    """Wrap a read step so that every parallel attempt has read before any of them writes:
    the worst interleaving for a read-then-write (only the database's conditional UPDATE
    can then keep the secret single-use). A late or failed attempt never blocks the others."""

    def __init__(self, original, parties: int, timeout: float = 3):
        self.original = original
        self.barrier = threading.Barrier(parties, timeout=timeout)
        self.waited: set[int] = set()

    def __call__(self, *args, **kwargs):
        found = self.original(*args, **kwargs)
        me = threading.get_ident()
        if me not in self.waited:  # only an attempt's first read waits for the others
            self.waited.add(me)
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                pass
        return found

    def reset(self) -> None:
        self.barrier.reset()
