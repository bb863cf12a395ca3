"""The reference page's curl commands, run with the real curl against a live server, as a vendor would.

The same flow checks that no secret reaches the logs, the mail log or the audit trail.
"""
from __future__ import annotations

import html
import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD
from tests.test_api_support import api_team, issue_keys
from tests.test_documents_support import PDF, add_category
from tradeportal.audit import AuditEvent

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


def _documented_commands(client, base) -> list[str]:
    page = client.get("/api/reference", base_url=base).get_data(as_text=True)
    blocks = re.findall(r"<pre[^>]*><code>(.*?)</code></pre>", page, re.S)
    return [html.unescape(line) for block in blocks for line in block.splitlines() if line.startswith("curl ")]


def _pick(commands, *needles) -> str:
    found = [c for c in commands if all(n in c for n in needles)]
    assert len(found) == 1, (needles, commands)
    return found[0]


def _run(command: str, env: dict, cwd: Path) -> tuple[int, str]:
    done = subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], env={**os.environ, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=30, check=False)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def test_the_documented_curl_flow_and_no_secret_in_any_log(app, client, db, make_user, login_as, live_server, tmp_path):
    capture = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        _flow(app, client, db, make_user, login_as, live_server, tmp_path, capture)
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)


def _flow(app, client, db, make_user, login_as, live_server, tmp_path, capture):
    team = api_team(db, make_user)
    category = add_category(db)
    keys = issue_keys(db, team)
    (tmp_path / "invoice.pdf").write_bytes(PDF)
    base = live_server
    commands = _documented_commands(client, base)
    env = {"CLIENT_ID": keys["client_id"], "CLIENT_SECRET": keys["client_secret"], "CATEGORY_ID": str(category.id)}
    secrets_seen = [keys["client_secret"], keys["access"], keys["refresh"]]

    status, body = _run(_pick(commands, "grant_type=client_credentials"), env, tmp_path)
    assert status == 200, body
    tokens = json.loads(body)
    env.update(ACCESS_TOKEN=tokens["access_token"], REFRESH_TOKEN=tokens["refresh_token"])
    secrets_seen += [tokens["access_token"], tokens["refresh_token"]]

    from tradeportal.notifications.services import create_notifications

    create_notifications([team.admin], "role_decision", "Role approved", "", partner_id=team.partner.id)
    db.session.commit()
    status, body = _run(_pick(commands, "/notifications?since=0"), env, tmp_path)
    assert status == 200 and json.loads(body)["items"][0]["subject"] == "Role approved"
    env["NOTIFICATION_ID"] = json.loads(body)["items"][0]["id"]
    status, body = _run(_pick(commands, "/read"), env, tmp_path)
    assert status == 200 and json.loads(body)["read_at"]
    status, body = _run(_pick(commands, "/partner"), env, tmp_path)
    assert status == 200 and json.loads(body)["name"] == "Rhein Handel AG"

    status, body = _run(_pick(commands, "file=@invoice.pdf"), env, tmp_path)
    assert status == 201, body
    env["DOCUMENT_ID"] = json.loads(body)["items"][0]["id"]
    status, body = _run(_pick(commands, "/documents?limit=20"), env, tmp_path)
    assert status == 200 and json.loads(body)["items"][0]["id"] == env["DOCUMENT_ID"]
    status, _ = _run(_pick(commands, "/content"), env, tmp_path)
    assert status == 200 and (tmp_path / "copy.pdf").read_bytes() == PDF

    refresh = _pick(commands, "grant_type=refresh_token")
    status, body = _run(refresh, env, tmp_path)
    assert status == 200
    renewed = json.loads(body)
    secrets_seen += [renewed["access_token"], renewed["refresh_token"]]
    # The old refresh token (still in $REFRESH_TOKEN) is refused.
    status, body = _run(refresh, env, tmp_path)
    assert status == 400 and json.loads(body) == {"error": "invalid_grant"}

    # A fresh token works; the administrator revokes the application; the next call is refused.
    status, body = _run(_pick(commands, "grant_type=client_credentials"), env, tmp_path)
    env["ACCESS_TOKEN"] = json.loads(body)["access_token"]
    secrets_seen.append(env["ACCESS_TOKEN"])
    assert _run(_pick(commands, "/partner"), env, tmp_path)[0] == 200
    login_as(team.admin)
    revoke = f"/partners/{team.partner.id}/api/{keys['id']}/revoke"
    assert client.post_form(revoke, {"password": TEST_PASSWORD}, token_from=revoke).status_code == 303
    status, body = _run(_pick(commands, "/partner"), env, tmp_path)
    assert status == 401 and json.loads(body)["status"] == 401
    assert _run(_pick(commands, "grant_type=client_credentials"), env, tmp_path)[0] == 401

    # No secret anywhere: the application's log records, the mail log, the audit trail.
    mail_log = Path(app.config["MAIL_LOG"])
    texts = {"log": "\n".join(capture.lines), "mail.log": mail_log.read_text() if mail_log.exists() else "",
             "audit": json.dumps([[e.action, e.details, e.object_id] for e in db.session.execute(select(AuditEvent)).scalars()])}
    assert capture.lines, "the log capture saw nothing"
    for where, text in texts.items():
        for secret in secrets_seen:
            assert secret not in text and secret[5:25] not in text, f"a secret reached the {where}"
