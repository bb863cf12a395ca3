"""Part 4 of the battery (brute force): the documented thresholds hold, through HTTP.

- password, TOTP code and recovery code share one counter per account
  (tradeportal/auth/lockout.py): after 10 consecutive failures the account is locked for
  15 minutes; meanwhile even the right password (and so any code) is refused with the
  answer of a wrong one; after 15 minutes the right secrets work again;
- a letter code (tradeportal/partners/letters.py) dies after 5 wrong codes: the right one is
  refused afterwards;
- an API client secret (256 bits, so guessing is hopeless) is limited per client address
  (TRADEPORTAL_API_TOKEN_RATE_LIMIT, 30/minute): the 31st request in a minute gets 429, and a
  known client id with a wrong secret gets the answer of an unknown one.

The limits per client address on the sign-in forms are tested in tests/test_auth_ratelimits.py.
Time is moved with time_machine, never waited for.
"""
from __future__ import annotations

import base64
import secrets
import time
import uuid

import pytest
import time_machine
from sqlalchemy import select

from tradeportal import extensions as ext

from . import figures
from .helpers_b import CSRF_INPUT, new_partner, new_user

PART = "4 brute force and enumeration"
WRONG_PASSWORD = "Wrong-Password-Typed-13"


def _record(kind: str, **values) -> None:
    figures.record(PART, **{f"threshold_{kind}": values})


def _body(response, *drop: str) -> str:
    body = response.get_data(as_text=True)
    for text in drop:
        body = body.replace(text, "X")
    return CSRF_INPUT.sub("", body)


def _sign_in(client, email, password):
    return client.post_form("/sign-in?lang=en", {"email": email, "password": password}, token_from="/sign-in")


def _code(client, code):
    return client.post_form("/sign-in/code?lang=en", {"code": code}, token_from="/sign-in/code")


def _events(db, action, user) -> int:
    from tradeportal.audit import AuditEvent

    db.session.expire_all()
    return db.session.query(AuditEvent).filter_by(action=action, subject_user_id=user.id).count()


def _lock_mails(db, user) -> int:
    from tradeportal.mail import OutboxMessage

    return db.session.query(OutboxMessage).filter_by(template="auth_account_locked", recipient=user.email).count()


def _after_lock(app, db, user, sign_in_works) -> dict:
    """While locked the right password fails like a wrong one; 15 minutes later it works."""
    from tradeportal.auth import lockout

    client = app.test_client()
    right = _sign_in(client, user.email, _password())
    wrong = _sign_in(app.test_client(), user.email, WRONG_PASSWORD)
    refused = right.status_code == 422 and _body(right) == _body(wrong)
    with time_machine.travel(time.time() + lockout.LOCK_DURATION.total_seconds() + 5, tick=True):
        works_again = sign_in_works()
    return {"locked_events": _events(db, "auth.account_locked", user), "lock_mails": _lock_mails(db, user),
            "right_password_refused_while_locked": refused, "works_after_lock_duration": works_again}


def _password() -> str:
    from tests.conftest import TEST_PASSWORD

    return TEST_PASSWORD


def _full_sign_in(app, user, code=None) -> bool:
    client = app.test_client()
    if _sign_in(client, user.email, _password()).status_code != 302:
        return False
    return _code(client, code or user.totp.now()).headers.get("Location") == "/dashboard"


@pytest.fixture
def user(app, db):
    account = new_user("brute")
    db.session.commit()
    return account


def test_passwords_lock_the_account_after_ten_failures(app, db, user):
    from tradeportal.auth import lockout

    client = app.test_client()
    statuses = [_sign_in(client, user.email, WRONG_PASSWORD).status_code for _ in range(lockout.MAX_FAILURES)]
    assert statuses == [422] * lockout.MAX_FAILURES
    figures_ = _after_lock(app, db, user, lambda: _full_sign_in(app, user))
    _record("password", documented=lockout.MAX_FAILURES, failures_sent=len(statuses), **figures_)
    assert figures_ == {"locked_events": 1, "lock_mails": 1, "right_password_refused_while_locked": True,
                        "works_after_lock_duration": True}


@pytest.mark.parametrize("kind", ["totp", "recovery_code"])
def test_second_factor_guesses_lock_the_account_after_ten_failures(app, db, user, kind):
    from tradeportal.auth import lockout, recovery

    codes = recovery.replace_codes(user)
    db.session.commit()
    client = app.test_client()
    assert _sign_in(client, user.email, _password()).headers["Location"] == "/sign-in/code"
    wrong = "000000" if kind == "totp" else "2222-3333-4444"
    answers = [_code(client, wrong) for _ in range(lockout.MAX_FAILURES)]
    assert [a.status_code for a in answers] == [422] * (lockout.MAX_FAILURES - 1) + [302]
    assert answers[-1].headers["Location"] == "/sign-in"  # the pending sign-in ended with the lock
    assert client.get("/sign-in/code").status_code == 302 and not _full_sign_in_now(client)
    right = codes[0] if kind == "recovery_code" else None
    figures_ = _after_lock(app, db, user, lambda: _full_sign_in(app, user, right))
    _record(kind, documented=lockout.MAX_FAILURES, failures_sent=len(answers), **figures_)
    assert figures_ == {"locked_events": 1, "lock_mails": 1, "right_password_refused_while_locked": True,
                        "works_after_lock_duration": True}


def _full_sign_in_now(client) -> bool:
    return client.get("/dashboard").status_code == 200


def test_a_letter_code_dies_after_five_wrong_codes(app, db, login_as):
    from tradeportal.partners import letters
    from tradeportal.partners.models import Partner

    registrant = new_user("letter")
    partner = new_partner("letter_pending", registered_by_id=registrant.id)
    letter = letters.queue_letter(partner, registrant)
    right = letters.format_code(letter.code_plain)
    db.session.commit()
    client = login_as(registrant, app.test_client())
    url = f"/partners/{partner.id}/code?lang=en"

    def redeem(code):
        return client.post_form(url, {"code": code, "accept_terms": "y"}, token_from=url)

    wrong = "".join("A" if c != "A" else "B" for c in right if c != "-")
    answers = [redeem(wrong) for _ in range(letters.MAX_WRONG_CODES)]
    after = redeem(right)
    db.session.expire_all()
    status = db.session.get(Partner, partner.id).status
    refused = after.status_code == 422 and str(status) != "active" and "no valid one-time code" in after.get_data(
        as_text=True).lower()
    _record("letter_code", documented=letters.MAX_WRONG_CODES, failures_sent=len(answers),
            right_code_refused_after=refused)
    assert [a.status_code for a in answers] == [422] * letters.MAX_WRONG_CODES
    assert refused, (after.status_code, status)


@pytest.fixture
def limited(app, db, tmp_path):
    """The app with its rate limits on (in memory), on the same database."""
    from tradeportal import create_app
    from tradeportal.extensions import limiter

    enabled = limiter.enabled
    limited_app = create_app({
        "ENVIRONMENT": "testing", "SECRET_KEY": app.config["SECRET_KEY"], "INSTANCE_PATH": str(tmp_path),
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SMTP_HOST": None,
        "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_KEY_PREFIX": f"brute-{uuid.uuid4().hex}",
    })
    yield limited_app
    limiter.enabled = enabled


def test_api_client_secrets_are_rate_limited_and_do_not_tell_which_ids_exist(limited, db):
    from limits import parse

    from tradeportal.api.models import ApiApplication
    from tradeportal.api.services import sha256

    partner = new_partner("active")
    application = ApiApplication(partner_id=partner.id, name="Brute force", environment="test", scopes="",
                                 client_id="tp_" + secrets.token_hex(8),
                                 client_secret_hash=sha256(secrets.token_urlsafe(32)))
    db.session.add(application)
    db.session.commit()
    limit = parse(limited.config["API_TOKEN_RATE_LIMIT"])
    client = limited.test_client()

    def ask(client_id):
        basic = base64.b64encode(f"{client_id}:{secrets.token_urlsafe(32)}".encode()).decode()
        return client.post("/api/v1/token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": f"Basic {basic}"})

    known, unknown = ask(application.client_id), ask("tp_" + secrets.token_hex(8))
    identical = (known.status_code, known.get_data()) == (unknown.status_code, unknown.get_data())
    statuses = [ask(application.client_id).status_code for _ in range(limit.amount - 2)]
    over = ask(application.client_id)
    _record("api_secret", documented=str(limit), requests_sent=limit.amount + 1, status_over_limit=over.status_code,
            known_and_unknown_client_identical=identical)
    assert known.status_code == 401 and identical
    assert statuses == [401] * (limit.amount - 2) and over.status_code == 429
    assert ext.db.session.execute(select(ApiApplication.id)).scalars().all() == [application.id]
