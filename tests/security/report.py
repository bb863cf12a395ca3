"""docs/SECURITY.md from the figures of the last run: `python -m tests.security.report`.

`make security-report` empties build/security-figures.json, runs the battery (on SQLite,
and on PostgreSQL when SECURITY_DATABASE_URL is set) and the browser journeys, then this.
Every number in the report comes from that file; the words around them (method, what a
part checks, the justified exceptions, read from the tests' own tables) come from here
and from the test modules. A part without figures says so.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from . import figures

OUT = figures.ROOT / "docs" / "SECURITY.md"
DATABASES = ("sqlite", "postgresql")

# (figures key, title, ASVS 5.0 / NIST anchor, what it checks and how). Static words, no figures.
PARTS = [
    ("1 access matrix", "1. Access matrix", "ASVS V8 (authorization)", """
Every rule of `app.url_map` × every method × 11 actors: anonymous, half-way through sign-in,
signed in without a partner, member of another partner, member without the right, member
holding every right, deputy, administrator, staff member without the permission, staff
member, and a real bearer token of an API application of another partner. The expected
outcome of a cell follows from the view's access declaration and the actor; the exceptions
are written in `tests/security/matrix.py` (listed below). A route without an entry fails
the suite, so a new route is tested the day it appears. Objects of partner A are asked for
by everyone, so another partner's object must answer 404, never 403. After every cell the
battery knows whether the database changed: it counts the INSERT, UPDATE and DELETE
statements sent to the engine and, when there was one, compares every table row by row.
A refused write must change nothing; a GET must change nothing either (part 2). When an
allowed write changed the world, its rows are put back as they were (`undo.py`; the world is
built again if that fails) before the next cell."""),
    ("2 CSRF and safe methods", "2. CSRF and safe methods", "ASVS V3.5 (CSRF)", """
Every state-changing route (every method but GET) is called by every actor who may call
it, once without a token and once with a token from another session: the answer must be
400 and no table may change. The bearer-token API is exempt (no cookie, so no CSRF);
the exempt routes are counted. A valid token is accepted (the check is not vacuous).
The matrix of part 1 proves that no GET, whoever sends it, changes the database, except
the documented bookkeeping below."""),
    ("3 fuzzing", "3. Fuzzing of forms and API bodies", "ASVS V1, V2 (encoding, validation)", """
hypothesis fills forms and API bodies with Unicode, zero-width and right-to-left characters,
NUL and control characters, very long values, HTML, SQL and template payloads (the values and
checks are shared, `tests/security/fuzzing.py`). Forms before sign-in and half-way through it
(`test_fuzz_forms.py`: sign-in, forgot-password, sign-up, feedback, second factor, enrolment,
password reset through a fresh link):
each form's fields are read from its own page. Signed-in forms (`test_fuzz_signed_in.py`):
found, not listed: every GET route the access matrix can build is fetched as an actor who may
use it (administrator of partner A, staff member with every permission, the person without a
partner, the owner of a person's object) and every post form with a field to fill in is fuzzed
once per route pattern of its action, every field included (hidden ones, options, checkbox
and button values). Forms that only another state shows are reached through it (a manual
entry awaiting the agency's check for its registrant's edit form, a granted role for the
staff's revoke form), and the password-reset form through a fresh reset link per example.
The world is put back row by row after each form and whenever a form ended
the session. For every form: no answer may be 5xx, no payload may come back unescaped, and on a
422 the text typed in a plain field is shown again. API bodies (`test_fuzz_api.py`): every POST,
PUT and PATCH of the OpenAPI document, with a valid bearer token of partner A (client
credentials for the token endpoint); bodies in the declared content type with hostile,
wrongly typed, missing and unknown fields and hostile files, or unexpected bodies (deeply
nested or huge JSON, bytes under a random content type). No answer may be 5xx, an error must
be a JSON problem (the OAuth error at the token endpoint) that parses and echoes no markup
unescaped, and a 4xx may change no table. 15 examples per form and operation on every run,
200 in the `slow` variants. The POST routes of the pages not fuzzed as a form are listed below:
each is a button without a field to fill in (sign-out, mark as read, withdraw, verify…) or a
link from an e-mail; the access matrix and the CSRF part call them all."""),
    ("4 brute force and enumeration", "4. Brute force and enumeration", "NIST SP 800-63B §5.2.2, ASVS V6.3", """
Thresholds (`test_bruteforce.py`, through HTTP, time moved with time_machine): password, TOTP
code and recovery code share one counter per account; after 10 consecutive failures the
account is locked for 15 minutes (one `auth.account_locked` event, one e-mail), the right
password is refused meanwhile with the very answer of a wrong one, and works again after the
15 minutes. A letter code dies after 5 wrong codes: the right one is refused afterwards. The
API token endpoint is limited per client address (`TRADEPORTAL_API_TOKEN_RATE_LIMIT`); a
known client id with a wrong secret gets the answer of an unknown one. The per-address limits
of the sign-in forms are tested in `tests/test_auth_ratelimits.py`.

Enumeration (`test_enumeration_timing.py`): sign-in (a wrong password) and forgot-password
answer an address with an account and one without identically (status, headers, body with
the address and CSRF token taken out), and the medians of their response times differ by less
than 10 %. Samples alternate in ABBA order after a warm-up, garbage collector paused.
Forgot-password takes one path for both (one look-up, one audit event); the link and its
e-mail are made by the worker (`flask tp send-mail`). Sign-in verifies a dummy argon2 hash for
unknown addresses. Forgot-password: 200 samples per side on every run; sign-in (one argon2
verification per request): 15 per side, 200 in the `slow` variant."""),
    ("5 single use under concurrency", "5. Single use under concurrency", "ASVS V6.5, V7.2", """
Each trial creates a fresh secret. Then 8 threads, each in its own request context (so its
own session and database connection), call the service function that the view calls, all
at the same moment: letter codes (`letters.redeem_code`, the registrant and 7 claimants),
recovery codes and TOTP steps (`auth.services.second_factor_step`), invitation links
(`members.accept_invitation`), reset links (`auth.services.reset_password`), e-mail
confirmation links (`onboarding.services.confirm_email`) and API refresh tokens
(`api.tokens.grant_refresh`). When a service reads before it writes, the read is wrapped so
that all 8 attempts have read before any of them writes: the worst interleaving, where only
the database's conditional UPDATE can keep the secret single-use. A trial passes with
exactly one success, one redemption in the database, and no database error for a loser
(a deadlock would be a 500 for that person). argon2 is replaced by a fixed hash in this test
only. Trials per kind: 15 on PostgreSQL and 8 on SQLite in CI, to keep the battery within its
time budget; `TRADEPORTAL_SINGLE_USE_TRIALS=200 make security-report` runs the issue's 200
trials (about 3 minutes on PostgreSQL)."""),
    ("6 sessions", "6. Sessions", "ASVS V7, NIST SP 800-63B §7", """
A new session id at sign-in; the old cookie dead after sign-out (replayed, it opens
nothing); a password change, a reset, a new authenticator app, new recovery codes and the
agency's reset of the second factor end the other sessions (the reset and the agency's
action end all of them); idle and absolute time-outs with the clock controlled
(time-machine); passive requests do not keep a session alive; cookie flags (HttpOnly,
SameSite=Lax, Secure in production, host-only)."""),
    ("7 headers", "7. Security headers", "ASVS V3.4", """
Every GET route as anonymous, administrator and staff member, plus 404, 405 and a 500
answer, and HTTPS: a CSP without unsafe-inline or unsafe-eval, `frame-ancestors 'none'`,
`object-src 'none'`, a strict `base-uri` and `default-src`, nosniff, a referrer policy,
`X-Frame-Options: DENY`, a permissions policy, COOP same-origin, `no-store` when signed in,
HSTS over HTTPS only. Downloaded files carry the stricter `default-src 'none'; sandbox`."""),
    ("7 headers (browser journeys)", "7b. CSP in the browser", "ASVS V3.4", """
Every browser test (Chromium through Playwright, `tests/browser`) listens for
`securitypolicyviolation` on every page it opens and fails on the first one."""),
    ("8 crash consistency", "8. Crash consistency", "ASVS V2.3 (business logic)", """
Flows (`test_crash_consistency.py`, through the real routes): registration (take-over from the
register, the agency's check of a manual entry, the letter's code, a request to join), upload
(files added to a draft, the draft sent, the API upload), the agency's role decision (approve,
reject), the fan-out of a notification to a partner's members (a document processed) and of an
agency notice by the worker, and the outbox worker's delivery. The steps are not listed by hand:
one run of the action under `sys.setprofile` (`tests/security/faults.py`) records every call of
the portal's own functions made inside the service the view calls, in order and per occurrence,
plus each SQL write and each commit or savepoint release; a new step is faulted the day it
appears. Each step in turn then raises an exception (the function object itself is swapped, so
every reference to it is caught; calls made by templates belong to the step that renders).
After each fault the person gets the error page (or the API's problem JSON), every table holds
exactly what it held before, no file lies in the storage folder without its row, no e-mail is
queued or delivered to the test SMTP server, and the same action then succeeds (no lock, no
stuck state). For the notice fan-out each batch is one transaction: after a fault the notified
people are exactly those up to the cursor, each once with their e-mail, and the next pass
finishes. For the outbox a fault at any step of a delivery (and an SMTP refusal, a failed QUIT
after the 250) neither loses the message nor sends it twice, with one exception counted below:
a crash after the server accepted a message and before any line of the recording ran cannot be
told from a crash before sending, so the message is sent again (at least once, never lost). The
quick variant faults 6 boundaries spread over each flow, every commit and the first step after
each file change; the `slow` variant faults every step."""),
    ("9 logs and audit", "9. Logs and audit", "ASVS V16 (logging)", """
The sensitive flows run through HTTP (sign-up, confirmation link, enrolment, sign-in with
password and code and with a recovery code, failures and a lock-out, password change,
reset link, new authenticator, new recovery codes, letter code, an administrator's
decision, sign-out everywhere) while everything is captured: every log record (the portal's
at DEBUG) as the app's formatter writes it, the mail log, the outbox, the notifications,
every audit column and the session cookies. Passwords, TOTP secrets and codes, recovery
codes and session ids must appear nowhere; a link token or letter code only in the e-mail
that carries it. Each step must write exactly the expected audit events. CR/LF, ANSI and
other control characters typed into paths and fields cannot forge a log line
(`tradeportal/logs.py` escapes them)."""),
    ("10 dependencies", "10. Dependencies", "ASVS V15.2", """
`pip-audit` checks the installed versions of the closure of `requirements.txt` and
`requirements-dev.txt` with PyPI's and OSV's vulnerability services, and, at the same
time, the `vulnerabilities` field of each package's project JSON on PyPI. That field
describes the latest release, so it is conclusive only for a pin that is the latest
release; the other pins are listed as "not auditable here" when neither service answered
(the PyPI mirror of this workplace serves only project-level JSON and api.osv.dev does not
resolve; on a CI with the real PyPI, pip-audit audits every pin). Each request is tried
three times; a few packages still unreachable are listed, not failed on; no source
answering at all fails under CI. A vulnerability fails the suite unless its id is justified
in `JUSTIFIED_VULNS`. `bandit` scans `tradeportal/` with `bandit.yaml`; the one skipped test
is B101 (assert_used: no assert sits in a function body, which a test proves). Every other
finding is fixed or justified in `JUSTIFIED_BANDIT`, and a justification that matches no
finding any more fails the suite."""),
]


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return f"{len(value)} (listed below)" if value else "none"
    return str(value).replace("|", "\\|")


def _table(entries: dict[str, dict]) -> list[str]:
    """figure × database; nested dicts (one per kind) become a table of their own."""
    dbs = [db for db in DATABASES if db in entries]
    flat = sorted({k for e in entries.values() for k, v in e.items() if not isinstance(v, dict) and k != "recorded_at"})
    lines = []
    if flat:
        lines += ["| figure | " + " | ".join(dbs) + " |", "|---|" + "---|" * len(dbs)]
        for key in flat:
            row = [_cell(entries[db].get(key, "—")) for db in dbs]
            if all(isinstance(entries[db].get(key), list) for db in dbs if key in entries[db]):
                row = [_cell(entries[db].get(key, [])) for db in dbs]
            lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(row) + " |")
        lines.append("")
    kinds = sorted({k for e in entries.values() for k, v in e.items() if isinstance(v, dict)})
    if kinds:
        metrics = sorted({m for e in entries.values() for k in kinds for m in (e.get(k) or {})
                          if isinstance(e.get(k), dict)})
        lines += ["| kind | database | " + " | ".join(m.replace("_", " ") for m in metrics) + " |",
                  "|---|---|" + "---|" * len(metrics)]
        for kind in kinds:
            for db in dbs:
                values = entries[db].get(kind)
                if isinstance(values, dict):
                    lines.append(f"| {kind.replace('_', ' ')} | {db} | "
                                 + " | ".join(_cell(values.get(m, "—")) for m in metrics) + " |")
                elif values is not None:
                    lines.append(f"| {kind.replace('_', ' ')} | {db} | {values} |")
        lines.append("")
    for key in sorted({k for e in entries.values() for k, v in e.items() if isinstance(v, list) and v}):
        for db in dbs:
            items = entries[db].get(key) or []
            if items:
                lines.append(f"{key.replace('_', ' ').capitalize()} ({db}):")
                lines.append("")
                lines += [f"- {item}" for item in items]
                lines.append("")
    recorded = ", ".join(f"{db} {entries[db].get('recorded_at', '?')}" for db in dbs)
    lines.append(f"_Recorded: {recorded} (UTC)._")
    lines.append("")
    return lines


def _justified() -> list[str]:
    """The exceptions the tests accept, read from their own tables (so the report cannot drift)."""
    from . import matrix
    from .conftest import BOOKKEEPING_COLUMNS
    from .test_dependencies import JUSTIFIED_BANDIT, JUSTIFIED_VULNS
    from .test_logs_audit import KNOWN_AUDIT_GAPS, KNOWN_FINDINGS

    lines = ["## What is justified, and why", "",
             "### Exceptions in the access matrix (`tests/security/matrix.py`)", ""]
    lines += [f"- `{endpoint}`: {entry.note}" for endpoint, entry in sorted(matrix.MATRIX.items()) if entry.note]
    lines += ["", "### Writes that a GET may make", "",
              "Columns left out of the comparison because reading writes them (bookkeeping, no audit):", ""]
    lines += [f"- `{table}.{column}`" for table, column in sorted(BOOKKEEPING_COLUMNS)]
    lines += ["", "GET routes allowed to change rows, for the actors who may call them:", ""]
    lines += [f"- `{endpoint}` ({', '.join(entry.get_changes)}): {entry.note}"
              for endpoint, entry in sorted(matrix.MATRIX.items()) if entry.get_changes]
    lines += ["", "### bandit findings that are not vulnerabilities", "", "| id | where | why |", "|---|---|---|"]
    lines += [f"| {test_id} | `{path}` `{text}` | {reason} |"
              for (test_id, path, text), reason in sorted(JUSTIFIED_BANDIT.items())]
    lines += ["", "### Accepted vulnerabilities", ""]
    lines += [f"- {vid}: {why}" for vid, why in sorted(JUSTIFIED_VULNS.items())] or ["None."]
    lines += ["", "### Open findings (known, not fixed yet)", "",
              "The battery found these; its tests accept exactly these and fail when one disappears "
              "(then remove it from the test) or another appears.", ""]
    lines += ([f"- {what} in the {place}: {why}" for (what, place), why in sorted(KNOWN_FINDINGS.items())]
              + [f"- audit, step \"{step}\": {why}" for step, why in sorted(KNOWN_AUDIT_GAPS.items())]) or ["None."]
    lines.append("")
    return lines


def render(data: dict) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Security and reliability battery", "",
        "<!-- Generated by `python -m tests.security.report` (`make security-report`); do not edit by hand. -->", "",
        "The portal holds companies' identities and their power to act before the agency. This page",
        "publishes what the battery in `tests/security/` checks and the figures of its last run, anchored",
        "on OWASP ASVS 5.0 level 2 and NIST SP 800-63B. Every number below was measured by that run and",
        f"written to `build/security-figures.json`; this page was generated on {now}.", "",
        "Run it: `make security-report` (SQLite; set `SECURITY_DATABASE_URL=postgresql+psycopg://…` to run",
        "it on PostgreSQL as well). `make test` runs the same tests. `-m \"not slow\"` leaves out the long",
        "parts (concurrency, dependency audit). `TRADEPORTAL_SINGLE_USE_TRIALS=200` gives part 5 its long run.", "",
        "## Summary", "",
        "| part | anchor | " + " | ".join(DATABASES) + " |", "|---|---|" + "---|" * len(DATABASES),
    ]
    for key, title, anchor, _text in PARTS:
        cells = []
        for db in DATABASES:
            entry = data.get(db, {}).get(key)
            cells.append(_summary(key, entry) if entry else "not run")
        lines.append(f"| {title} | {anchor} | " + " | ".join(cells) + " |")
    lines.append("")
    for key, title, anchor, text in PARTS:
        lines += [f"## {title}", "", f"Anchor: {anchor}.", "", text.strip(), ""]
        entries = {db: data[db][key] for db in DATABASES if key in data.get(db, {})}
        lines += _table(entries) if entries else ["_No figures in this run: this part has not run (or does not exist yet)._", ""]
    lines += _justified()
    return "\n".join(lines).rstrip() + "\n"


def _summary(key: str, entry: dict) -> str:
    """One line per part and database: the figure that says whether it held."""
    get = entry.get
    if key.startswith("1 "):
        return f"{get('cells')} cells, {get('failures')} failures"
    if key.startswith("2 "):
        return f"{get('csrf_requests', '?')} forged requests, {get('csrf_failures', '?')} accepted; " \
               f"{get('get_cells_changing_state', '?')} GET cells changing state"
    if key.startswith("5 "):
        kinds = [v for v in entry.values() if isinstance(v, dict)]
        trials = sum(v.get("trials", 0) for v in kinds)
        doubles = sum(v.get("double_redemptions", 0) for v in kinds)
        errors = sum(v.get("attempts_with_database_errors", 0) for v in kinds)
        return f"{len(kinds)} kinds, {trials} trials, {doubles} double redemptions, {errors} database errors"
    if key == "6 sessions":
        return f"{get('checks')} checks passed"
    if key == "7 headers":
        return f"{get('responses_checked')} responses, {get('failures')} failures"
    if key.startswith("7 headers (browser"):
        return f"{get('pages_observed')} pages, {get('csp_violations')} CSP violations"
    if key.startswith("3 "):
        api = f", {get('api_bodies')} API bodies" if get("api_bodies") is not None else ""
        return f"{get('forms')} forms{api}, {get('examples')} examples, {get('failures')} failures"
    if key.startswith("4 "):
        kinds = {k[len("threshold_"):]: v for k, v in entry.items() if k.startswith("threshold_")}
        timings = {k[len("timing_"):]: v for k, v in entry.items() if k.startswith("timing_")}
        held = sum(1 for v in kinds.values() if all(x is True for x in v.values() if isinstance(x, bool)))
        worst = max((v.get("difference_percent", 0) for v in timings.values()), default=None)
        timing = f"; timing differs by at most {worst} % ({len(timings)} forms)" if worst is not None else ""
        return f"{held}/{len(kinds)} thresholds hold{timing}"
    if key.startswith("8 "):
        return (f"{get('flows')} flows, {get('faults_injected')} faults injected, {get('partial_states')} partial "
                f"states, {get('orphan_files')} orphan files, {get('mails_for_failed_actions')} mails for failed "
                f"actions")
    if key.startswith("9 "):
        return f"{get('secrets_searched')} secrets, {get('leaks')} leaks, {len(get('known_findings') or [])} known"
    if key.startswith("10 "):
        return (f"{get('dependencies', '?')} packages, {get('vulnerabilities_unjustified', '?')} unjustified "
                f"vulnerabilities; bandit {get('bandit_findings_unjustified', '?')} unjustified")
    return "figures below"


def main(argv: list[str]) -> int:
    data = figures.load()
    if not data:
        print(f"no figures in {figures.FIGURES_FILE}: run the battery first (make security-report)", file=sys.stderr)
        return 1
    out = Path(argv[0]) if argv else OUT
    out.write_text(render(data), encoding="utf-8")
    print(f"wrote {out.relative_to(figures.ROOT) if out.is_relative_to(figures.ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
