"""What a step executor gets: its definition, a resolver, the store, a scratch dir and a log.

A job sees container paths; locally they live in its scratch dir (``work``): ``/opt/ml/…`` under
``work/container/`` and any other absolute path under ``work/rootfs/`` (the container's own file
system, which SageMaker discards: only what a job writes under /opt/ml/model, /opt/ml/output/data
or its processing outputs is uploaded). Paths are normalised first, so ``..`` cannot climb out,
and whatever the definition's arguments or hyperparameters say, a job writes only in its own dir.
"""

from __future__ import annotations

import posixpath
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .processes import Jobs, JobsStopped, shared_jobs, wrap
from .store import ObjectStore

CONTAINER_DIR, ROOTFS_DIR = "container", "rootfs"


class StepFailed(Exception):
    """A step failed; the message says why (with the log tail where there is one)."""


@dataclass
class StepContext:
    step: dict[str, Any]
    resolve: Callable[[Any], Any]
    store: ObjectStore
    work: Path
    log: IO[str]
    execution_id: str
    work_dir: Path
    cores: int
    region: str
    account: str
    services: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    """A one-line account of what the step did, for the run record (set by the executor)."""
    jobs: Jobs | None = None
    """The run's job processes (None: the process-wide set, for executors run on their own)."""
    isolated: bool = False
    """The job declares network isolation: its processes run without network (processes.wrap)."""

    @property
    def name(self) -> str:
        return self.step["Name"]

    def container_path(self, path: str) -> str:
        """A container path mapped under this job's scratch dir (see the module docstring); a
        relative path is returned as is."""
        if not path.startswith("/"):
            return path
        parts = [p for p in posixpath.normpath("/" + path.lstrip("/")).split("/") if p]
        if parts[:2] == ["opt", "ml"]:
            return str(self.work.joinpath(CONTAINER_DIR, *parts[2:]))
        return str(self.work.joinpath(ROOTFS_DIR, *parts))

    def local_path(self, path: str) -> Path:
        """Where a container path that must be absolute (a LocalPath) lives here; a relative one is
        taken from the container's root, never from the runner's working dir."""
        return Path(self.container_path("/" + path.lstrip("/")))

    def container_arg(self, token: str, cwd: str = "/") -> str:
        """A command-line token as the job would see it in its container, mapped here: an absolute
        path, ``--flag=PATH``, or a relative path that climbs (``..``) from the container's working
        dir ``cwd`` (a relative path that does not climb stays in the job's working dir)."""
        if token.startswith("-") and "=" in token:
            flag, _, value = token.partition("=")
            return f"{flag}={self.container_arg(value, cwd)}"
        if token.startswith("/"):
            return self.container_path(token)
        if ".." in token.split("/"):
            return self.container_path(posixpath.join(cwd, token))
        return token

    def run_script(
        self,
        command: list[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        shown: list[str] | None = None,
    ) -> str:
        """Run a command with output appended to the step log; raise StepFailed with the log tail.

        The command runs in its own process group under the run's supervisor (processes.py): it
        is killed with the run, and cannot outlive the runner. ``shown``: the command the log and
        the failure name instead (a warm trial's client shows the cold trial's command)."""
        label = shown or command
        name = Path(label[1]).name if len(label) > 1 else label[0]
        if self.isolated:  # (a warm job's client: its worker enters the client's namespaces)
            command, env = wrap(command, env)
            shown = shown and wrap(shown, env)[0]
        self.log.write(f"$ {' '.join(shown or command)}\n")
        self.log.flush()
        jobs = self.jobs or shared_jobs()
        try:
            proc = jobs.start(command, cwd=cwd or self.work, env=env)
        except JobsStopped as err:
            raise StepFailed(str(err)) from None
        tail: deque[str] = deque(maxlen=20)
        lines: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.log.write(line)
                tail.append(line.rstrip())
                lines.append(line)
            code = proc.wait()
        finally:
            jobs.release(proc)
        self.log.flush()
        if code != 0:
            raise StepFailed(f"{name} exited with {code}:\n" + "\n".join(tail))
        return "".join(lines)


def python() -> str:
    """The interpreter that runs container scripts locally (this one: it has the `steps` extra)."""
    return sys.executable
