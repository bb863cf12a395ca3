"""Instructions per request of each bench page, counted by valgrind (callgrind): a figure that
does not move with the other work on the machine, unlike CPU time.

    python -m bench.instructions [page ...]     (needs `apt-get install valgrind`)

Uses the small SQLite set of `make bench` (bench/results/, BENCH_REUSE keeps it). For each page
a Python process runs under callgrind with counting off, warms the page up through the test
client, switches counting on (`callgrind_control -i on`), makes 20 requests and switches it off;
the count divided by 20 is the page's cost. The processes run side by side (the count does not
depend on it). Compare a change by running this before and after it: a 1 % difference is real.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = 20


def _child(page: str) -> None:
    """Runs inside valgrind: warm up, count REQUESTS requests of `page`."""
    from bench import profile, run

    target = profile._target("small")
    cell = next(c for c in run.cells(target.seeded, run._documents_page_exists(target.app)) if c.key == page)
    client = run._client(target, cell.who)
    headers = {"HX-Request": "true"} if cell.hx else {}
    for _ in range(5):
        assert client.get(cell.path, headers=headers).status_code == 200, cell.path
    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    for _ in range(REQUESTS):
        client.get(cell.path, headers=headers)
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)


def count(page: str) -> float:
    """Millions of instructions per request of `page`."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
             sys.executable, "-m", "bench.instructions", "--child", page],
            cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        totals = [line for path in Path(folder).glob("callgrind.out*")
                  for line in path.read_text().splitlines() if line.startswith("totals:")]
        if result.returncode != 0 or not totals:
            raise RuntimeError(f"{page}: valgrind failed\n{result.stderr[-2000:]}")
        return int(totals[0].split()[1]) / REQUESTS / 1e6


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1])
        return 0
    if not shutil.which("valgrind"):
        print("valgrind is missing: apt-get install valgrind", file=sys.stderr)
        return 2
    from bench import run, seed

    marker = run.RESULTS / "instance-sqlite-small" / "seeded.json"
    if not marker.exists():
        small = run.Target("sqlite", seed.SMALL, run._sqlite_url("small.db"), run.RESULTS / "instance-sqlite-small")
        run.RESULTS.mkdir(parents=True, exist_ok=True)
        os.environ["BENCH_REUSE"] = "1"
        run._seed_or_reuse(small)
    pages = argv or ["bare", "home", "sign_in", "dashboard", "inbox", "search", "documents", "staff_queue"]
    with ThreadPoolExecutor(max_workers=len(pages)) as pool:
        counts = dict(zip(pages, pool.map(count, pages)))
    bare = counts.get("bare")
    for page, millions in counts.items():
        ratio = f"  {millions / bare:5.1f}× bare" if bare else ""
        print(f"{page:12} {millions:7.2f} M instructions/request{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
