"""In-process CPU per page on a seeded bench set: `python -m bench.profile [small|large] [page] [--cprofile]`.

Uses the SQLite sets `make bench` left in bench/results/ (run it once first). Prints, per page,
the fastest of 12 batches of 20 requests through the test client (CPU time, ms a request)
and the SQL statements of one request; `--cprofile page` prints the top functions instead.
"""
from __future__ import annotations

import cProfile
import json
import pstats
import sys
import time

from bench import run, seed


def _target(name: str):
    instance = run.RESULTS / f"instance-sqlite-{name}"
    data = json.loads((instance / "seeded.json").read_text())
    url = f"sqlite:///{run.RESULTS / f'{name}.db'}"
    target = run.Target("sqlite", seed.Sizes(**data["sizes"]), url, instance)
    target.seeded = seed.Seeded(url, target.sizes, data["member_id"], data["staff_id"], data["partner_id"],
                                data["seconds"], data["documents"])
    target.app = seed.make_app(url, instance)
    target.cookies = {"member": seed.new_session_cookie(target.app, target.seeded.member_id, target.seeded.partner_id),
                      "staff": seed.new_session_cookie(target.app, target.seeded.staff_id), None: None}
    return target


def page_cpu_ms(target, cell, batches: int = 12, size: int = 20) -> float:
    client = run._client(target, cell.who)
    headers = {"HX-Request": "true"} if cell.hx else {}
    for _ in range(5):
        assert client.get(cell.path, headers=headers).status_code == 200, cell.path
    best = float("inf")
    for _ in range(batches):
        started = time.process_time()
        for _ in range(size):
            client.get(cell.path, headers=headers)
        best = min(best, (time.process_time() - started) / size)
    return best * 1000


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "small"
    target = _target(name)
    page_cells = run.cells(target.seeded, run._documents_page_exists(target.app))
    if "--cprofile" in argv:
        wanted = argv[argv.index("--cprofile") + 1]
        cell = next(c for c in page_cells if c.key == wanted)
        client = run._client(target, cell.who)
        headers = {"HX-Request": "true"} if cell.hx else {}
        for _ in range(5):
            client.get(cell.path, headers=headers)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(100):
            client.get(cell.path, headers=headers)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return 0
    only = [a for a in argv[1:] if not a.startswith("-")]
    counts = run.queries_per_page(target, page_cells)
    for cell in page_cells:
        if only and cell.key not in only:
            continue
        print(f"{cell.key:12} {page_cpu_ms(target, cell):6.2f} ms  {counts[cell.key]} statements", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
