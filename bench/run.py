"""`make bench`: seed, serve with gunicorn, load with wrk, write docs/PERFORMANCE.md.

Environment:
  TRADEPORTAL_BENCH_PG_URL  also bench PostgreSQL (its schema `public` is dropped and rebuilt!)
  BENCH_DURATION            seconds per wrk run (default 5, at most 10)
  BENCH_ROUNDS              interleaved rounds (default 3; the table shows medians)
  BENCH_REUSE=1             keep the SQLite data sets of the previous run when present
  BENCH_NO_DOCS=1           do not rewrite docs/PERFORMANCE.md (print only)
"""
from __future__ import annotations

import gzip
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import load, seed

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "PERFORMANCE.md"
METHOD_START = "<!-- method: kept by bench/run.py -->"
METHOD_END = "<!-- end of method -->"

# Targets of issue #9 (concurrency 8, 2 sync workers).
TARGET_RATIO = {"sqlite": 0.20, "postgresql": 0.12}
TARGET_P99_MS = 25.0
TARGET_CPU_MS = 2.5  # SQLite
TARGET_GROWTH = 1.10  # 1,000,000 rows vs 10,000 rows
TARGET_PDF_ONE_MS = 75.0
TARGET_PDF_BATCH_S = 5.0


@dataclass
class Cell:
    key: str
    label: str
    path: str
    who: str | None = None  # None: anonymous, "member", "staff"
    hx: bool = False

    @property
    def signed_in(self) -> bool:
        return self.who is not None


def cells(seeded: seed.Seeded, documents_page: bool) -> list[Cell]:
    found = [
        Cell("bare", "bare route `/healthz`", "/healthz"),
        Cell("home", "home `/`", "/"),
        Cell("sign_in", "sign-in page", "/sign-in"),
        Cell("dashboard", "dashboard (signed in)", "/dashboard", "member"),
        Cell("inbox", "notification inbox", "/notifications", "member"),
        # "alpen": a full result list (JOIN_LIMIT rows) in both data sets, so that 10k and 1M render the same page.
        Cell("search", "partner search (as-you-type fragment)", "/partners/join?q=alpen", "member", hx=True),
    ]
    if documents_page:
        found.append(Cell("documents", "documents list", f"/partners/{seeded.partner_id}/documents", "member"))
    found.append(Cell("staff_queue", "staff role queue", "/staff/role-requests", "staff"))
    return found


def log(message: str) -> None:
    print(message, flush=True)


def _documents_page_exists(app) -> bool:
    return "documents.index" in app.view_functions


# --- a data set served by gunicorn ---------------------------------------------------------------

@dataclass
class Target:
    backend: str  # sqlite | postgresql
    sizes: seed.Sizes
    url: str
    instance: Path
    seeded: seed.Seeded | None = None
    server: load.Server | None = None
    cookies: dict | None = None
    app: object = None


def _sqlite_url(name: str) -> str:
    return f"sqlite:///{RESULTS / name}"


def _seed_or_reuse(target: Target) -> None:
    marker = target.instance / "seeded.json"
    if os.environ.get("BENCH_REUSE") == "1" and marker.exists() and target.backend == "sqlite":
        data = json.loads(marker.read_text())
        if data.get("sizes") == asdict(target.sizes):
            target.seeded = seed.Seeded(target.url, target.sizes, data["member_id"], data["staff_id"], data["partner_id"],
                                        data["seconds"], data["documents"])
            log(f"  reusing the {target.backend} data set with {target.sizes.name}")
            return
    target.seeded = seed.seed(target.url, target.sizes, target.instance, log=log)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"sizes": asdict(target.sizes), **{k: v for k, v in asdict(target.seeded).items()
                                                                   if k not in ("sizes", "url")}}))


def _start(target: Target, label: str) -> None:
    target.app = seed.make_app(target.url, target.instance)
    target.cookies = {
        "member": seed.new_session_cookie(target.app, target.seeded.member_id, target.seeded.partner_id),
        "staff": seed.new_session_cookie(target.app, target.seeded.staff_id),
        None: None,
    }
    target.server = load.Server(seed.server_environment(target.url, target.instance), label, RESULTS / f"{label}.log")
    target.server.start()


# --- in-process measurements: queries per page, badge time, PDFs, gzip ------------------------

def _client(target: Target, who):
    client = target.app.test_client()
    cookie = target.cookies.get(who)
    if cookie:
        client.set_cookie("tp_session", cookie)
    return client


def queries_per_page(target: Target, page_cells: list[Cell]) -> dict[str, int]:
    from sqlalchemy import event

    from tradeportal.extensions import db

    counts = {}
    with target.app.app_context():
        engine = db.engine
    for cell in page_cells:
        client = _client(target, cell.who)
        headers = {"HX-Request": "true"} if cell.hx else {}
        client.get(cell.path, headers=headers)  # warm
        statements = []

        def listener(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = client.get(cell.path, headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        counts[cell.key] = len(statements) if response.status_code == 200 else -response.status_code
    return counts


def badge_and_inbox_ms(target: Target, repeat: int = 300) -> dict[str, float]:
    from flask_login import login_user  # noqa: F401 - imported for side effects of the app

    from tradeportal.account.models import User
    from tradeportal.extensions import db
    from tradeportal.notifications.services import inbox_page, unread_count

    with target.app.test_request_context():
        user = db.session.get(User, target.seeded.member_id)
        for _ in range(20):
            unread_count(user.id)
            inbox_page(user, 1)
        started = time.perf_counter()
        for _ in range(repeat):
            unread_count(user.id)
        badge = (time.perf_counter() - started) * 1000 / repeat
        started = time.perf_counter()
        for _ in range(repeat):
            inbox_page(user, 1)
        inbox = (time.perf_counter() - started) * 1000 / repeat
        started = time.perf_counter()
        for _ in range(repeat // 10):
            inbox_page(user, 400)
        deep = (time.perf_counter() - started) * 1000 / (repeat // 10)
        db.session.remove()
    return {"badge_ms": badge, "inbox_query_ms": inbox, "inbox_page_400_ms": deep}


def pdf_timings(target: Target) -> dict[str, float]:
    """A one-page PDF (one verification letter) warm, and the batch of 100 letters."""
    from tradeportal.partners.letters import render_letters_pdf
    from tradeportal.partners.models import Partner, VerificationLetter

    def letters(count):
        rows = []
        for i in range(count):
            partner = Partner(id=i + 1, kind="legal_entity", status="letter_pending", source="register",
                              identifier=f"CHE-{100000000 + i}", name=f"Bench Partner {i} AG", name_search="",
                              address_line1="Bahnhofstrasse 1", postcode="3003", town="Bern", country="CH",
                              locale=("fr", "en", "de")[i % 3])
            rows.append(VerificationLetter(id=i + 1, partner_id=i + 1, partner=partner, code_hash="x",
                                           code_plain="ABCD2345EFGH", locale=partner.locale,
                                           recipient_name=partner.name,
                                           recipient_address="Bench Partner AG\nBahnhofstrasse 1\n3003 Bern\nCH",
                                           created_at=datetime.now(timezone.utc)))
        return rows

    result = {}
    with target.app.test_request_context():
        one = letters(1)
        render_letters_pdf(one, "fr")  # warm: fonts and styles loaded once
        times = []
        for _ in range(5):
            started = time.perf_counter()
            render_letters_pdf(one, "fr")
            times.append((time.perf_counter() - started) * 1000)
        result["pdf_one_page_ms"] = statistics.median(times)
        batch = letters(100)
        started = time.perf_counter()
        pdf = render_letters_pdf(batch, "fr")
        result["pdf_batch_100_s"] = time.perf_counter() - started
        result["pdf_batch_100_kb"] = len(pdf) / 1024
    return result


def gzip_costs(target: Target) -> dict[str, float]:
    client = _client(target, "member")
    html = client.get("/dashboard").get_data()
    repeat = 200
    result = {"html_bytes": len(html)}
    for level in (1, 6):
        started = time.process_time()
        for _ in range(repeat):
            packed = gzip.compress(html, compresslevel=level)
        result[f"gzip{level}_ms"] = (time.process_time() - started) * 1000 / repeat
        result[f"gzip{level}_bytes"] = len(packed)
    return result


def page_weight() -> dict[str, int]:
    """CSS + JS a first visit downloads (the files base.html links), raw and gzip -9."""
    import re

    base = (ROOT / "tradeportal" / "templates" / "base.html").read_text()
    files = [name for name in re.findall(r"asset_url\('([^']+)'\)", base) if name.endswith((".css", ".js"))
             and "print.css" not in name]
    static = ROOT / "tradeportal" / "static"
    raw = sum((static / name).stat().st_size for name in files)
    packed = sum(len(gzip.compress((static / name).read_bytes(), 9)) for name in files)
    return {"files": files, "raw_bytes": raw, "gzip_bytes": packed}


# --- the load ---------------------------------------------------------------------------------------

def _median(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def drive_all(targets: list[Target], page_cells: list[Cell], rounds: int, duration: float) -> dict:
    """Cells interleaved over `rounds`: in each round every cell on every data set, one after the other."""
    runs: dict[tuple, list[load.Run]] = {}
    for target in targets:  # warm-up: templates compiled and caches filled in both workers
        for cell in page_cells:
            load.drive(target.server, cell.path, 1, target.cookies[cell.who], cell.hx)
    for number in range(1, rounds + 1):
        log(f"  round {number}/{rounds}")
        for cell in page_cells:
            for target in targets:
                run = load.drive(target.server, cell.path, duration, target.cookies[cell.who], cell.hx)
                runs.setdefault((target.sizes.name, cell.key), []).append(run)
                if run.non200 or run.errors:
                    log(f"    ! {cell.key} on {target.sizes.name}: {run.non200} answers other than 200, {run.errors} errors")
    summary = {}
    for target in targets:
        name = target.sizes.name
        bare = runs[(name, "bare")]
        for cell in page_cells:
            cell_runs = runs[(name, cell.key)]
            ratios = [run.rps / base.rps for run, base in zip(cell_runs, bare) if base.rps]
            summary[(name, cell.key)] = {
                "rps": _median([r.rps for r in cell_runs]),
                "p50_ms": _median([r.p50_ms for r in cell_runs]),
                "p99_ms": _median([r.p99_ms for r in cell_runs]),
                "cpu_ms": _median([r.cpu_ms_per_request for r in cell_runs]),
                "ratio": _median(ratios),
                "non200": sum(r.non200 for r in cell_runs),
                "errors": sum(r.errors for r in cell_runs),
            }
    return summary


# --- the report -------------------------------------------------------------------------------------

def _fmt(value, digits=1):
    if value is None or value != value:
        return "–"
    return f"{value:,.{digits}f}"


def _check(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def backend_section(backend: str, large: Target, small: Target, page_cells: list[Cell], summary: dict,
                    queries: dict, timings: dict, skipped_documents: bool) -> list[str]:
    lines = []
    target_ratio = TARGET_RATIO[backend]
    title = "SQLite" if backend == "sqlite" else "PostgreSQL"
    lines.append(f"### {title}: {large.sizes.name} (main table)")
    lines.append("")
    lines.append("| page | req/s | ratio to bare | p50 ms | p99 ms | server CPU ms/req | SQL statements | meets targets |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
    misses = []
    for cell in page_cells:
        row = summary[(large.sizes.name, cell.key)]
        verdict = ""
        if cell.signed_in:
            failures = []
            if row["ratio"] < target_ratio:
                failures.append(f"ratio < {target_ratio}")
            if row["p99_ms"] > TARGET_P99_MS:
                failures.append(f"p99 > {TARGET_P99_MS:g} ms")
            if backend == "sqlite" and row["cpu_ms"] > TARGET_CPU_MS:
                failures.append(f"CPU > {TARGET_CPU_MS} ms")
            if row["non200"] or row["errors"]:
                failures.append("non-200 answers")
            verdict = "yes" if not failures else "**NO**: " + ", ".join(failures)
            if failures:
                misses.append(f"{title} {cell.label}: " + ", ".join(failures))
        elif row["non200"] or row["errors"]:
            verdict = "**non-200 answers**"
        lines.append(
            f"| {cell.label} | {_fmt(row['rps'], 0)} | {_fmt(row['ratio'], 3)} | {_fmt(row['p50_ms'])} | "
            f"{_fmt(row['p99_ms'])} | {_fmt(row['cpu_ms'], 2)} | {queries['large'].get(cell.key, '–')} | {verdict} |"
        )
    if skipped_documents:
        lines.append("| documents list | – | – | – | – | – | – | not built yet: no `documents.index` page in this tree |")
    lines.append("")
    lines.append(f"### {title}: {large.sizes.name} against {small.sizes.name}")
    lines.append("")
    lines.append("Same pages, same run (interleaved), two gunicorn servers on two data sets. "
                 "Cost is server CPU per request; the target is at most +10 %.")
    lines.append("")
    lines.append(f"| page | CPU ms/req at {small.sizes.name} | CPU ms/req at {large.sizes.name} | growth | "
                 f"p50 ms small / large | SQL statements small / large | within 10 % |")
    lines.append("|---|---:|---:|---:|---:|---:|---|")
    for cell in page_cells:
        big = summary[(large.sizes.name, cell.key)]
        little = summary[(small.sizes.name, cell.key)]
        growth = big["cpu_ms"] / little["cpu_ms"] if little["cpu_ms"] else float("nan")
        same_queries = queries["large"].get(cell.key) == queries["small"].get(cell.key)
        ok = growth <= TARGET_GROWTH and same_queries
        if cell.key != "bare" and not ok:
            misses.append(f"{title} {cell.label}: {large.sizes.name} costs {growth:.2f}× {small.sizes.name}")
        lines.append(
            f"| {cell.label} | {_fmt(little['cpu_ms'], 2)} | {_fmt(big['cpu_ms'], 2)} | {_fmt(growth, 2)}× | "
            f"{_fmt(little['p50_ms'])} / {_fmt(big['p50_ms'])} | {queries['small'].get(cell.key, '–')} / "
            f"{queries['large'].get(cell.key, '–')} | {_check(ok)} |"
        )
    lines.append("")
    b_small, b_large = timings["small"], timings["large"]
    lines.append(f"Issue #6 (notifications): the bench person's own inbox holds {small.sizes.own_notifications:,} "
                 f"notifications in the small set and {large.sizes.own_notifications:,} in the large one "
                 f"(tables of {small.sizes.notifications:,} and {large.sizes.notifications:,} rows).")
    lines.append("")
    lines.append("| query (in process, warm) | small | large | ratio | within 1.5× |")
    lines.append("|---|---:|---:|---:|---|")
    for key, label in (("badge_ms", "badge: unread count (capped at 100)"), ("inbox_query_ms", "inbox: first page"),
                       ("inbox_page_400_ms", "inbox: page 400 (offset 7,980)")):
        ratio = b_large[key] / b_small[key] if b_small[key] else float("nan")
        if key != "inbox_page_400_ms" and ratio > 1.5:
            misses.append(f"{title} {label}: {ratio:.2f}× at {large.sizes.name}")
        lines.append(f"| {label} | {b_small[key]:.3f} ms | {b_large[key]:.3f} ms | {ratio:.2f}× | "
                     f"{_check(ratio <= 1.5) if key != 'inbox_page_400_ms' else '(deep pages: not a target)'} |")
    lines.append("")
    return lines, misses


def write_report(sections: list[str], misses: list[str], extra: dict, started: float) -> str:
    now = datetime.now(timezone.utc)
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    loadavg = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"] * 3
    out = ["# Performance", "",
           "<!-- Written by `make bench` (bench/run.py); edit the method section only, between its markers. -->", "",
           f"Run of {now:%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: {os.cpu_count()} CPU ({cpu}), "
           f"Python {platform.python_version()}, gunicorn {load.gunicorn_version()} "
           f"({load.WORKERS} sync workers, 127.0.0.1), {load.wrk_version()} "
           f"(1 thread, {load.CONCURRENCY} connections, {extra['duration']:g} s per run, {extra['rounds']} rounds, medians). "
           f"Load average when the run ended: {' '.join(loadavg)} (other work on the machine makes absolute numbers noisy; "
           f"the ratios to the bare route measured in the same rounds are what the targets are about). "
           f"Whole run: {(time.perf_counter() - started) / 60:.1f} min.", ""]
    out.append("## Results")
    out.append("")
    out.extend(sections)
    out.append("## PDFs, page weight, compression")
    out.append("")
    pdf = extra["pdf"]
    weight = extra["weight"]
    gz = extra["gzip"]
    out.append("| measure | value | target | met |")
    out.append("|---|---:|---:|---|")
    out.append(f"| one-page PDF (a verification letter), warm | {pdf['pdf_one_page_ms']:.0f} ms | ≤ {TARGET_PDF_ONE_MS:g} ms | "
               f"{_check(pdf['pdf_one_page_ms'] <= TARGET_PDF_ONE_MS)} |")
    out.append(f"| letters batch, 100 letters ({pdf['pdf_batch_100_kb']:.0f} kB) | {pdf['pdf_batch_100_s']:.2f} s | "
               f"≤ {TARGET_PDF_BATCH_S:g} s | {_check(pdf['pdf_batch_100_s'] <= TARGET_PDF_BATCH_S)} |")
    out.append(f"| first visit CSS + JS ({', '.join(weight['files'])}) | {weight['gzip_bytes'] / 1024:.1f} kB gzip "
               f"({weight['raw_bytes'] / 1024:.1f} kB raw) | ≤ 25 kB gzip | {_check(weight['gzip_bytes'] <= 25 * 1024)} |")
    out.append(f"| gzip of the dashboard HTML ({gz['html_bytes'] / 1024:.1f} kB), level 1 | {gz['gzip1_ms']:.3f} ms CPU → "
               f"{gz['gzip1_bytes'] / 1024:.1f} kB | – | – |")
    out.append(f"| gzip of the dashboard HTML, level 6 | {gz['gzip6_ms']:.3f} ms CPU → {gz['gzip6_bytes'] / 1024:.1f} kB "
               f"| – | – |")
    out.append("")
    if pdf["pdf_one_page_ms"] > TARGET_PDF_ONE_MS:
        misses.append(f"one-page PDF {pdf['pdf_one_page_ms']:.0f} ms")
    if pdf["pdf_batch_100_s"] > TARGET_PDF_BATCH_S:
        misses.append(f"letters batch {pdf['pdf_batch_100_s']:.1f} s")
    out.append("## Targets missed in this run")
    out.append("")
    out.extend([f"- {miss}" for miss in misses] or ["- none"])
    out.append("")
    if extra.get("notes"):
        out.append("## Notes of this run")
        out.append("")
        out.extend(f"- {note}" for note in extra["notes"])
        out.append("")
    method = _kept_method()
    out.append(method)
    return "\n".join(out) + "\n"


def _kept_method() -> str:
    if DOC.exists():
        text = DOC.read_text()
        if METHOD_START in text and METHOD_END in text:
            start = text.index(METHOD_START)
            end = text.index(METHOD_END) + len(METHOD_END)
            return text[start:end]
    return f"{METHOD_START}\n## Method\n\n(see bench/run.py)\n{METHOD_END}"


def bench_backend(backend: str, large: Target, small: Target, rounds: int, duration: float, notes: list[str]):
    for target in (large, small):
        _seed_or_reuse(target)
    _start(large, f"{backend}-large")
    try:
        _start(small, f"{backend}-small")
        try:
            documents_page = _documents_page_exists(large.app) and large.seeded.documents
            page_cells = cells(large.seeded, documents_page)
            if not documents_page:
                notes.append("documents list: not built yet (no `documents.index` page or `document` table in this "
                             "tree when the bench ran): cell skipped.")
            queries = {"large": queries_per_page(large, page_cells), "small": queries_per_page(small, page_cells)}
            timings = {"large": badge_and_inbox_ms(large), "small": badge_and_inbox_ms(small)}
            log(f"  SQL statements per page: {queries['large']}")
            summary = drive_all([large, small], page_cells, rounds, duration)
            section, misses = backend_section(backend, large, small, page_cells, summary, queries, timings,
                                              not documents_page)
            return section, misses, page_cells, summary
        finally:
            small.server.stop()
    finally:
        large.server.stop()


def python_speed() -> float:
    """Milliseconds of a fixed pure-Python loop (10⁶ additions), best of 5: how fast this machine
    runs the interpreter now, to tell a slower machine from a slower portal."""
    best = float("inf")
    for _ in range(5):
        began = time.process_time()
        total = 0
        for number in range(1_000_000):
            total += number
        best = min(best, time.process_time() - began)
    return best * 1000


def main() -> int:
    started = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    duration = min(float(os.environ.get("BENCH_DURATION", "5")), 10.0)
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    notes: list[str] = []
    if not load.wrk_version() or load.wrk_version() == "missing":
        log("wrk is missing: apt-get install wrk")
        return 2
    sections, misses = [], []
    speed_before = python_speed()
    log("SQLite")
    large = Target("sqlite", seed.FULL, _sqlite_url("large.db"), RESULTS / "instance-sqlite-large")
    small = Target("sqlite", seed.SMALL, _sqlite_url("small.db"), RESULTS / "instance-sqlite-small")
    section, missed, page_cells, summary = bench_backend("sqlite", large, small, rounds, duration, notes)
    sections += section
    misses += missed
    seeding = [f"SQLite seeding: {large.seeded.seconds:.0f} s for {large.sizes.name}, "
               f"{small.seeded.seconds:.0f} s for {small.sizes.name}"]
    extra = {"duration": duration, "rounds": rounds, "notes": notes}
    extra["pdf"] = pdf_timings(large)
    extra["gzip"] = gzip_costs(large)
    extra["weight"] = page_weight()

    pg_url = os.environ.get("TRADEPORTAL_BENCH_PG_URL")
    if pg_url:
        log("PostgreSQL")
        small_url = os.environ.get("TRADEPORTAL_BENCH_PG_SMALL_URL") or _pg_small_url(pg_url)
        pg_large = Target("postgresql", seed.FULL, pg_url, RESULTS / "instance-pg-large")
        pg_small = Target("postgresql", seed.SMALL, small_url, RESULTS / "instance-pg-small")
        section, missed, _, _ = bench_backend("postgresql", pg_large, pg_small, rounds, duration, notes)
        sections += section
        misses += missed
        seeding.append(f"PostgreSQL seeding: {pg_large.seeded.seconds:.0f} s for {pg_large.sizes.name}, "
                       f"{pg_small.seeded.seconds:.0f} s for {pg_small.sizes.name}")
    else:
        notes.append("PostgreSQL not measured: set TRADEPORTAL_BENCH_PG_URL (a database the bench may wipe).")
    notes[:0] = seeding
    notes.append(f"Machine speed: a fixed pure-Python loop (`bench.run.python_speed`, best of 5) took {speed_before:.0f} ms "
                 f"before the run and {python_speed():.0f} ms after it. Machines of the same kind differ: on "
                 "2026-12-03 the same page took 3 times the CPU on one as on another. Compare runs by their ratios, "
                 "and absolute figures only between runs of similar speed.")
    report = write_report(sections, misses, extra, started)
    print()
    print(report)
    if os.environ.get("BENCH_NO_DOCS") != "1":
        DOC.write_text(report)
        log(f"wrote {DOC.relative_to(ROOT)}")
    (RESULTS / "last-run.md").write_text(report)
    return 0


def _pg_small_url(url: str) -> str:
    """The small PostgreSQL data set lives in a sibling database `<name>_small` (created when missing)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    small = parsed.set(database=f"{parsed.database}_small")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": small.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{small.database}"'))
    admin.dispose()
    return small.render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(main())
