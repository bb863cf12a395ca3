"""Part 8 of the security battery: a crash between two steps leaves nothing half-done.

For each flow (registration: take-over, the agency's check, the letter's code, a request
to join; upload: files added, draft sent, the API; the agency's role decision; the
fan-out of a notification to a partner's members and of an agency notice by the worker)
the steps are found by running the action once (`faults.discover`: every call of the
portal's own functions made inside the service the view calls, each SQL write, the
commit). Then each step in turn raises `InjectedFault`, through the real route. After
each fault: the person sees the error page, every table holds exactly what it held
before, no file lies in the storage folder without its row, no e-mail was queued or
delivered (a real SMTP server listens). The same action then succeeds, so the fault
left no lock or stuck state. The outbox worker is faulted at every step of a delivery:
a message is neither lost nor sent twice.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from tradeportal import extensions as ext

from . import crash_flows as cf
from . import figures
from .conftest import diff, snapshot
from .faults import InjectedFault, Injector, discover, label

PART = "8 crash consistency"
# The one boundary where a crashed worker cannot know whether its message left (see _record_sent).
ACCEPTED_NOT_RECORDED = "mail._record_sent"
QUICK_POINTS = 6
pytestmark = pytest.mark.usefixtures("no_rate_limits")
_results: dict[str, dict] = {}


@pytest.fixture
def world(app, db, smtp, monkeypatch, tmp_path):
    # Unhandled errors become the error page, as in production; CSRF is tested in part 2.
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    logging.disable(logging.ERROR)  # hundreds of expected tracebacks
    w = cf.World(app, tmp_path / "uploads")
    w.smtp = smtp
    yield w
    logging.disable(logging.NOTSET)


def _record(flow: str, **numbers) -> None:
    if numbers.get("variant") == "quick" and _results.get(flow, {}).get("variant") == "full":
        return  # the full run of this flow said more
    _results[flow] = numbers
    totals = Counter()
    for values in _results.values():
        totals.update({k: v for k, v in values.items() if isinstance(v, int) and not isinstance(v, bool)})
    skipped = sorted({name for values in _results.values() for name in values.get("skipped", ())})
    totals["not_injectable"] = len(skipped)
    figures.record(PART, flows=len(_results), **dict(sorted(totals.items())), not_injectable_closures=skipped,
                   **{f"flow {name}": {k: v for k, v in values.items() if k != "skipped"}
                      for name, values in sorted(_results.items())})


def _wait_for_mail(smtp, expected: int) -> None:
    deadline = time.monotonic() + 2
    while len(smtp.messages) < expected and time.monotonic() < deadline:
        time.sleep(0.01)


def _completed(flow, w, target, response) -> bool:
    try:
        flow.done(w, target, response)
    except Exception:  # noqa: BLE001 - not completed, whatever the reason
        return False
    return True


def _chosen(plan, variant: str) -> list:
    """Every step in the full variant. In the quick one: QUICK_POINTS boundaries spread evenly over
    the calls and writes (the entry always among them), every commit, and the first step after
    each change to a file (which no rollback undoes)."""
    steps = plan.steps
    if variant == "full":
        return steps
    others = [i for i, s in enumerate(steps) if s.kind != "commit"]
    stride = max(1, -(-len(others) // QUICK_POINTS))
    chosen = set(others[::stride]) | {i for i, s in enumerate(steps) if s.kind == "commit"}
    chosen |= {i for i in plan.after_effects if i < len(steps)}
    return [steps[i] for i in sorted(chosen)]


VARIANTS = ["quick", pytest.param("full", marks=pytest.mark.slow)]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("flow", cf.HTTP_FLOWS, ids=lambda f: f.name)
def test_a_fault_at_any_step_leaves_nothing_half_done(app, world, flow, variant):
    w = world
    entries = flow.entries()
    # A first run warms what is made once per process (caches, the storage object), so that
    # the run that lists the steps takes the same path as every faulted one.
    flow.done(w, target := flow.setup(w), flow.act(w, target))
    target = flow.setup(w)
    mails = len(w.smtp.messages)
    plan = discover(entries, lambda: flow.act(w, target))
    flow.done(w, target, plan.result)
    _wait_for_mail(w.smtp, mails + flow.mails)
    assert len(w.smtp.messages) - mails == flow.mails, "the action without a fault sends its e-mails"
    assert plan.steps, "no step found"

    problems: list[str] = []
    counts = Counter()
    for step in _chosen(plan, variant):
        target = flow.setup(w)
        before, mails, orphans_before = snapshot(), len(w.smtp.messages), cf.orphan_files(w.upload_dir)
        with Injector(entries, step) as injector:
            response = flow.act(w, target)
        if not injector.fired:
            problems.append(f"{step}: not reached (the steps of one run differ from the next)")
            continue
        counts["faults_injected"] += 1
        if not cf.refused(response) and _completed(flow, w, target, response):
            counts["tolerated"] += 1  # the fault was caught and the action completed: consistent
            continue
        changed = diff(before, snapshot())
        orphans = sorted(set(cf.orphan_files(w.upload_dir)) - set(orphans_before))
        sent = len(w.smtp.messages) - mails
        if not cf.refused(response):
            problems.append(f"{step}: answered {response.status_code}, not the error page")
        if changed:
            counts["partial_states"] += 1
            problems.append(f"{step}: tables changed: {', '.join(changed)}")
        if orphans:
            counts["orphan_files"] += len(orphans)
            problems.append(f"{step}: files without a row: {orphans}")
        if sent:
            counts["mails_for_failed_actions"] += sent
            problems.append(f"{step}: {sent} e-mail(s) delivered for an action that failed")
        # The same action without a fault: no lock, no stuck state.
        mails = len(w.smtp.messages)
        try:
            flow.done(w, target, flow.act(w, target))
            _wait_for_mail(w.smtp, mails + flow.mails)
            assert len(w.smtp.messages) - mails == flow.mails, f"{len(w.smtp.messages) - mails} e-mails"
        except Exception as error:  # noqa: BLE001 - every problem is listed, not just the first
            counts["stuck_after_fault"] += 1
            problems.append(f"{step}: the action then fails without a fault: {error!r}")
    _record(flow.name, variant=variant, injection_points=len(plan.steps),
            faults_injected=counts["faults_injected"], partial_states=counts["partial_states"],
            orphan_files=counts["orphan_files"],
            mails_for_failed_actions=counts["mails_for_failed_actions"],
            stuck_after_fault=counts["stuck_after_fault"], tolerated=counts["tolerated"],
            not_injectable=len(plan.not_injectable), skipped=plan.not_injectable)
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems; steps: {plan.calls})"


# --- the worker: the fan-out of agency notices ---------------------------------------------------

def _queue_notice(w):
    from tradeportal.notifications.notices import queue_notice

    k = cf.n()
    data = {"audience": "everyone", "urgent": False}
    for code in ("fr", "en", "de"):
        data[f"subject_{code}"] = f"Notice {k} ({code})"
        data[f"body_{code}"] = f"Text {k}."
    notice = queue_notice(w.staff, data)
    ext.db.session.commit()
    return notice.id


def _fan_out_state(notice_id):
    """(cursor, status, notified user ids in order, e-mails queued for the notice)."""
    from tradeportal.mail import OutboxMessage
    from tradeportal.notifications.models import AgencyNotice, Notification

    ext.db.session.expire_all()
    notice = ext.db.session.get(AgencyNotice, notice_id)
    users = list(ext.db.session.execute(select(Notification.user_id).where(Notification.notice_id == notice_id)
                                        .order_by(Notification.user_id)).scalars())
    mails = ext.db.session.execute(select(OutboxMessage.recipient).where(
        OutboxMessage.template == "notification", OutboxMessage.body_text.contains(notice.body_en))).scalars().all()
    return notice.cursor_user_id, notice.status, users, sorted(mails)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_fault_in_the_worker_s_fan_out_loses_no_batch_and_doubles_none(app, world, variant):
    """Each batch is one transaction: after a fault the notified people are exactly those up to the
    cursor, each once, with their e-mails; the next pass finishes the notice, still once each."""
    from tradeportal.account.models import User
    from tradeportal.notifications import worker

    w = world
    audience = list(ext.db.session.execute(select(User).where(User.email_confirmed_at.is_not(None))
                                           .order_by(User.id)).scalars())
    with_mail = sorted(u.email for u in audience if u.email_notifications)
    passes = lambda: worker.fan_out_notices(batch_size=2, max_batches=20)  # noqa: E731 - three batches
    worker_entries = [worker.fan_out_batch]

    def complete(notice_id):
        cursor, status, users, mails = _fan_out_state(notice_id)
        assert status == "done" and users == [u.id for u in audience], (status, users)
        assert mails == with_mail, mails

    notice_id = _queue_notice(w)
    passes()  # warms what is made once per process
    complete(notice_id)
    notice_id = _queue_notice(w)
    plan = discover(worker_entries, passes)
    complete(notice_id)
    problems, counts = [], Counter()
    for step in _chosen(plan, variant):
        notice_id = _queue_notice(w)
        with Injector(worker_entries, step) as injector:
            line = passes()
        if not injector.fired:
            problems.append(f"{step}: not reached")
            continue
        counts["faults_injected"] += 1
        cursor, status, users, mails = _fan_out_state(notice_id)
        upto = [u.id for u in audience if u.id <= cursor]
        expected_mails = sorted(u.email for u in audience if u.id <= cursor and u.email_notifications)
        if status == "done":
            counts["tolerated"] += 1  # the fault hit after the last batch's commit
        elif users != upto or mails != expected_mails:
            counts["partial_states"] += 1
            problems.append(f"{step}: cursor {cursor}, notified {users}, e-mails {len(mails)}: a half batch")
        if line is None or "in progress" not in line:
            problems.append(f"{step}: the pass reported {line!r}")
        try:
            passes()
            complete(notice_id)
        except AssertionError as error:
            counts["stuck_after_fault"] += 1
            problems.append(f"{step}: the next pass does not finish the notice: {error}")
    _record("fan_out_notice_worker", variant=variant, injection_points=len(plan.steps),
            faults_injected=counts["faults_injected"], partial_states=counts["partial_states"], orphan_files=0,
            mails_for_failed_actions=0,
            stuck_after_fault=counts["stuck_after_fault"], tolerated=counts["tolerated"],
            not_injectable=len(plan.not_injectable), skipped=plan.not_injectable)
    assert not problems, "\n".join(problems[:40]) + f"\nsteps: {plan.calls}"


# --- the worker: the outbox -----------------------------------------------------------------------

def _queue_mail(app, recipient: str) -> int:
    from tradeportal.mail import queue_mail

    with app.test_request_context("/"):
        message = queue_mail(recipient, "security_notice", "en", subject="Crash", name="Anna",
                             message="Something happened.", link="/x")
        ext.db.session.commit()
        return message.id


def _drain(later_minutes=(3, 10, 30)):
    """The next runs of the worker, each after the claim and the back-off have passed."""
    from tradeportal.db import utcnow
    from tradeportal.mail import send_due

    start = utcnow()
    for minutes in later_minutes:
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            send_due()


def _delivered_to(smtp, recipient: str) -> int:
    return sum(1 for m in smtp.messages if recipient in m.rcpt_tos)


def test_a_fault_at_any_step_of_a_delivery_neither_loses_the_mail_nor_sends_it_twice(app, world):
    from tradeportal import mail

    w = world
    entries = [mail.deliver_one]
    _queue_mail(app, "warm@example.com")
    mail.send_due()
    message_id = _queue_mail(app, "first@example.com")
    plan = discover(entries, mail.send_due)
    assert _delivered_to(w.smtp, "first@example.com") == 1
    problems, counts = [], Counter()
    for step in plan.steps:
        recipient = f"crash{cf.n()}@example.com"
        message_id = _queue_mail(app, recipient)
        with Injector(entries, step) as injector:
            try:
                mail.send_due()
            except InjectedFault:
                pass  # the worker died; it is started again
        if not injector.fired:
            problems.append(f"{step}: not reached")
            continue
        counts["faults_injected"] += 1
        ext.db.session.rollback()
        _drain()
        row = ext.db.session.get(mail.OutboxMessage, message_id)
        ext.db.session.refresh(row)
        sent = _delivered_to(w.smtp, recipient)
        if step.kind == "call" and label(step.code) == ACCEPTED_NOT_RECORDED and step.occurrence == 1:
            # A crash after the server's 250 and before any line of the recording: nothing can tell
            # the next pass that the message left. It is sent again (at least once, never lost).
            counts["window"] += 1
            if sent != 2 or row.sent_at is None:
                problems.append(f"{step}: delivered {sent} time(s), sent_at {row.sent_at}")
            continue
        if sent != 1 or row.sent_at is None:
            counts["lost" if sent == 0 else "sent_twice" if sent > 1 else "unmarked"] += 1
            problems.append(f"{step}: delivered {sent} time(s), sent_at {row.sent_at}")
    _record("outbox_worker", variant="full", injection_points=len(plan.steps),
            faults_injected=counts["faults_injected"],
            partial_states=0, orphan_files=0, mails_for_failed_actions=0, stuck_after_fault=0,
            mails_lost=counts["lost"], mails_sent_twice=counts["sent_twice"],
            not_injectable=len(plan.not_injectable), skipped=plan.not_injectable,
            sent_again_after_a_crash_between_acceptance_and_record=counts["window"])
    assert not problems, "\n".join(problems) + f"\nsteps: {plan.calls}"


def test_smtp_refusing_the_message_then_accepting_it_delivers_it_once(app, world, monkeypatch):
    from tradeportal import mail

    w, refusals = world, []

    async def refuse_once(server, session, envelope):
        if not refusals:
            refusals.append(envelope)
            return "451 4.3.0 try again later"
        w.smtp.messages.append(envelope)
        return "250 OK"

    monkeypatch.setattr(w.smtp, "handle_DATA", refuse_once)
    message_id = _queue_mail(app, "refused@example.com")
    assert mail.send_due() == (0, 1)
    row = ext.db.session.get(mail.OutboxMessage, message_id)
    assert row.sent_at is None and row.attempts == 1 and "451" in row.last_error
    _drain()
    assert len(refusals) == 1 and _delivered_to(w.smtp, "refused@example.com") == 1


def test_an_error_after_the_server_accepted_the_message_does_not_send_it_again(app, world, monkeypatch):
    """The server said 250, then the goodbye (QUIT) failed: the message left, so it is sent."""
    import smtplib

    from tradeportal import mail

    w = world
    docmd = smtplib.SMTP.docmd

    def failing_quit(self, cmd, args=""):
        if cmd.lower() == "quit":
            return 421, b"4.4.2 closing, timed out"  # smtplib raises on any answer but 221
        return docmd(self, cmd, args)

    monkeypatch.setattr(smtplib.SMTP, "docmd", failing_quit)
    message_id = _queue_mail(app, "quit@example.com")
    mail.send_due()
    monkeypatch.setattr(smtplib.SMTP, "docmd", docmd)
    _drain()
    row = ext.db.session.get(mail.OutboxMessage, message_id)
    ext.db.session.refresh(row)
    assert _delivered_to(w.smtp, "quit@example.com") == 1 and row.sent_at is not None


def test_one_failing_message_does_not_stop_the_worker_for_the_others(app, world, monkeypatch):
    from tradeportal import mail

    w = world
    broken = _queue_mail(app, "broken@example.com")
    _queue_mail(app, "fine@example.com")
    build = mail._build

    def fail_for_broken(message):
        if message.id == broken:
            raise InjectedFault("a message that cannot be built")
        return build(message)

    monkeypatch.setattr(mail, "_build", fail_for_broken)
    mail.send_due()
    assert _delivered_to(w.smtp, "fine@example.com") == 1
    monkeypatch.setattr(mail, "_build", build)
    _drain()
    assert _delivered_to(w.smtp, "broken@example.com") == 1


def test_a_rollback_undoes_what_a_savepoint_released(app, world):
    """The first write of a transaction inside `begin_nested()` (as partner registration and role
    requests do) is rolled back with the transaction; on SQLite the savepoint was the transaction."""
    from tradeportal.partners.models import RegisterEntry

    ext.db.session.rollback()
    before = cf.count(RegisterEntry)
    with ext.db.session.begin_nested():
        ext.db.session.add(RegisterEntry(identifier="CHE-999.999.991", name="Savepoint AG", name_search="savepoint ag",
                                         legal_form="AG", address_line1="Weg 1", postcode="3000", town="Bern",
                                         country="CH"))
    ext.db.session.rollback()
    assert cf.count(RegisterEntry) == before
