"""Execute a compiled definition: parameters, DAG order, one executor per step type, records.

A failing step stops its dependents and fails the run with the step's log tail. Resuming a run
re-runs failed and not-run steps and reuses succeeded ones whose resolved inputs are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..emit import render_json
from ..lint.requests import check_request, validation_message, walk_steps
from .baselines import first_run_parameters
from .context import StepContext, StepFailed
from .executors import EXECUTORS
from .expressions import ExpressionError, Resolver
from .graph import build_graph
from .inputs import InputNotFound, provide
from .records import EXECUTING, FAILED, NOT_EXECUTED, SKIPPED, SUCCEEDED, Execution, RunStore, StepRecord, now
from .registry import LocalRegistry
from .store import ObjectStore

Listener = Callable[[str, StepRecord], None]


class RunError(ValueError):
    """The run cannot start: bad parameters, missing input data, unknown run id."""


@dataclass
class RunOptions:
    work_dir: Path
    parameters: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] = field(default_factory=dict)
    resume: str | None = None
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)
    first_run: bool = False
    """Set every check's skip and register-new-baseline parameter to true (explicit --param wins)."""
    listener: Listener | None = None


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def typed_parameters(definition: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    declared = {p["Name"]: p for p in definition.get("Parameters", [])}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise RunError(
            f"unknown parameter(s) {', '.join(unknown)}; the pipeline declares {', '.join(declared) or 'none'}"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name not in overrides:
            values[name] = spec.get("DefaultValue")
            continue
        raw, kind = overrides[name], spec["Type"]
        try:
            if kind == "Integer":
                values[name] = int(raw)
            elif kind == "Float":
                values[name] = float(raw)
            elif kind == "Boolean":
                if raw.lower() not in ("true", "false"):
                    raise ValueError(raw)
                values[name] = raw.lower() == "true"
            else:
                values[name] = raw
        except ValueError:
            raise RunError(f"--param {name}={raw}: not a valid {kind}") from None
    return values


class LocalRun:
    def __init__(
        self,
        definition: dict[str, Any],
        manifest: dict[str, Any],
        artifacts_dir: Path,
        options: RunOptions,
        pipeline_name: str = "pipeline",
    ):
        self.definition = definition
        self.pipeline_name = pipeline_name
        self.options = options
        # Absolute: scripts run with their step directory as the working directory.
        self.work_dir = Path(options.work_dir).resolve()
        self.store = ObjectStore(self.work_dir)
        self.provided: dict[str, str] = {}
        """Inputs the preflight found beside --data: URI → where from (bundled data, S3)."""
        self.runs = RunStore(self.work_dir)
        self.nodes = build_graph(definition)
        for entry in manifest.get("artifacts", []):
            self.store.put_file(entry["s3_uri"], artifacts_dir / entry["path"])
        for uri, path in options.data.items():
            if not Path(path).is_file():
                raise RunError(f"--data {uri}={path}: no such file")
            self.store.put_file(uri, path)
        role = _first_role(definition)
        self.account = role.split(":")[4] if role.count(":") >= 5 else "000000000000"
        self.region = _region(definition)
        self.registry = LocalRegistry(self.work_dir, self.region, self.account)
        overrides = dict(options.parameters)
        if options.first_run:
            overrides = {**first_run_parameters(definition), **overrides}
        self.execution = self._start(typed_parameters(definition, overrides))

    def _start(self, parameters: dict[str, Any]) -> Execution:
        if self.options.resume:
            previous = self.runs.load(self.options.resume)
            return Execution(
                id=previous.id,
                pipeline_name=previous.pipeline_name,
                status=EXECUTING,
                parameters=parameters,
                started=now(),
                steps=previous.steps,
            )
        run_id = new_run_id()
        return Execution(
            id=run_id,
            pipeline_name=self.pipeline_name,
            status=EXECUTING,
            parameters=parameters,
            started=now(),
        )

    def preflight(self) -> None:
        """Every input that no step produces must already be in the store (--data)."""
        resolver = self._resolver({})
        for node in self.nodes:
            for uri in input_uris(node.step.get("Arguments")):
                try:
                    resolved = resolver(uri, node.name)
                except ExpressionError:
                    continue  # produced by an earlier step
                if isinstance(resolved, str) and not self.store.exists(resolved):
                    try:
                        source = provide(resolved, self.store)
                    except InputNotFound as err:
                        raise RunError(
                            f"step {node.name!r} reads {resolved}, which is not in the local object store "
                            f"and not bundled; {err}. Map it to a file with --data {resolved}=PATH"
                        ) from None
                    self.provided[resolved] = source

    def _resolver(self, properties: dict[str, dict[str, Any]]) -> Resolver:
        execution = {
            "PipelineExecutionId": self.execution.id,
            "PipelineExecutionArn": f"arn:aws:sagemaker:{self.region}:{self.account}:pipeline/{self.execution.pipeline_name}/execution/{self.execution.id}",
            "PipelineName": self.execution.pipeline_name,
            "StartDateTime": self.execution.started,
            "CurrentDateTime": now(),
        }
        return Resolver(self.execution.parameters, execution, properties, self._property_file(properties))

    def _property_file(self, properties: dict[str, dict[str, Any]]) -> Callable[[str, str], Any]:
        def read(step_name: str, file_name: str) -> Any:
            node = next((n for n in self.nodes if n.name == step_name), None)
            spec = next(
                (
                    p
                    for p in (node.step.get("PropertyFiles", []) if node else [])
                    if p["PropertyFileName"] == file_name
                ),
                None,
            )
            if spec is None or step_name not in properties:
                raise ExpressionError(f"property file {step_name}.{file_name} is not available")
            output = properties[step_name]["ProcessingOutputConfig"]["Outputs"][spec["OutputName"]]
            return json.loads(
                self.store.read_bytes(f"{output['S3Output']['S3Uri'].rstrip('/')}/{spec['FilePath']}")
            )

        return read

    def _emit(self, event: str, record: StepRecord) -> None:
        if self.options.listener:
            self.options.listener(event, record)

    def run(self) -> Execution:
        self.preflight()
        execution = self.execution
        execution.inputs = dict(sorted(self.provided.items()))
        previous = dict(execution.steps)
        execution.steps = {n.name: StepRecord(name=n.name, type=n.step["Type"]) for n in self.nodes}
        properties: dict[str, dict[str, Any]] = {}
        branches: dict[str, str] = {}  # condition step -> branch taken
        run_dir = self.runs.dir(execution.id)
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.runs.save(execution)
        for node in self.nodes:
            record = execution.steps[node.name]
            blocked = [d for d in sorted(node.depends) if execution.steps[d].status not in (SUCCEEDED,)]
            if node.branch_of and branches.get(node.branch_of[0]) not in (None, node.branch_of[1]):
                record.status, record.note = SKIPPED, f"{node.branch_of[0]} took the other branch"
                self._emit("skipped", record)
                continue
            if blocked:
                record.status, record.note = NOT_EXECUTED, f"not run: {', '.join(blocked)} did not succeed"
                self._emit("skipped", record)
                continue
            self._run_step(node, record, properties, branches, previous.get(node.name))
            self.runs.save(execution)
        failed = [r for r in execution.steps.values() if r.status == FAILED]
        execution.status = FAILED if failed else SUCCEEDED
        execution.failure_reason = (
            f"step {failed[0].name} failed: {failed[0].failure_reason}" if failed else None
        )
        registered = [
            r.properties.get("ModelPackageArn")
            for r in execution.steps.values()
            if r.type == "RegisterModel" and r.status == SUCCEEDED
        ]
        execution.registered_model_package = registered[0] if registered else None
        self._report(execution)
        execution.ended = now()
        self.runs.save(execution)
        return execution

    def _report(self, execution: Execution) -> None:
        """The run's bias/SHAP report, when a check ran; a report failure is noted, not fatal."""
        from .report import ReportError, _checks, write_run_report

        self.runs.save(execution)
        if not _checks(self.runs.dir(execution.id)):
            return
        try:
            html, _ = write_run_report(self.work_dir, execution.id)
            execution.report = str(html)
        except (ReportError, OSError) as err:
            execution.report = f"not written: {err}"

    def _run_step(self, node, record: StepRecord, properties, branches, previous: StepRecord | None) -> None:  # noqa: ANN001
        resolver = self._resolver(properties)
        try:
            resolved = (
                resolver(node.step.get("Arguments", {}), node.name)
                if node.step["Type"] != "Condition"
                else None
            )
        except ExpressionError as err:
            resolved, record.failure_reason = None, str(err)
        record.input_hash = hashlib.sha256(
            render_json([node.step.get("Type"), resolved, node.step.get("FunctionArn")]).encode()
        ).hexdigest()
        if record.failure_reason:
            record.status = FAILED
            self._emit("failed", record)
            return
        if (
            previous
            and previous.status == SUCCEEDED
            and previous.input_hash == record.input_hash
            and node.step["Type"] != "Condition"
        ):
            record.status, record.cached, record.properties = SUCCEEDED, True, previous.properties
            record.start, record.end, record.seconds, record.log = (
                previous.start,
                previous.end,
                previous.seconds,
                previous.log,
            )
            properties[node.name] = record.properties
            self._emit("cached", record)
            return
        log_path = self.runs.dir(self.execution.id) / "logs" / f"{node.name}.log"
        record.log, record.status, record.start = str(log_path), EXECUTING, now()
        self._emit("started", record)
        started = time.perf_counter()
        work = self.runs.dir(self.execution.id) / "steps" / node.name
        with log_path.open("w", encoding="utf-8") as log:
            try:
                executor = EXECUTORS.get(node.step["Type"])
                if executor is None:
                    raise StepFailed(f"step type {node.step['Type']} cannot run locally")
                refused = check_request(node.step["Type"], resolved)
                if refused:  # SageMaker refuses the job at creation: nothing runs
                    raise StepFailed(validation_message(refused))
                work.mkdir(parents=True, exist_ok=True)
                ctx = StepContext(
                    step=node.step,
                    resolve=lambda v, _n=node.name: resolver(v, _n),
                    store=self.store,
                    work=work,
                    log=log,
                    execution_id=self.execution.id,
                    work_dir=self.work_dir,
                    cores=self.options.cores,
                    region=self.region,
                    account=self.account,
                    services={"registry": self.registry},
                )
                record.properties = executor(ctx)
                record.note = ctx.note
                if node.step["Type"] == "Condition":
                    branches[node.name] = "IfSteps" if record.properties["Outcome"] else "ElseSteps"
                record.status = SUCCEEDED
                properties[node.name] = record.properties
            except (StepFailed, ExpressionError, ValueError, OSError) as err:
                record.status, record.failure_reason = FAILED, str(err)
                log.write(f"FAILED: {err}\n")
            except Exception as err:  # an executor bug: keep the traceback in the step log
                record.status, record.failure_reason = FAILED, f"internal error: {err!r} (see {log_path})"
                log.write(traceback.format_exc())
        record.end, record.seconds = now(), round(time.perf_counter() - started, 3)
        self._emit("succeeded" if record.status == SUCCEEDED else "failed", record)


INPUT_HOLDERS = ("S3Input", "S3DataSource")
"""Request members whose S3Uri a job reads: processing inputs, training, tuning and transform
channels (S3DataSource), beside ModelDataUrl."""


def input_uris(node: Any) -> Iterator[Any]:
    """Every S3 location a step's request reads, of any input kind."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in INPUT_HOLDERS and isinstance(value, dict) and "S3Uri" in value:
                yield value["S3Uri"]
            elif key == "ModelDataUrl":
                yield value
            else:
                yield from input_uris(value)
    elif isinstance(node, list):
        for item in node:
            yield from input_uris(item)


def _first_role(definition: dict[str, Any]) -> str:
    for step in walk_steps(definition["Steps"]):
        args = step.get("Arguments", {})
        for key in ("RoleArn", "ExecutionRoleArn"):
            if isinstance(args, dict) and isinstance(args.get(key), str):
                return args[key]
    return ""


def _region(definition: dict[str, Any]) -> str:
    text = json.dumps(definition)
    marker = ".dkr.ecr."
    if marker in text:
        return text.split(marker, 1)[1].split(".", 1)[0]
    return "us-east-1"
