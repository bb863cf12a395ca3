"""Playwright on Debian's Chromium, and axe-core scans."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    candidate = os.environ.get("TRADEPORTAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if candidate and Path(candidate).exists() else None


def require_browser_tools() -> None:
    """Skip with a clear message on a developer machine; fail loudly in CI."""
    missing = []
    if chromium_path() is None:
        missing.append("Chromium (apt-get install -y chromium)")
    if not AXE_PATH.exists():
        missing.append("axe-core (npm ci)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -r requirements-dev.txt)")
    if missing:
        message = "browser tests need: " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must install them (see .ci/run)", pytrace=False)
        pytest.skip(message)


def axe_violations(page, tags=None) -> list[dict]:
    """Run axe-core in the page (through DevTools, so the page's CSP stays strict)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_PATH.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})); }",
        tags or AXE_TAGS,
    )
    return result


def format_violations(url: str, violations: list[dict]) -> str:
    lines = [f"{len(violations)} axe violation(s) on {url}:"]
    for v in violations:
        lines.append(f"  - {v['id']} ({v['impact']}): {v['help']} → {v['nodes']}")
    return "\n".join(lines)
