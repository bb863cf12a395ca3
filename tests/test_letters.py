"""Verification letters: the code, its redemption (once, 14 days, 5 wrong codes), new letters, the staff PDF."""
from __future__ import annotations

import shutil
import subprocess
import threading
from datetime import timedelta

import time_machine
from sqlalchemy import select

from tests.test_partners_support import add_entry, audit_actions
from tradeportal.access import StaffPermission
from tradeportal.db import utcnow
from tradeportal.partners import letters
from tradeportal.partners.models import Membership, Partner, VerificationLetter
from tradeportal.partners.services import register_from_entry


def _register(db, user, name="Alpen Logistik AG", locale="fr", **entry_fields):
    entry = add_entry(db, name, **entry_fields)
    partner = register_from_entry(user, entry, locale)
    db.session.commit()
    letter = db.session.execute(select(VerificationLetter).where(VerificationLetter.partner_id == partner.id)).scalar_one()
    return partner, letter


def pdf_text(pdf: bytes, tmp_path) -> str:
    assert shutil.which("pdftotext"), "pdftotext is needed (apt-get install -y poppler-utils)"
    path = tmp_path / "letters.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def _in_language(text: str, letter, locale: str) -> bool:
    """The letter's dates are in `locale`, and so are its sentences once the catalogue has them."""
    from flask_babel import force_locale, format_date, gettext

    from tradeportal.config import LOCALES

    def expiry(code):
        with force_locale(code):
            return format_date(letter.expires_at, "long")

    flat = " ".join(text.split())
    date = expiry(locale)
    others = [expiry(o) for o in LOCALES if o != locale]
    if date not in flat or any(o in flat and o != date for o in others):
        return False
    with force_locale(locale):
        sentence = gettext("Your one-time code:")
    return sentence in flat


def test_codes_are_long_unambiguous_and_stored_hashed(app, db, make_user):
    codes = {letters.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 10 and set(code) <= set(letters.ALPHABET)
        assert not set(code) & set("ILOU")
    assert len(letters.ALPHABET) == 32  # 10 × 5 bits = 50 bits
    assert letters.format_code("ABCDE23456") == "ABCDE-23456"
    assert letters.normalise_code(" abcde-23456 ") == "ABCDE23456"
    assert letters.normalise_code("ABCDO-2345I") == "ABCD023451"  # read O as 0, I as 1
    assert letters.normalise_code("ABCDE-2345") is None
    partner, letter = _register(db, make_user())
    assert letter.code_hash == letters.hash_code(letter.code_plain) and len(letter.code_hash) == 64
    assert letter.code_plain not in letter.code_hash
    assert letter.expires_at - letter.created_at == timedelta(days=14)


def _redeem_url(client, partner, code, accept=True):
    url = f"/partners/{partner.id}/code"
    data = {"code": code}
    if accept:
        data["accept_terms"] = "y"
    return client.post_form(url, data, token_from=url)


def test_redeeming_makes_the_registrant_administrator(client, db, make_user, login_as):
    user = make_user()
    login_as(user)
    partner, letter = _register(db, user)
    code = letters.format_code(letter.code_plain).lower()
    assert _redeem_url(client, partner, code, accept=False).status_code == 422  # the terms must be accepted
    response = _redeem_url(client, partner, code)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/partners/{partner.id}")
    db.session.expire_all()
    membership = db.session.execute(select(Membership)).scalar_one()
    assert (membership.user_id, membership.role) == (user.id, "administrator")
    assert db.session.get(Partner, partner.id).status == "active"
    letter = db.session.get(VerificationLetter, letter.id)
    assert letter.redeemed_by_id == user.id and letter.code_plain is None
    assert "partners.code_redeemed" in audit_actions(db, partner.id)
    assert client.get(f"/partners/{partner.id}").status_code == 200


def test_someone_else_cannot_use_the_code_page(client, db, make_user, login_as):
    partner, letter = _register(db, make_user())
    login_as(make_user())
    assert client.get(f"/partners/{partner.id}/code").status_code == 404
    assert client.get(f"/partners/{partner.id}/registration").status_code == 404


def test_code_expires_after_14_days(client, db, make_user, login_as):
    user = make_user()
    partner, letter = _register(db, user)
    code = letter.code_plain
    login_as(user)
    with time_machine.travel(utcnow() + timedelta(days=14, seconds=1)):
        login_as(user)
        response = _redeem_url(client, partner, code)
        assert response.status_code == 422
        assert "No valid one-time code" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(Membership).count() == 0
    with time_machine.travel(utcnow() + timedelta(days=13, hours=23)):
        login_as(user)
        assert _redeem_url(client, partner, code).status_code == 302


def test_five_wrong_codes_kill_the_code(client, db, make_user, login_as):
    user = make_user()
    login_as(user)
    partner, letter = _register(db, user)
    code = letter.code_plain
    wrong = "ZZZZZ-ZZZZZ" if letter.code_plain != "ZZZZZZZZZZ" else "YYYYY-YYYYY"
    for attempt in range(1, 5):
        response = _redeem_url(client, partner, wrong)
        assert response.status_code == 422
        assert f"Attempts left: {5 - attempt}" in response.get_data(as_text=True)
    response = _redeem_url(client, partner, wrong)
    assert "Request a new letter" in response.get_data(as_text=True)
    db.session.expire_all()
    letter = db.session.get(VerificationLetter, letter.id)
    assert letter.failed_attempts == 5 and letter.revoked_at is not None and letter.code_plain is None
    # Even the right code no longer works.
    response = _redeem_url(client, partner, code)
    assert response.status_code == 422
    assert db.session.query(Membership).count() == 0


def test_the_right_code_after_the_fifth_wrong_one_fails(app, db, make_user):
    user = make_user()
    partner, letter = _register(db, user)
    code = letter.code_plain
    for _ in range(5):
        assert letters.redeem_code(user, partner, "22222-22222" if code != "2222222222" else "33333-33333").outcome == "wrong"
        db.session.commit()
    assert letters.redeem_code(user, partner, code).outcome == "no_code"


def test_malformed_codes_are_not_counted(client, db, make_user, login_as):
    user = make_user()
    login_as(user)
    partner, letter = _register(db, user)
    assert _redeem_url(client, partner, "12").status_code == 422
    db.session.expire_all()
    assert db.session.get(VerificationLetter, letter.id).failed_attempts == 0


def test_two_people_redeeming_at_once_exactly_one_wins(app, db, make_user):
    """Two claimants (the registrant and a person who asked to join) enter the code at the same moment."""
    from tradeportal.partners.services import ask_to_join

    registrant, colleague = make_user(), make_user()
    partner, letter = _register(db, registrant)
    with app.test_request_context():
        ask_to_join(colleague, partner, "I hold the letter")
        db.session.commit()
    code = letter.code_plain
    barrier = threading.Barrier(2)
    outcomes = {}

    def redeem(user_id):
        from tradeportal import extensions as ext

        with app.app_context():
            user = ext.db.session.get(type(registrant), user_id)
            target = ext.db.session.get(Partner, partner.id)
            barrier.wait()
            try:
                outcome = letters.redeem_code(user, target, code).outcome
                ext.db.session.commit()
            except Exception as error:  # a database that refuses the second writer also counts as "not won"
                ext.db.session.rollback()
                outcome = f"error: {type(error).__name__}"
            finally:
                ext.db.session.remove()
            outcomes[user_id] = outcome

    threads = [threading.Thread(target=redeem, args=(u.id,)) for u in (registrant, colleague)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes.values()).count("redeemed") == 1, outcomes
    db.session.expire_all()
    admins = db.session.execute(select(Membership).where(Membership.role == "administrator")).scalars().all()
    assert len(admins) == 1
    winner = db.session.get(VerificationLetter, letter.id).redeemed_by_id
    assert admins[0].user_id == winner and outcomes[winner] == "redeemed"


def test_new_letter_kills_the_old_code_and_is_limited(client, db, make_user, login_as):
    user = make_user()
    login_as(user)
    partner, first = _register(db, user)
    old_code = first.code_plain
    url = f"/partners/{partner.id}/letters"
    token_from = f"/partners/{partner.id}/registration"
    assert client.post_form(url, {}, token_from=token_from).status_code == 302
    db.session.expire_all()
    assert db.session.get(VerificationLetter, first.id).revoked_at is not None
    assert _redeem_url(client, partner, old_code).status_code == 422
    assert client.post_form(url, {}, token_from=token_from).status_code == 302
    assert db.session.query(VerificationLetter).count() == 3
    client.post_form(url, {}, token_from=token_from)
    assert db.session.query(VerificationLetter).count() == 3  # at most 3 in 30 days
    with time_machine.travel(utcnow() + timedelta(days=31)):
        login_as(user)
        client.post_form(url, {}, token_from=token_from)
        assert db.session.query(VerificationLetter).count() == 4


def test_letter_is_written_to_the_mail_log_in_development(app, db, make_user, monkeypatch, tmp_path):
    log = tmp_path / "mail.log"
    monkeypatch.setitem(app.config, "ENVIRONMENT", "development")
    monkeypatch.setitem(app.config, "MAIL_LOG", str(log))
    partner, letter = _register(db, make_user())
    assert letters.format_code(letter.code_plain) in log.read_text()


def test_letter_is_not_logged_outside_development(app, db, make_user, monkeypatch, tmp_path):
    log = tmp_path / "mail.log"
    monkeypatch.setitem(app.config, "MAIL_LOG", str(log))
    _register(db, make_user())
    assert not log.exists()


def test_staff_queue_pdf_and_posting(app, client, db, make_user, login_as, tmp_path):
    de_partner, de_letter = _register(db, make_user(), name="Aare Maschinen AG", locale="de",
                                      address_line1="Industriestrasse 9", postcode="4051", town="Basel")
    head = add_entry(db, "Leman Négoce SA", address_line1="Rue du Rhône 12", postcode="1201", town="Genève")
    branch_entry = add_entry(db, "Leman Négoce SA, succursale Lausanne", head=head.identifier, branch_number="0007",
                             address_line1="Avenue de la Gare 3", postcode="1003", town="Lausanne")
    branch = register_from_entry(make_user(), branch_entry, "fr")
    db.session.commit()
    branch_letter = db.session.execute(select(VerificationLetter).where(VerificationLetter.partner_id == branch.id)).scalar_one()
    codes = {de_letter.id: letters.format_code(de_letter.code_plain), branch_letter.id: letters.format_code(branch_letter.code_plain)}

    login_as(make_user(staff_permissions=[StaffPermission.PARTNERS]))
    assert client.get("/staff/letters").status_code == 403
    login_as(make_user(staff_permissions=[StaffPermission.LETTERS]))
    page = client.get("/staff/letters").get_data(as_text=True)
    assert "Aare Maschinen AG" in page and f'name="upto" value="{branch_letter.id}"' in page
    response = client.get(f"/staff/letters/letters.pdf?upto={branch_letter.id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data, tmp_path)
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == 2  # one page per letter
    german = next(p for p in pages if "Aare Maschinen AG" in p)
    ctx = app.test_request_context()
    ctx.push()
    assert codes[de_letter.id] in german and "Industriestrasse 9" in german and "4051 Basel" in german
    assert _in_language(german, de_letter, "de")  # the partner's language
    french = next(p for p in pages if "succursale Lausanne" in p)
    assert codes[branch_letter.id] in french and _in_language(french, branch_letter, "fr")
    ctx.pop()
    # A branch's letter goes to its head office.
    assert "Rue du Rhône 12" in french and "1201 Genève" in french and "Avenue de la Gare" not in french

    # A letter queued after the download is not marked posted with the others.
    late, late_letter = _register(db, make_user(), name="Saane Spedition AG")
    url = "/staff/letters/posted"
    assert client.post_form(url, {"upto": branch_letter.id}, token_from="/staff/letters").status_code == 302
    db.session.expire_all()
    for letter_id in codes:
        letter = db.session.get(VerificationLetter, letter_id)
        assert letter.posted_at is not None and letter.code_plain is None  # the code is wiped once posted
    assert db.session.get(VerificationLetter, late_letter.id).posted_at is None
    assert "partners.letter_posted" in audit_actions(db, de_partner.id)
    assert client.get(f"/staff/letters/letters.pdf?upto={branch_letter.id}").status_code == 404


def test_posted_code_still_works(client, db, make_user, login_as):
    user = make_user()
    partner, letter = _register(db, user)
    code = letter.code_plain
    staff = make_user(staff_permissions=[StaffPermission.LETTERS])
    with client.application.test_request_context():
        letters.mark_posted(staff, letter.id)
        db.session.commit()
    login_as(user)
    assert _redeem_url(client, partner, code).status_code == 302
