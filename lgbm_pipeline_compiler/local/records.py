"""Execution records: one JSON file per run under {work_dir}/runs/{id}/, written atomically.

A running run holds an exclusive ``flock`` on ``runs/{id}/runner.lock`` for as long as its runner
lives; the kernel drops it when the runner ends, however it ends. A record that still says
Executing while nobody holds the lock belongs to a runner that is gone (killed, crashed, its
machine rebooted): :meth:`RunStore.load` reports it as Failed, saying so, and it can be resumed.
The same lock keeps two runners off one run (``--resume`` of a run still executing is refused).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..emit import render_json
from . import paths

SUCCEEDED, FAILED, EXECUTING, NOT_EXECUTED, SKIPPED, STOPPED = (
    "Succeeded",
    "Failed",
    "Executing",
    "NotExecuted",
    "Skipped",
    "Stopped",
)
LOCK = "runner.lock"
RUN_ID_FIX = "pass a run id as `lgbm-pipeline runs` lists it (a plain name, no path)"


class RunBusy(ValueError):
    """The run is executing in another process."""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class StepRecord:
    name: str
    type: str
    status: str = NOT_EXECUTED
    start: str | None = None
    end: str | None = None
    seconds: float | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    log: str | None = None
    failure_reason: str | None = None
    input_hash: str | None = None
    cached: bool = False
    note: str | None = None


@dataclass
class Execution:
    id: str
    pipeline_name: str
    status: str
    parameters: dict[str, Any]
    started: str
    ended: str | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)
    registered_model_package: str | None = None
    failure_reason: str | None = None
    report: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    """Inputs found beside --data: S3 URI → where from (bundled example data, S3)."""
    runner: dict[str, Any] | None = None
    """The process that runs (ran) it: pid and host."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [asdict(s) for s in self.steps.values()]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Execution:
        steps = {s["name"]: StepRecord(**s) for s in data.pop("steps")}
        return cls(**data, steps=steps)


class RunStore:
    """Where runs live: {work_dir}/runs/{id}/execution.json, runner.lock and logs/."""

    def __init__(self, work_dir: str | Path):
        self.work_dir = Path(work_dir)
        self.root = self.work_dir / "runs"

    def dir(self, run_id: str) -> Path:
        """The run's directory; a run id that is not one plain name, or a link, is UnsafePath."""
        return paths.inside(
            self.work_dir, run_id, what="run id", fix=RUN_ID_FIX, prefix=["runs"], single=True
        )

    def save(self, execution: Execution) -> None:
        folder = self.dir(execution.id)
        paths.write_atomic(
            self.work_dir, folder / "execution.json", render_json(execution.to_json()).encode()
        )

    def load(self, run_id: str) -> Execution:
        path = self.dir(run_id) / "execution.json"
        if not path.is_file():
            known = ", ".join(r.id for r in self.list()[-5:]) or "none"
            raise FileNotFoundError(f"no run {run_id!r} under {self.root} (recent runs: {known})")
        execution = Execution.from_json(json.loads(paths.read_bytes(path).decode("utf-8")))
        if execution.status == EXECUTING and self.abandoned(run_id):
            _mark_abandoned(execution)
        return execution

    def list(self) -> list[Execution]:
        """Every run with a record (a link, or a name no run id can have, is passed over)."""
        if not self.root.is_dir() or self.root.is_symlink():
            return []
        runs = []
        for path in self.root.iterdir():
            try:
                paths.name(path.name, what="run id", fix=RUN_ID_FIX)
            except paths.UnsafePath:
                continue
            if not path.is_symlink() and path.is_dir() and (path / "execution.json").is_file():
                runs.append(self.load(path.name))
        return sorted(runs, key=lambda e: (e.started, e.id))

    @contextlib.contextmanager
    def _lock_file(self, run_id: str) -> Iterator[int | None]:
        """The run's lock file, open (None if it has none)."""
        try:
            fd = os.open(self.dir(run_id) / LOCK, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            yield None
            return
        try:
            yield fd
        finally:
            os.close(fd)

    def abandoned(self, run_id: str) -> bool:
        """True if the run's lock exists and no process holds it (its runner is gone)."""
        with self._lock_file(run_id) as fd:
            if fd is None:
                return False  # a record from before runner locks: nothing to tell
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(fd, fcntl.LOCK_UN)
            return True

    def claim(self, run_id: str, wait: float = 2.0) -> RunLock:
        """Hold the run's lock for this process (released by RunLock.release or at exit)."""
        folder = paths.ensure_dir(self.work_dir, self.dir(run_id))
        fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        deadline = time.monotonic() + wait  # a `runs` listing may hold it shared for an instant
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return RunLock(fd)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    holder = self._holder(run_id)
                    raise RunBusy(
                        f"run {run_id} is executing in another process{holder}; wait for it to end, or "
                        f"stop it (kill -TERM the pid: it records Stopped), then resume it"
                    ) from None
                time.sleep(0.05)

    def _holder(self, run_id: str) -> str:
        try:
            runner = json.loads((self.dir(run_id) / "execution.json").read_text()).get("runner") or {}
        except (OSError, ValueError):
            return ""
        return f" (pid {runner.get('pid')} on {runner.get('host')})" if runner else ""


class RunLock:
    """An exclusive flock on a run's runner.lock, held by its runner."""

    def __init__(self, fd: int):
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = -1


def this_runner() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _mark_abandoned(execution: Execution) -> None:
    runner = execution.runner or {}
    who = f" (pid {runner['pid']} on {runner.get('host')})" if runner.get("pid") else ""
    execution.status = FAILED
    execution.failure_reason = (
        f"the runner{who} ended without recording an end (killed or crashed); "
        f"resume with --resume {execution.id}"
    )
    for step in execution.steps.values():
        if step.status == EXECUTING:
            step.status, step.failure_reason = FAILED, "the runner ended while the step ran"
