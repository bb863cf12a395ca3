"""Fault injection for part 8 of the battery (crash consistency): find the steps, fault each in turn.

`discover(entries, run)` runs an action once under `sys.setprofile` and lists its steps:
every call of a function of the portal (`tradeportal/`) made by the portal's own code
while one of the `entries` (the service functions the view calls) is running, in order,
with its occurrence (the 2nd notification of a fan-out is its own step). It also counts
the SQL statements that write and the commits from the first entry to the commit that
ends the action. A new step in a service is therefore faulted without editing a test.

`Injector(step)` then makes exactly that step raise `InjectedFault`: the function object
itself gets the code of a small trampoline (so every reference to it is caught: a
`from x import f`, a registered callback, a bound method), the Nth write statement is
refused in `before_cursor_execute`, the Nth commit in `before_commit`. Functions that
cannot take another code object (closures, generators) are listed as not injectable; a
fault before them is a fault after the step before, which is injected anyway.
"""
from __future__ import annotations

import gc
import os
import sys
import types
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

import tradeportal
from tradeportal import extensions as ext

APP_ROOT = str(Path(tradeportal.__file__).resolve().parent) + "/"
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE")
_NOT_SWAPPABLE = 0x20 | 0x80 | 0x200  # CO_GENERATOR, CO_COROUTINE, CO_ASYNC_GENERATOR
# Changes outside the database that no rollback undoes: the step after each is always faulted.
FILE_EFFECTS = {os.replace, os.rename, os.link, os.unlink, os.remove, os.fsync}


class InjectedFault(Exception):
    """The crash the battery simulates at a step boundary."""


def _is_app(code) -> bool:
    return code.co_filename.startswith(APP_ROOT)


def in_template(frame) -> bool:
    """Called while a template renders (a translation, a filter): part of the rendering step,
    which the call that renders (e.g. `queue_mail`) stands for."""
    while frame is not None:
        if "/jinja2/" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def injectable(code) -> bool:
    # Lambdas and comprehensions are made anew at each run of the code around them.
    return not code.co_freevars and not (code.co_flags & _NOT_SWAPPABLE) and not code.co_name.startswith("<")


_functions: dict = {}


def function_of(code) -> types.FunctionType | None:
    """The one function object that runs `code` (None for code shared by several, e.g. closures)."""
    if code not in _functions:
        found = [f for f in gc.get_referrers(code) if isinstance(f, types.FunctionType) and f.__code__ is code]
        _functions[code] = found[0] if len(found) == 1 else None
    return _functions[code]


def label(code) -> str:
    module = code.co_filename[len(APP_ROOT):].removesuffix(".py").replace("/", ".")
    return f"{module}.{getattr(code, 'co_qualname', code.co_name)}"


@dataclass(frozen=True)
class Step:
    kind: str  # "call" (before this call), "write" (this SQL write), "commit"
    occurrence: int
    code: object = None

    def __str__(self) -> str:
        if self.kind == "call":
            return f"before {label(self.code)} (#{self.occurrence})"
        return f"{self.kind} #{self.occurrence}"


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    not_injectable: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # the step list, for the report and for failures
    in_templates: int = 0  # calls made by templates, left to the step that renders
    after_effects: list[int] = field(default_factory=list)  # indexes of the first steps after a file changed


class _Armed:
    """From the first entry to the end of its transaction: writes and commits are counted."""

    def __init__(self, entries):
        self.entries = set(entries)
        self.depth = 0
        self.armed = False
        self.writes = 0
        self.commits = 0
        self.on_write = None
        self.on_commit = None

    def listen(self):
        event.listen(ext.db.engine, "before_cursor_execute", self._execute)
        event.listen(Session, "before_commit", self._before_commit)
        event.listen(Session, "after_commit", self._end)
        event.listen(Session, "after_rollback", self._end)

    def remove(self):
        event.remove(ext.db.engine, "before_cursor_execute", self._execute)
        event.remove(Session, "before_commit", self._before_commit)
        event.remove(Session, "after_commit", self._end)
        event.remove(Session, "after_rollback", self._end)

    def enter(self):
        self.depth += 1
        self.armed = True

    def _execute(self, conn, cursor, statement, parameters, context, executemany):
        if self.armed and statement.lstrip().split(None, 1)[0].upper() in WRITES:
            self.writes += 1
            if self.on_write:
                self.on_write(self.writes)

    def _before_commit(self, session):
        if self.armed:
            self.commits += 1
            if self.on_commit:
                self.on_commit(self.commits)

    def _end(self, session):
        if self.depth == 0:
            self.armed = False


def discover(entries, run) -> Plan:
    """Run the action once (it must succeed) and list every step boundary to fault."""
    entry_codes = {f.__code__ for f in entries}
    watch = _Armed(entry_codes)
    counts: Counter = Counter()
    plan = Plan()
    seen_bad = set()

    def profile(frame, what, arg):
        if what == "call":
            code = frame.f_code
            if code in entry_codes:
                watch.enter()
            caller = frame.f_back
            if watch.depth and _is_app(code) and caller is not None and _is_app(caller.f_code):
                if in_template(caller):
                    plan.in_templates += 1
                elif injectable(code) and function_of(code) is not None:
                    counts[code] += 1
                    plan.steps.append(Step("call", counts[code], code))
                    plan.calls.append(label(code))
                elif code not in seen_bad:
                    seen_bad.add(code)
                    plan.not_injectable.append(label(code))
        elif what == "return" and frame.f_code in entry_codes:
            watch.depth -= 1
        elif what == "c_call" and watch.depth and arg in FILE_EFFECTS:
            plan.after_effects.append(len(plan.steps))  # the next step is the first after a file changed

    watch.listen()
    sys.setprofile(profile)
    try:
        result = run()
    finally:
        sys.setprofile(None)
        watch.remove()
    plan.steps += [Step("write", n) for n in range(1, watch.writes + 1)]
    plan.steps += [Step("commit", n) for n in range(1, watch.commits + 1)]
    plan.result = result
    return plan


class Injector:
    """Context manager: the step raises InjectedFault once; `fired` says whether it did."""

    def __init__(self, entries, step: Step):
        self.monkeypatch, self.step = pytest.MonkeyPatch(), step
        self.entry_functions = list(entries)
        self.watch = _Armed({f.__code__ for f in entries})
        self.fired = False
        self.calls = 0

    def _fault(self):
        self.fired = True
        raise InjectedFault(str(self.step))

    def _wrap(self, fn, is_entry: bool, is_target: bool):
        orig = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        orig.__kwdefaults__ = fn.__kwdefaults__
        injector = self

        def trampoline(*args, **kwargs):
            if is_entry:
                injector.watch.enter()
            try:
                if is_target and injector.watch.depth and not injector.fired:
                    caller = sys._getframe(2)  # 1 is the swapped function's own frame
                    if _is_app(caller.f_code) and not in_template(caller):
                        injector.calls += 1
                        if injector.calls == injector.step.occurrence:
                            injector._fault()
                return orig(*args, **kwargs)
            finally:
                if is_entry:
                    injector.watch.depth -= 1

        name = f"__tp_fault_{id(fn)}"
        namespace: dict = {}
        exec(f"def {fn.__name__}(*args, **kwargs):\n    return {name}(*args, **kwargs)\n", namespace)  # nosec B102
        self.monkeypatch.setitem(fn.__globals__, name, trampoline)
        self.monkeypatch.setattr(fn, "__code__", namespace[fn.__name__].__code__)

    def __enter__(self):
        target = function_of(self.step.code) if self.step.kind == "call" else None
        for fn in self.entry_functions:
            self._wrap(fn, True, fn is target)
        if target is not None and target not in self.entry_functions:
            self._wrap(target, False, True)
        if self.step.kind == "write":
            self.watch.on_write = lambda n: n == self.step.occurrence and not self.fired and self._fault()
        if self.step.kind == "commit":
            self.watch.on_commit = lambda n: n == self.step.occurrence and not self.fired and self._fault()
        self.watch.listen()
        return self

    def __exit__(self, *exc):
        self.watch.remove()
        self.monkeypatch.undo()
        return False
