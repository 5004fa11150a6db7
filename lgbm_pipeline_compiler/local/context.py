"""What a step executor gets: its definition, a resolver, the store, a scratch dir and a log."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .store import ObjectStore

CONTAINER_ROOT = "/opt/ml/"


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

    @property
    def name(self) -> str:
        return self.step["Name"]

    def container_path(self, path: str) -> str:
        """A container path (/opt/ml/...) mapped under this step's scratch dir."""
        if path.startswith(CONTAINER_ROOT):
            return str(self.work / "container" / path[len(CONTAINER_ROOT) :])
        return path

    def run_script(
        self, command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> str:
        """Run a command with output appended to the step log; raise StepFailed with the log tail."""
        self.log.write(f"$ {' '.join(command)}\n")
        self.log.flush()
        proc = subprocess.Popen(
            command,
            cwd=cwd or self.work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        tail: deque[str] = deque(maxlen=20)
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            self.log.write(line)
            tail.append(line.rstrip())
            lines.append(line)
        code = proc.wait()
        self.log.flush()
        if code != 0:
            raise StepFailed(
                f"{Path(command[1]).name if len(command) > 1 else command[0]} exited with {code}:\n"
                + "\n".join(tail)
            )
        return "".join(lines)


def python() -> str:
    """The interpreter that runs container scripts locally (this one: it has the `steps` extra)."""
    return sys.executable
