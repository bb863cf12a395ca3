"""E-mail through an outbox.

`queue_mail` renders a message in the recipient's language and adds an outbox
row in the same transaction as the action that causes it: if the action rolls
back, no e-mail exists. After the request's commit the new rows are delivered
(SMTP when TRADEPORTAL_SMTP_HOST is set, else appended to instance/mail.log);
`flask tp send-mail` retries failures with back-off. A row is claimed with a
conditional UPDATE before sending, so two workers never send it twice. A worker
killed after the server accepted a message and before it recorded that sends it
again once the claim has run out: at least once, never lost.
"""
from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app, g, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy import Integer, String, Text, event, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import utcnow
from .extensions import db

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
CLAIM_SECONDS = 120


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(5))
    template: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


def queue_mail(recipient: str, template: str, locale: str, **context) -> OutboxMessage:
    """Render `email/<template>.txt|.html` in `locale` and add it to the outbox.

    The first line of the text template is `Subject: …`; the rest is the body.
    Nothing is sent before the surrounding transaction commits.
    """
    context.setdefault("agency_name", current_app.config["AGENCY_NAME"])
    context.setdefault("base_url", current_app.config["BASE_URL"].rstrip("/"))
    with force_locale(locale):
        text = render_template(f"email/{template}.txt", **context)
        try:
            html = render_template(f"email/{template}.html", **context)
        except Exception:  # noqa: BLE001 - an HTML part is optional
            html = None
    first, _, body = text.lstrip().partition("\n")
    subject = first.removeprefix("Subject:").strip()
    message = OutboxMessage(
        recipient=recipient,
        subject=subject[:255],
        body_text=body.strip() + "\n",
        body_html=html,
        locale=locale,
        template=template,
    )
    db.session.add(message)
    return message


# --- delivery right after a commit -------------------------------------------

@event.listens_for(Session, "after_flush")
def _collect_new(session, _flush_context):
    for obj in session.new:
        if isinstance(obj, OutboxMessage):
            session.info.setdefault("outbox_new", set()).add(obj.id)


@event.listens_for(Session, "after_commit")
def _committed(session):
    ids = session.info.pop("outbox_new", None)
    if ids and has_request_context():
        g.setdefault("outbox_ready", set()).update(ids)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session):
    session.info.pop("outbox_new", None)


def deliver_committed() -> None:
    """Called after each request: deliver what this request committed."""
    ids = g.pop("outbox_ready", None)
    if not ids:
        return
    for message_id in sorted(ids):
        try:
            deliver_one(message_id)
        except Exception:  # noqa: BLE001 - the worker retries; the action stands
            log.exception("outbox delivery of message %s failed; the worker will retry", message_id)


# --- sending ------------------------------------------------------------------

def _claim(message_id: int) -> OutboxMessage | None:
    now = utcnow()
    token = secrets.token_hex(16)
    result = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), claim_token=token)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    message = db.session.get(OutboxMessage, message_id)
    db.session.refresh(message)
    return message if message.claim_token == token else None


def _build(message: OutboxMessage) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["From"] = formataddr((config["AGENCY_NAME"], config["MAIL_FROM"]))
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2] or "localhost")
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    # After the parts exist: making an alternative moves Content-* headers into the first part.
    email["Content-Language"] = message.locale
    return email


def _transmit(email: EmailMessage) -> None:
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        # Development: a log a tester can read to follow the links.
        with open(config["MAIL_LOG"], "a", encoding="utf-8") as fh:
            fh.write(f"=== {utcnow().isoformat()} ===\n")
            fh.write(f"To: {email['To']}\nSubject: {email['Subject']}\n\n")
            fh.write(email.get_body(("plain",)).get_content())
            fh.write("\n")
        return
    smtp = smtplib.SMTP(host, config["SMTP_PORT"], timeout=15)
    try:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(email)
    except BaseException:
        smtp.close()
        raise
    # The server has accepted the message: a failed goodbye must not make it look unsent (and sent again).
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def deliver_one(message_id: int) -> bool:
    """Send one message if nobody else is; True when it was sent now."""
    message = _claim(message_id)
    if message is None:
        return False
    try:
        _transmit(_build(message))
    except Exception as exc:  # noqa: BLE001 - any failure is retried later
        message.attempts += 1
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        message.claimed_until = None
        # Back-off: 1, 2, 4 … minutes, capped at an hour.
        message.next_attempt_at = utcnow() + timedelta(minutes=min(60, 2 ** (message.attempts - 1)))
        if message.attempts >= MAX_ATTEMPTS:
            message.failed_at = utcnow()
        db.session.commit()
        log.warning("mail %s not sent (attempt %s): %s", message.id, message.attempts, message.last_error)
        return False
    _record_sent(message_id, message.claim_token)
    return True


def _record_sent(message_id: int, claim_token: str, tries: int = 3) -> None:
    """The message has left: record it, trying again after an error, since a message whose
    claim runs out unrecorded is sent again by the next pass."""
    for attempt in range(1, tries + 1):
        try:
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == claim_token)
                .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1, claimed_until=None, last_error=None)
            )
            db.session.commit()
            return
        except Exception:  # noqa: BLE001 - retried; the last error is raised
            db.session.rollback()
            log.exception("mail %s was sent but not recorded as sent (try %s of %s)", message_id, attempt, tries)
            if attempt == tries:
                raise


def send_due(limit: int = 100) -> tuple[int, int]:
    """One pass of the worker: returns (sent, still waiting)."""
    now = utcnow()
    ids = db.session.execute(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).scalars().all()
    sent = 0
    for message_id in ids:
        # One message's trouble (a database error while claiming or recording it) must not stop
        # the pass: the message keeps its row and is tried again by a later pass.
        try:
            sent += bool(deliver_one(message_id))
        except Exception:  # noqa: BLE001 - logged; the rest of the batch goes on
            db.session.rollback()
            log.exception("outbox message %s could not be handled in this pass; it will be retried", message_id)
    return sent, len(ids) - sent
