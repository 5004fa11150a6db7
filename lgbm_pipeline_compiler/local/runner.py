"""Execute a compiled definition: parameters, DAG order, one executor per step type, records.

A failing step stops its dependents and fails the run with the step's log tail. Resuming a run
re-runs failed and not-run steps and reuses succeeded ones whose resolved inputs are unchanged; a
step that runs again starts from an empty step dir (a Tune step keeps the trials it completed).

How a run ends, whatever ends it: the record says Succeeded or Failed, Stopped on SIGINT, SIGTERM
or SIGHUP (RunStopped: exit 130), or Failed with the OS error when the machine stops it (a full
disk, a permission: EnvironmentFailure, exit 3); a name from the definition that would leave the
work dir fails the run with paths.UnsafePath (exit 2). Every job process is killed with the run
(processes.Jobs), and none outlives a runner killed with ``kill -9`` (supervisor.py). While it
runs, the runner holds the run's lock (records.RunStore.claim): a second runner cannot resume it,
and once the runner is gone its record reads as Failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..emit import render_json
from ..errors import EnvironmentFailure, RunStopped, is_environment_error, mentions_environment_error
from ..lint.requests import check_request, validation_message
from . import isolation, paths
from .baselines import first_run_parameters
from .cache import StepCache, cache_key, describe
from .context import StepContext, StepFailed
from .definition import RunError, first_role, input_uris, new_run_id, region_of, typed_parameters
from .executors import EXECUTORS, KEEP_ON_RERUN
from .expressions import ExpressionError, Resolver
from .graph import build_graph
from .inputs import InputNotFound, provide
from .processes import Jobs, signals_held, stop_signals
from .records import (
    EXECUTING,
    FAILED,
    NOT_EXECUTED,
    SKIPPED,
    STOPPED,
    SUCCEEDED,
    Execution,
    RunStore,
    StepRecord,
    now,
    this_runner,
)
from .registry import LocalRegistry
from .store import ObjectStore
from .warm_jobs import SERVICE as WARM_SERVICE
from .warm_jobs import WarmJobs

Listener = Callable[[str, StepRecord], None]
WARM_JOBS_DIR = "warm-jobs"
"""The run dir's subdir of its warm job server (warm_jobs.py): its working dir and socket."""


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
        for node in self.nodes:  # step names become dir and log names
            paths.name(node.name, what="step name", fix="name steps with letters, digits, '-' and '_'")
        for entry in manifest.get("artifacts", []):
            fix = "list artifacts as `lgbm-pipeline compile -o` writes them"
            source = paths.inside(artifacts_dir, entry["path"], what="manifest artifact path", fix=fix)
            self.store.put_file(entry["s3_uri"], source)
        for uri, path in options.data.items():
            if not Path(path).is_file():
                raise RunError(f"--data {uri}={path}: no such file")
            self.store.put_file(uri, path)
        role = first_role(definition)
        self.account = role.split(":")[4] if role.count(":") >= 5 else "000000000000"
        self.region = region_of(definition)
        self.registry = LocalRegistry(self.work_dir, self.region, self.account)
        overrides = dict(options.parameters)
        if options.first_run:
            overrides = {**first_run_parameters(definition), **overrides}
        parameters = typed_parameters(definition, overrides)
        self.jobs = Jobs()
        self.warm_jobs: WarmJobs | None = None
        self.started = False
        run_id = options.resume or new_run_id()
        self.lock = self.runs.claim(run_id)  # refused while another runner has it
        try:
            self.execution = self._start(run_id, parameters)
        except BaseException:
            self.lock.release()
            self.jobs.close()
            raise

    def _start(self, run_id: str, parameters: dict[str, Any]) -> Execution:
        if self.options.resume:
            previous = self.runs.load(run_id)  # a run whose runner is gone reads as Failed
            return Execution(
                id=previous.id,
                pipeline_name=previous.pipeline_name,
                status=EXECUTING,
                parameters=parameters,
                started=now(),
                steps=previous.steps,
                runner=this_runner(),
            )
        return Execution(
            id=run_id,
            pipeline_name=self.pipeline_name,
            status=EXECUTING,
            parameters=parameters,
            started=now(),
            runner=this_runner(),
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
        """Run every step; see the module docstring for how a run ends."""
        try:
            with stop_signals():
                return self._run()
        except BaseException as err:
            raise self._abort(err) from err
        finally:
            if self.warm_jobs is not None:
                self.warm_jobs.close()
            self.jobs.close()
            self.lock.release()

    def _abort(self, err: BaseException) -> BaseException:
        """Kill the jobs and record how the run ended; returns the exception the caller sees."""
        execution = self.execution
        stopped = isinstance(err, KeyboardInterrupt)
        reason = f"stopped by {err if isinstance(err, RunStopped) else 'SIGINT'}" if stopped else str(err)
        resume = f"resume with --resume {execution.id} (logs: {self.runs.root / execution.id / 'logs'})"
        with signals_held():
            self.jobs.stop()
            if not self.started:  # refused before anything ran (preflight): no record to keep
                if not self.options.resume:
                    shutil.rmtree(self.runs.dir(execution.id), ignore_errors=True)
                return err
            for record in execution.steps.values():
                if record.status == EXECUTING:
                    record.status = STOPPED if stopped else FAILED
                    record.failure_reason = record.failure_reason or reason
                    record.end = now()
            execution.status = STOPPED if stopped else FAILED
            execution.failure_reason = execution.failure_reason or reason or repr(err)
            execution.ended = now()
            try:
                self.runs.save(execution)
            except OSError as save_err:
                resume += f"; its record could not be updated ({save_err}) and reads as Failed"
        if stopped:
            return RunStopped(f"run {execution.id} {reason}; {resume}")
        if isinstance(err, EnvironmentFailure) or is_environment_error(err):
            return EnvironmentFailure(
                f"run {execution.id} failed: {reason}. The machine stopped it, not the pipeline: free "
                f"space or fix permissions, then {resume}"
            )
        return err

    def _run(self) -> Execution:
        self.preflight()
        execution = self.execution
        execution.inputs = dict(sorted(self.provided.items()))
        previous = dict(execution.steps)
        self.cache = StepCache(self.runs, execution.pipeline_name, execution.id)
        self.cache_keys: dict[str, str] = {}
        execution.steps = {n.name: StepRecord(name=n.name, type=n.step["Type"]) for n in self.nodes}
        properties: dict[str, dict[str, Any]] = {}
        branches: dict[str, str] = {}  # condition step -> branch taken
        run_dir = self.runs.dir(execution.id)
        paths.ensure_dir(self.work_dir, run_dir / "logs")
        self.runs.save(execution)
        self.started = True
        self.warm_jobs = WarmJobs(self.jobs, run_dir / WARM_JOBS_DIR, self.options.cores)
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
        key = self._cache_key(node, resolver)
        if (
            previous
            and previous.status == SUCCEEDED
            and previous.input_hash == record.input_hash
            and node.step["Type"] != "Condition"
        ):
            if key:
                self._remember(node.name, key)
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
        hit = self.cache.lookup(node.step, key) if key else None
        if hit is not None and key:
            record.status, record.cached, record.properties = SUCCEEDED, True, dict(hit.record.properties)
            record.start, record.end, record.seconds = now(), now(), 0.0
            record.note, record.log = describe(hit, node.step), hit.record.log
            properties[node.name] = record.properties
            self._remember(node.name, key)
            self._emit("cached", record)
            return
        log_path = self.runs.dir(self.execution.id) / "logs" / f"{node.name}.log"
        record.log, record.status, record.start = str(log_path), EXECUTING, now()
        self.runs.save(self.execution)  # on disk: which step ran, should the runner be killed
        self._emit("started", record)
        started = time.perf_counter()
        work = self.runs.dir(self.execution.id) / "steps" / node.name
        fatal: BaseException | None = None
        with log_path.open("w", encoding="utf-8") as log:
            try:
                executor = EXECUTORS.get(node.step["Type"])
                if executor is None:
                    raise StepFailed(f"step type {node.step['Type']} cannot run locally")
                refused = check_request(node.step["Type"], resolved)
                if refused:  # SageMaker refuses the job at creation: nothing runs
                    raise StepFailed(validation_message(refused))
                self._fresh(work, KEEP_ON_RERUN.get(node.step["Type"]))
                isolation.check_install(
                    node.step, resolved, self.store, work / "install-check", self.jobs, log, self.work_dir
                )
                ctx = StepContext(
                    step=node.step,
                    resolve=lambda v, _n=node.name: isolation.code_channel_view(resolver(v, _n)),
                    store=self.store,
                    work=work,
                    log=log,
                    execution_id=self.execution.id,
                    work_dir=self.work_dir,
                    cores=self.options.cores,
                    region=self.region,
                    account=self.account,
                    services={"registry": self.registry, WARM_SERVICE: self.warm_jobs},
                    jobs=self.jobs,
                    isolated=isolation.declared(node.step["Type"], resolved, self.work_dir),
                )
                record.properties = executor(ctx)
                record.note = ctx.note
                if node.step["Type"] == "Condition":
                    branches[node.name] = "IfSteps" if record.properties["Outcome"] else "ElseSteps"
                record.status = SUCCEEDED
                properties[node.name] = record.properties
                if key:
                    self._remember(node.name, key)
            except (StepFailed, ExpressionError, ValueError, OSError) as err:
                record.status, record.failure_reason = FAILED, str(err)
                log.write(f"FAILED: {err}\n")
                fatal = _fatal(node.name, err)
            except Exception as err:  # an executor bug: keep the traceback in the step log
                record.status, record.failure_reason = FAILED, f"internal error: {err!r} (see {log_path})"
                log.write(traceback.format_exc())
        record.end, record.seconds = now(), round(time.perf_counter() - started, 3)
        self._emit("succeeded" if record.status == SUCCEEDED else "failed", record)
        if fatal is not None:  # the machine or a name that leaves the work dir: the run stops here
            raise fatal

    def _cache_key(self, node, resolver: Resolver) -> str | None:  # noqa: ANN001
        """The step's cache key when its CacheConfig is enabled (cache.py), else None."""
        if not (node.step.get("CacheConfig") or {}).get("Enabled"):
            return None
        try:
            return cache_key(node.step, lambda v: resolver(v, node.name))
        except ExpressionError:
            return None

    def _remember(self, step: str, key: str) -> None:
        self.cache_keys[step] = key
        self.cache.remember(self.execution.id, self.cache_keys)

    def _fresh(self, work: Path, keep: str | None) -> None:
        """An empty step dir, as a new job's container is (but for ``keep``: the trials a resumed
        Tune step reuses if they completed); what an earlier attempt left is never reused."""
        paths.ensure_dir(self.work_dir, work)
        for child in work.iterdir():
            if child.name == keep and child.is_dir() and not child.is_symlink():
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


def _fatal(step: str, err: BaseException) -> BaseException | None:
    """What stops the whole run rather than failing one step: an unsafe name (exit 2) or an
    environment error (exit 3), in the step's own words."""
    if isinstance(err, paths.UnsafePath):
        return paths.UnsafePath(f"step {step}: {err.what}", err.value, err.reason, err.fix)
    if is_environment_error(err) or (isinstance(err, StepFailed) and mentions_environment_error(str(err))):
        return EnvironmentFailure(f"step {step}: {err}")
    return None
