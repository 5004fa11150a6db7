"""Execution records: one JSON file per run under {work_dir}/runs/{id}/, written atomically."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..emit import render_json, write_text_atomic

SUCCEEDED, FAILED, EXECUTING, NOT_EXECUTED, SKIPPED = (
    "Succeeded",
    "Failed",
    "Executing",
    "NotExecuted",
    "Skipped",
)


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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [asdict(s) for s in self.steps.values()]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Execution:
        steps = {s["name"]: StepRecord(**s) for s in data.pop("steps")}
        return cls(**data, steps=steps)


class RunStore:
    """Where runs live: {work_dir}/runs/{id}/execution.json and logs/."""

    def __init__(self, work_dir: str | Path):
        self.root = Path(work_dir) / "runs"

    def dir(self, run_id: str) -> Path:
        return self.root / run_id

    def save(self, execution: Execution) -> None:
        write_text_atomic(self.dir(execution.id) / "execution.json", render_json(execution.to_json()))

    def load(self, run_id: str) -> Execution:
        path = self.dir(run_id) / "execution.json"
        if not path.is_file():
            known = ", ".join(r.id for r in self.list()[-5:]) or "none"
            raise FileNotFoundError(f"no run {run_id!r} under {self.root} (recent runs: {known})")
        return Execution.from_json(json.loads(path.read_text(encoding="utf-8")))

    def list(self) -> list[Execution]:
        if not self.root.is_dir():
            return []
        runs = [self.load(p.name) for p in self.root.iterdir() if (p / "execution.json").is_file()]
        return sorted(runs, key=lambda e: (e.started, e.id))
