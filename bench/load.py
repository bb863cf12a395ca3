"""gunicorn under wrk: start a server, run one bounded load, read the workers' CPU time."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
WORKERS = 2
CONCURRENCY = 8
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_LINE = re.compile(r"BENCH (.*)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_version() -> str:
    import gunicorn

    return gunicorn.__version__


def wrk_version() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        return "missing"
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    return (result.stdout or result.stderr).splitlines()[0].strip()


@dataclass
class Server:
    """gunicorn, 2 sync workers, loopback only."""

    env: dict
    label: str
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    workers: int = WORKERS

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn), "--workers", str(self.workers), "--worker-class", "sync",
                   "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "60", "app:app"]
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.label}) exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as answer:
                    if answer.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn ({self.label}) did not answer; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def worker_pids(self) -> list[int]:
        master = self.process.pid
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == master:  # ppid
                pids.append(int(entry.name))
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """utime + stime of the workers (and the master), in seconds."""
        total = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / CLOCK_TICKS


@dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non200: int
    errors: int
    cpu_ms_per_request: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def drive(server: Server, path: str, seconds: float, cookie: str | None = None, hx: bool = False,
          threads: int = 1, connections: int = CONCURRENCY) -> Run:
    """One wrk run against `path` (at most 10 s, loopback only)."""
    seconds = min(seconds, 10)
    env = dict(os.environ, BENCH_COOKIE=cookie or "", BENCH_HX="1" if hx else "0")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(WRK_SCRIPT),
               server.base + path]
    cpu_before = server.cpu_seconds()
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 30)
    cpu_after = server.cpu_seconds()
    match = _LINE.search(result.stdout)
    if not match:
        raise RuntimeError(f"wrk gave no result for {path}: {result.stdout}\n{result.stderr}")
    values = dict(item.split("=") for item in match.group(1).split())
    requests = int(values["requests"])
    return Run(
        requests=requests,
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=int(values["p50_us"]) / 1000,
        p90_ms=int(values["p90_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        non200=int(values["non200"]),
        errors=int(values["errors"]),
        cpu_ms_per_request=(cpu_after - cpu_before) * 1000 / requests if requests else float("nan"),
    )
