"""The outbox: written with the action, delivered after the commit, retried, never twice."""
from __future__ import annotations

from email import message_from_bytes, policy
from datetime import timedelta

import pytest
import time_machine
from flask import g

from tradeportal.db import utcnow
from tradeportal.mail import OutboxMessage, deliver_committed, deliver_one, queue_mail, send_due


def _queue(app, db, locale="de"):
    with app.test_request_context("/"):
        message = queue_mail("anna@example.com", "security_notice", locale, subject="Test", name="Anna",
                             message="Something happened.", link="/x")
        db.session.commit()
        deliver_committed()
        return message.id


def test_committed_message_is_delivered_over_smtp_in_the_recipients_language(app, db, smtp):
    message_id = _queue(app, db, locale="de")
    assert len(smtp.messages) == 1
    email = message_from_bytes(smtp.messages[0].content, policy=policy.default)
    assert smtp.messages[0].rcpt_tos == ["anna@example.com"]
    assert email["Content-Language"] == "de"
    assert "Hallo Anna" in email.get_body(("plain",)).get_content()
    assert email.get_body(("html",)) is not None
    assert db.session.get(OutboxMessage, message_id).sent_at is not None


def test_rolled_back_action_sends_nothing(app, db, smtp):
    with app.test_request_context("/"):
        queue_mail("anna@example.com", "security_notice", "en", subject="Test", name="Anna", message="m")
        db.session.flush()
        db.session.rollback()
        deliver_committed()
        assert g.get("outbox_ready") is None
    assert smtp.messages == []
    assert db.session.query(OutboxMessage).count() == 0


def test_failure_is_retried_with_back_off_and_sent_once(app, db, smtp, monkeypatch):
    real_port = app.config["SMTP_PORT"]
    monkeypatch.setitem(app.config, "SMTP_PORT", 1)  # nothing listens there
    message_id = _queue(app, db)
    message = db.session.get(OutboxMessage, message_id)
    db.session.refresh(message)
    assert message.sent_at is None and message.attempts == 1 and "Error" in message.last_error
    assert message.next_attempt_at > utcnow()
    assert send_due() == (0, 0)  # not due yet
    monkeypatch.setitem(app.config, "SMTP_PORT", real_port)
    with time_machine.travel(utcnow() + timedelta(minutes=2)):
        assert send_due() == (1, 0)
        assert send_due() == (0, 0)
    assert len(smtp.messages) == 1


def test_a_claimed_message_is_not_sent_twice(app, db, smtp, monkeypatch):
    with app.test_request_context("/"):
        message = queue_mail("anna@example.com", "security_notice", "fr", subject="T", name="A", message="m")
        db.session.commit()
        message_id = message.id
    assert deliver_one(message_id) is True
    assert deliver_one(message_id) is False
    assert len(smtp.messages) == 1


def test_without_smtp_host_messages_go_to_the_mail_log(app, db, monkeypatch, tmp_path):
    log = tmp_path / "mail.log"
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    monkeypatch.setitem(app.config, "MAIL_LOG", str(log))
    _queue(app, db, locale="en")
    text = log.read_text()
    assert "To: anna@example.com" in text and "http://localhost/x" in text


def test_send_mail_command_runs_one_pass(app, db, smtp):
    with app.test_request_context("/"):
        queue_mail("ben@example.com", "security_notice", "en", subject="T", name="Ben", message="m")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["tp", "send-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert len(smtp.messages) == 1


def test_one_message_that_cannot_be_claimed_does_not_stop_the_pass(app, db, smtp, monkeypatch):
    import tradeportal.mail as mail

    with app.test_request_context("/"):
        first = queue_mail("anna@example.com", "security_notice", "fr", subject="A", name="A", message="m")
        second = queue_mail("ben@example.com", "security_notice", "fr", subject="B", name="B", message="m")
        db.session.commit()
        first_id, second_id = first.id, second.id
    real_claim = mail._claim

    def failing_claim(message_id):
        if message_id == first_id:
            raise RuntimeError("database went away")
        return real_claim(message_id)

    monkeypatch.setattr(mail, "_claim", failing_claim)
    assert send_due() == (1, 1)  # the second message went; the first waits for the next pass
    assert [m.rcpt_tos for m in smtp.messages] == [["ben@example.com"]]
    monkeypatch.setattr(mail, "_claim", real_claim)
    assert send_due() == (1, 0)
    assert db.session.get(OutboxMessage, first_id).sent_at is not None
    assert db.session.get(OutboxMessage, second_id).sent_at is not None
