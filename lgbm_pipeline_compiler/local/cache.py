"""Step caching as SageMaker Pipelines does it (CacheConfig), for the local runner.

A step whose CacheConfig is enabled reuses the outputs of the most recent successful run of the
same step (same name) of the same pipeline, when that run's whole execution succeeded, it ended
within ``ExpireAfter``, and the step's cache-key attributes are unchanged. The attributes are
SageMaker's documented defaults ("Default cache key attributes by pipeline step type"), taken with
expressions resolved (an upstream step that ran again gives new input URIs, so its dependents run
again; one that was reused gives the same):

- Processing: AppSpecification, Environment, ProcessingInputs (not the outputs' locations, which
  carry the execution id, nor the instance type);
- Tuning: HyperParameterTuningJobConfig, TrainingJobDefinitions, and of TrainingJobDefinition
  AlgorithmSpecification, HyperParameterRanges, InputDataConfig, StaticHyperParameters and
  TuningObjective;
- Training: AlgorithmSpecification, CheckpointConfig, DebugHookConfig, DebugRuleConfigurations,
  Environment, HyperParameters, InputDataConfig;
- Transform: DataProcessing, Environment, ModelName, TransformInput;
- ClarifyCheck: the check config (CheckType, ModelName, the job's request but for its output
  location), SkipCheck, RegisterNewBaseline, ModelPackageGroupName, SuppliedBaselineConstraints;
- QualityCheck: the same, and SuppliedBaselineStatistics (a QualityCheck's other supplied baseline).

Each run records the keys of its succeeded cacheable steps in ``runs/{id}/cache-keys.json``.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..emit import render_json
from . import paths
from .records import SUCCEEDED, Execution, RunStore

KEYS_FILE = "cache-keys.json"
_TUNING_DEFINITION = (
    "AlgorithmSpecification",
    "HyperParameterRanges",
    "InputDataConfig",
    "StaticHyperParameters",
    "TuningObjective",
)
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
    "Tuning": ("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions"),
    "Transform": ("DataProcessing", "Environment", "ModelName", "TransformInput"),
}
CHECK_FIELDS = ("CheckType", "ModelName", "SkipCheck", "RegisterNewBaseline", "ModelPackageGroupName")
CHECK_FIELDS += ("SuppliedBaselineConstraints", "SuppliedBaselineStatistics")
CHECK_KINDS = ("ClarifyCheck", "QualityCheck")
_DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")
_UNIT_SECONDS = (365 * 86400, 30 * 86400, 7 * 86400, 86400, 3600, 60)


def expire_seconds(duration: str) -> int | None:
    """ISO 8601 duration (Y, M, W, D, H, M; a year 365 days, a month 30) in seconds; None if not one."""
    match = _DURATION.fullmatch(duration.strip().upper()) if duration else None
    if not match or not any(match.groups()):
        return None
    return sum(int(v or 0) * unit for v, unit in zip(match.groups(), _UNIT_SECONDS, strict=True))


def cache_key(step: dict[str, Any], resolve: Callable[[Any], Any]) -> str | None:
    """The step's cache key from its resolved cache-key attributes (None: the type is not cacheable)."""
    kind = step.get("Type")
    args = step.get("Arguments") or {}
    if kind in CHECK_KINDS:
        job = {k: v for k, v in args.items() if k != "ProcessingOutputConfig"}
        chosen = {"Arguments": job, **{k: step.get(k) for k in CHECK_FIELDS}}
        if kind == "ClarifyCheck":  # it has no supplied statistics: its keys stay what they were
            del chosen["SuppliedBaselineStatistics"]
    elif kind in ATTRIBUTES:
        chosen = {k: args.get(k) for k in ATTRIBUTES[kind]}
        if kind == "Tuning" and isinstance(chosen["TrainingJobDefinition"], dict):
            definition = chosen["TrainingJobDefinition"]
            chosen["TrainingJobDefinition"] = {k: definition.get(k) for k in _TUNING_DEFINITION}
    else:
        return None
    return hashlib.sha256(render_json([kind, resolve(chosen)]).encode()).hexdigest()


def _seconds(stamp: str | None) -> float | None:
    try:
        return calendar.timegm(time.strptime(stamp or "", "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Hit:
    """A reusable earlier run of a step."""

    run_id: str
    record: Any
    age_seconds: float


class StepCache:
    """The cache of one pipeline's earlier runs under a work dir."""

    def __init__(self, runs: RunStore, pipeline_name: str, current_run: str) -> None:
        self.runs, self.pipeline, self.current = runs, pipeline_name, current_run
        self._executions: list[Execution] | None = None

    def _candidates(self) -> list[Execution]:
        if self._executions is None:
            self._executions = [
                e
                for e in self.runs.list()
                if e.pipeline_name == self.pipeline and e.status == SUCCEEDED and e.id != self.current
            ]
        return self._executions

    def keys(self, run_id: str) -> dict[str, str]:
        path = self.runs.dir(run_id) / KEYS_FILE
        try:
            data = json.loads(paths.read_bytes(path))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def lookup(self, step: dict[str, Any], key: str) -> Hit | None:
        """The most recent successful run of this step with ``key``, within its ExpireAfter."""
        config = step.get("CacheConfig") or {}
        limit = expire_seconds(str(config.get("ExpireAfter") or ""))
        if not config.get("Enabled") or limit is None:
            return None
        best: Hit | None = None
        for execution in self._candidates():
            record = execution.steps.get(step["Name"])
            ended = _seconds(record.end) if record else None
            if record is None or record.status != SUCCEEDED or ended is None:
                continue
            age = time.time() - ended
            if age > limit or self.keys(execution.id).get(step["Name"]) != key:
                continue
            if best is None or age < best.age_seconds:
                best = Hit(execution.id, record, age)
        return best

    def remember(self, run_id: str, keys: dict[str, str]) -> None:
        """Write a run's cache keys (step name → key) atomically."""
        path = self.runs.dir(run_id) / KEYS_FILE
        paths.write_atomic(self.runs.root, path, render_json(dict(sorted(keys.items()))).encode())


def describe(hit: Hit, step: dict[str, Any]) -> str:
    """The run record's note for a cache hit."""
    minutes = int(hit.age_seconds // 60)
    age = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
    expire = (step.get("CacheConfig") or {}).get("ExpireAfter")
    return f"cache hit: reused from run {hit.run_id} ({age} old, within ExpireAfter {expire})"
