"""Delete my account: blockers, erasure, pseudonymised audit trail."""
from __future__ import annotations

import pytest

from tradeportal.account import services
from tradeportal.account.models import User
from tradeportal.audit import AuditEvent, record
from tradeportal.auth.models import AccountToken, RecoveryCode, UserSession
from tradeportal.db import utcnow
from tradeportal.mail import OutboxMessage
from tradeportal.public.models import Feedback

from .conftest import TEST_PASSWORD


@pytest.fixture
def fake_blocker(monkeypatch):
    blockers = []
    monkeypatch.setattr(services, "deletion_blockers", blockers)
    return blockers


def _delete(client, password=TEST_PASSWORD, confirm="y", lang="en"):
    data = {"password": password}
    if confirm:
        data["confirm"] = confirm
    return client.post_form(f"/account/delete?lang={lang}", data, token_from="/account/delete")


def test_deletion_is_refused_while_a_blocker_says_so(client, make_user, login_as, db, fake_blocker):
    user = make_user()
    fake_blocker.append(lambda u: "You are the only administrator of Muster AG." if u.id == user.id else None)
    fake_blocker.append(lambda u: None)
    login_as(user)
    page = client.get("/account/delete?lang=en").get_data(as_text=True)
    assert "You are the only administrator of Muster AG." in page and 'name="password"' not in page
    response = _delete(client)
    assert response.status_code == 409
    assert db.session.get(User, user.id) is not None


@pytest.mark.parametrize("password, confirm, message", [
    ("Wrong-password-1234", "y", "The password is not right"),
    ("", "y", "Enter your current password"),
    (TEST_PASSWORD, None, "Confirm that you want to delete your user account"),
])
def test_deletion_errors_change_nothing(client, make_user, login_as, db, fake_blocker, password, confirm, message):
    user = make_user()
    login_as(user)
    response = _delete(client, password, confirm)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body and "<title>Error:" in body
    db.session.expire_all()
    assert db.session.get(User, user.id) is not None
    assert client.get("/account").status_code == 200


def test_deletion_erases_the_person_and_pseudonymises_the_audit_trail(client, app, make_user, login_as, db, fake_blocker):
    user = make_user("leaving@example.com", locale="de")
    user_id = user.id
    staff = make_user(staff_permissions=["support"])
    bystander = make_user()
    db.session.add_all([
        RecoveryCode(user_id=user_id, code_hash="a" * 64),
        AccountToken(token_hash="b" * 64, user_id=user_id, purpose="change_email", expires_at=utcnow()),
        Feedback(page_url="/help", text="hi", locale="en", user_id=user_id),
    ])
    record("auth.signed_in", actor=user, subject_user_id=user_id, details={"method": "totp"})
    record("support.account_unlocked", actor=staff, subject_user_id=user_id, details={"reason": "called from +41 79 000 00 00"})
    record("auth.signed_in", actor=bystander, subject_user_id=bystander.id)
    db.session.commit()
    other = login_as(user, app.test_client())
    login_as(user)

    response = _delete(client, lang="de")
    assert response.status_code == 302 and response.headers["Location"] == "/account/deleted"
    assert "deleted" in client.get("/account/deleted?lang=en").get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert other.get("/account").status_code == 302

    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    for model in (UserSession, RecoveryCode, AccountToken):
        assert db.session.query(model).filter_by(user_id=user_id).count() == 0
    assert db.session.query(Feedback).one().user_id is None

    events = db.session.query(AuditEvent).order_by(AuditEvent.id).all()
    assert all(e.actor_user_id != user_id and e.subject_user_id != user_id for e in events)
    assert not any("leaving@example.com" in str((e.actor_label, e.details)) for e in events)
    own = [e for e in events if e.action == "auth.signed_in" and e.actor_user_id is None]
    assert len(own) == 1 and own[0].actor_label.startswith("deleted-user-") and own[0].ip_address is None
    pseudonym = own[0].actor_label
    unlocked = next(e for e in events if e.action == "support.account_unlocked")
    assert unlocked.actor_user_id == staff.id and unlocked.subject_user_id is None
    assert unlocked.details == {"subject": pseudonym}  # the reason could name the person
    deleted = next(e for e in events if e.action == "account.deleted")
    assert deleted.actor_label == pseudonym and deleted.ip_address is None
    kept = next(e for e in events if e.actor_user_id == bystander.id)
    assert kept.subject_user_id == bystander.id  # nobody else's events change

    mail = db.session.query(OutboxMessage).filter_by(recipient="leaving@example.com", template="account_deleted").one()
    assert mail.locale == "de"


def test_audit_events_stay_append_only_through_the_orm(app, make_user, db):
    user = make_user()
    event = record("auth.signed_in", actor=user, subject_user_id=user.id)
    db.session.commit()
    event.actor_label = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
