"""Tuning steps: trials of the training script in parallel, objective read from each trial's log
with the definition's metric regex (the last match, as SageMaker reports the final value).

Each trial is a training job with a container of its own, ``trials/{name}/container/`` ↔
``/opt/ml/``: its code in ``code/`` (the working dir), its model in ``model/`` (SM_MODEL_DIR),
other outputs in ``output/data/``; the step's channels are shared, read-only by convention. As in
SageMaker, only the model dir becomes ``model.tar.gz``: a hyperparameter such as
``model-dir: /some/path`` makes the script write inside the trial's own ``rootfs/some/path``,
which is not uploaded (context.StepContext.container_arg).

A resumed Tune step reuses a trial only if it completed: its ``result.json`` is written (atomically)
after its model tarball is in the store (atomically), and names the trial's inputs (the resolved
training job definition, its hyperparameters, the code and channel bytes) and the tarball's
sha256. Any other trial dir, an interrupted one above all, is deleted and the trial runs again.

Trials run warm (local/warm.py) when they can: forked from one process that imported the script's
heavy libraries once, each still a job of its own with the output, exit code and model of a cold
trial; the first trial that runs starts the server (a resumed step that reuses every trial starts
none), or takes one of the open warm pool's (local/warm_jobs.py). ``LGBM_PIPELINE_COLD_TRIALS=1``
runs each in a fresh process.

A trial on several instances (InstanceCount > 1: data-parallel training) runs as one process per
host, each in a container of its own under ``trials/{name}/hosts/`` (local/distributed.py), warm
as a single-host trial is.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ...emit import render_json
from .. import distributed, paths, warm, warm_jobs
from ..context import StepContext, StepFailed, python
from ..processes import shared_jobs
from ..sampling import sample

CHANNEL_ROOT = "input/data"
TRIALS = "trials"
"""The step dir's subdir a resumed run keeps (the runner clears the rest before a step runs)."""
RESULT = "result.json"
CODE_DIR = "/opt/ml/code"


def _unquote(value: str) -> str:
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, str) else value


def objective_value(log: str, regex: str) -> float | None:
    matches = re.findall(regex, log)
    if not matches:
        return None
    last = matches[-1]
    return float(last[0] if isinstance(last, tuple) else last)


def _model_tarball(model_dirs: list[Path]) -> bytes:
    """One model.tar.gz of every instance's /opt/ml/model (SageMaker aggregates them); a file that
    two instances wrote is an error here (SageMaker: names "should not clash")."""
    members: dict[str, Path] = {}
    for model_dir in model_dirs:
        for path in sorted(model_dir.rglob("*")):
            name = str(path.relative_to(model_dir))
            if name in members and not (path.is_dir() and members[name].is_dir()):
                raise StepFailed(
                    f"two instances wrote {name} in /opt/ml/model: SageMaker aggregates every "
                    "instance's model dir into one model.tar.gz, so the names must not clash"
                )
            members.setdefault(name, path)
    raw = io.BytesIO()
    # Level 1: a large trial's model.txt (7 MB for 375 trees of 195 leaves) compresses in 0.1 s
    # instead of 0.6 s at tarfile's default 9, to a file 10% larger; the members are the same.
    with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as tar:
        for name in sorted(members):
            tar.add(members[name], arcname=name, recursive=False)
    return raw.getvalue()


def _tree_digest(digest: Any, folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())


class _Trials:
    def __init__(self, ctx: StepContext, args: dict[str, Any]):
        self.ctx = ctx
        self.config = args["HyperParameterTuningJobConfig"]
        self.job = args["TrainingJobDefinition"]
        self.tuning_name = f"{ctx.name.lower()}-{ctx.execution_id}"[:32]
        objective = self.config["HyperParameterTuningJobObjective"]
        self.metric, self.maximize = objective["MetricName"], objective["Type"] == "Maximize"
        definitions = {
            m["Name"]: m["Regex"] for m in self.job["AlgorithmSpecification"].get("MetricDefinitions", [])
        }
        if self.metric not in definitions:
            raise StepFailed(f"objective metric {self.metric!r} has no MetricDefinition regex")
        self.regex = definitions[self.metric]
        static = self.job.get("StaticHyperParameters", {})
        fix = "name the entry point relative to the source dir, without '..'"
        self.program = "/".join(
            paths.components(_unquote(static["sagemaker_program"]), what="sagemaker_program", fix=fix)
        )
        self.static = {k: _unquote(v) for k, v in static.items() if not k.startswith("sagemaker_")}
        self.code_archive = ctx.store.read_bytes(_unquote(static["sagemaker_submit_directory"]))
        digest = hashlib.sha256(self.code_archive)
        self.channels: dict[str, Path] = {}
        for channel in self.job.get("InputDataConfig", []):
            name = paths.name(
                channel["ChannelName"],
                what="channel name",
                fix="name channels with letters, digits, '.', '-' or '_'",
            )
            local = ctx.work / CHANNEL_ROOT / name
            shutil.rmtree(local, ignore_errors=True)
            ctx.store.download(channel["DataSource"]["S3DataSource"]["S3Uri"], local)
            self.channels[name] = local
            digest.update(f"\0channel {name}\0".encode())
            _tree_digest(digest, local)
        self.inputs = digest.hexdigest()
        limits = self.config["ResourceLimits"]
        self.parallel = max(1, min(int(limits["MaxParallelTrainingJobs"]), ctx.cores))
        self.count = int(limits.get("MaxNumberOfTrainingJobs") or 10_000)
        resources = self.job.get("HyperParameterTuningResourceConfig") or self.job.get("ResourceConfig") or {}
        self.instances = int(resources.get("InstanceCount", 1))
        self.instance_type = str(resources.get("InstanceType", "local"))
        self.reused: list[str] = []
        self._lock = threading.Lock()
        self._warm_lock = threading.Lock()
        self._warm: warm.WarmTrials | warm.Borrowed | None = None
        self._warm_tried = False

    def env(self, **per_trial: str) -> dict[str, str]:
        """A trial's environment: the runner's, the channels, its dirs, its share of the cores."""
        return {
            **os.environ,
            **{f"SM_CHANNEL_{c.upper()}": str(p) for c, p in self.channels.items()},
            **per_trial,
            "OMP_NUM_THREADS": str(max(1, self.ctx.cores // (self.parallel * self.instances))),
        }

    def warm_server(self) -> warm.WarmTrials | warm.Borrowed | None:
        """The step's warm trial server, started by the first trial that runs (None: trials run cold)."""
        with self._warm_lock:
            if not self._warm_tried:
                self._warm_tried = True
                self._warm, note = warm_jobs.pooled_trials(self.code_archive, self.program, self.env())
                if self._warm is None:
                    self._warm, note = warm.start(self.ctx, self.code_archive, self.program, self.env())
                with self._lock:
                    self.ctx.log.write(f"{note}\n")
                    self.ctx.log.flush()
            return self._warm

    def close(self) -> None:
        with self._warm_lock:
            if self._warm is not None:
                left = self._warm.close()
                self._warm = None
                if left:
                    self.ctx.log.write(f"warm trial server: {left}")

    def _key(self, hyperparameters: dict[str, str]) -> str:
        return hashlib.sha256(render_json([self.job, hyperparameters, self.inputs]).encode()).hexdigest()

    def _model_uri(self, name: str) -> str:
        return f"{self.job['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{name}/output/model.tar.gz"

    def _completed(self, trial: Path, key: str) -> dict[str, Any] | None:
        """The summary of a trial an earlier attempt completed with these inputs, else None."""
        try:
            result = json.loads(paths.read_bytes(trial / RESULT))
            uri = result["ModelUri"]
            model = self.ctx.store.read_bytes(uri) if self.ctx.store.exists(uri) else b""
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if result.get("Key") != key or hashlib.sha256(model).hexdigest() != result.get("ModelSha256"):
            return None
        return result["Summary"]

    def run_trial(self, index: int, hyperparameters: dict[str, str]) -> dict[str, Any]:
        name = f"{self.tuning_name}-{index:03d}"
        trial = self.ctx.work / TRIALS / name
        key = self._key(hyperparameters)
        done = self._completed(trial, key)
        if done is not None:
            with self._lock:
                self.reused.append(name)
            return done
        shutil.rmtree(trial, ignore_errors=True)  # an incomplete (or stale) attempt: nothing reused
        sub = StepContext(**{**self.ctx.__dict__, "work": trial})
        if self.instances > 1:
            return self._finish(name, key, hyperparameters, *self._run_cluster(sub, hyperparameters))
        code = sub.local_path(CODE_DIR)
        model_dir, output_dir = sub.local_path("/opt/ml/model"), sub.local_path("/opt/ml/output/data")
        for folder in (code, model_dir, output_dir):
            folder.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(self.code_archive)) as tar:
            tar.extractall(code, filter="data")
        env = self.env(SM_MODEL_DIR=str(model_dir), SM_OUTPUT_DATA_DIR=str(output_dir))
        command, notes = self.command(sub, code, hyperparameters)
        log_path = trial / "log.txt"
        summary = {"TrainingJobName": name, "TunedHyperParameters": hyperparameters, "Log": str(log_path)}
        with log_path.open("w") as log:
            log.writelines(notes)
            sub.log = log
            server = self.warm_server()
            try:
                if server is None:
                    text = sub.run_script(command, env=env, cwd=code)
                else:
                    text = warm.run_job(sub, command, server.command(command), env, code)
            except StepFailed as err:
                return {**summary, "TrainingJobStatus": "Failed", "FailureReason": str(err)}
        return self._finish(name, key, hyperparameters, text, [model_dir])

    def command(
        self, sub: StepContext, code: Path, hyperparameters: dict[str, str]
    ) -> tuple[list[str], list[str]]:
        """A job's cold command (``python SCRIPT --name value ...``, container paths mapped into its
        dir) and a note per mapped value."""
        command = [python(), str(code.joinpath(*self.program.split("/")))]
        notes = []
        for key_name, value in {**self.static, **hyperparameters}.items():
            flag, mapped = (
                sub.container_arg(f"--{key_name}", CODE_DIR),
                sub.container_arg(str(value), CODE_DIR),
            )
            if mapped != str(value):
                notes.append(
                    f"note: --{key_name} {value} is a container path: {mapped} in this trial's dir\n"
                )
            command += [flag, mapped]
        return command, notes

    def _run_cluster(
        self, sub: StepContext, hyperparameters: dict[str, str]
    ) -> tuple[str, list[Path] | StepFailed]:
        """The trial as ``instances`` host processes (local/distributed.py); (first host's output,
        every host's model dir), or ("", the failure)."""
        (sub.work).mkdir(parents=True)
        with (sub.work / "log.txt").open("w") as log:
            sub.log = log
            try:
                return distributed.run_job(self, sub, hyperparameters)
            except StepFailed as err:
                return "", err

    def _finish(
        self,
        name: str,
        key: str,
        hyperparameters: dict[str, str],
        text: str,
        model_dirs: list[Path] | StepFailed,
    ) -> dict[str, Any]:
        """The trial's summary from its log text and model dirs; its model and result stored."""
        log_path = self.ctx.work / TRIALS / name / "log.txt"
        summary = {"TrainingJobName": name, "TunedHyperParameters": hyperparameters, "Log": str(log_path)}
        if isinstance(model_dirs, StepFailed):
            return {**summary, "TrainingJobStatus": "Failed", "FailureReason": str(model_dirs)}
        value = objective_value(text, self.regex)
        if value is None:
            reason = (
                f"objective metric {self.metric!r} never matched regex {self.regex!r} in the training log"
            )
            return {**summary, "TrainingJobStatus": "Failed", "FailureReason": reason}
        try:
            tarball = _model_tarball(model_dirs)  # /opt/ml/model only, as SageMaker uploads it
        except StepFailed as err:
            return {**summary, "TrainingJobStatus": "Failed", "FailureReason": str(err)}
        self.ctx.store.put_bytes(self._model_uri(name), tarball)
        summary = {
            **summary,
            "TrainingJobStatus": "Completed",
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": self.metric, "Value": value},
        }
        result = {
            "Key": key,
            "ModelUri": self._model_uri(name),
            "ModelSha256": hashlib.sha256(tarball).hexdigest(),
            "Summary": summary,
        }
        paths.write_atomic(
            self.ctx.work, log_path.parent / RESULT, render_json(result).encode()
        )  # last: it completed
        return summary


def _run_all(trials: _Trials, candidates: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Every trial, ``parallel`` at a time; if this thread is interrupted (the run is stopping),
    running trials are killed and pending ones never start before the interruption goes on."""
    pool = ThreadPoolExecutor(max_workers=trials.parallel)
    try:
        return list(pool.map(lambda item: trials.run_trial(*item), enumerate(candidates, 1)))
    except BaseException:
        (trials.ctx.jobs or shared_jobs()).stop()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def run(ctx: StepContext) -> dict[str, Any]:
    trials = _Trials(ctx, ctx.resolve(ctx.step["Arguments"]))
    strategy = trials.config["Strategy"]
    if strategy in ("Bayesian", "Hyperband"):
        ctx.log.write(
            f"note: {strategy} strategy is sampled at random locally (no local {strategy} optimiser)\n"
        )
    # Seeded by the step's definition: the same pipeline samples the same trials on every run.
    seed = int(hashlib.sha256(json.dumps(ctx.step, sort_keys=True).encode()).hexdigest()[:8], 16)
    candidates = list(sample(trials.config["ParameterRanges"], strategy, trials.count, seed))
    on = f", each on {trials.instances} instances (one process per host)" if trials.instances > 1 else ""
    ctx.log.write(f"{len(candidates)} trials, {trials.parallel} at a time{on}\n")
    ctx.log.flush()
    try:
        results = _run_all(trials, candidates)
    finally:
        trials.close()
    done = [r for r in results if r["TrainingJobStatus"] == "Completed"]
    for result in results:
        status = result["TrainingJobStatus"]
        value = result.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
        reused = (
            " (reused: completed in an earlier attempt)" if result["TrainingJobName"] in trials.reused else ""
        )
        ctx.log.write(
            f"{result['TrainingJobName']}: {status} {value if value is not None else result.get('FailureReason', '')}{reused}\n"
        )
    if trials.reused:
        ctx.note = f"{len(trials.reused)} of {len(results)} trials reused from an earlier attempt"
    if not done:
        raise StepFailed(
            f"all {len(results)} training jobs failed; first: {results[0].get('FailureReason', '?')}"
        )
    done.sort(
        key=lambda r: r["FinalHyperParameterTuningJobObjectiveMetric"]["Value"], reverse=trials.maximize
    )
    return {
        "HyperParameterTuningJobName": trials.tuning_name,
        "HyperParameterTuningJobStatus": "Completed",
        "TrainingJobSummaries": done,
        "BestTrainingJob": done[0],
        "FailedTrainingJobs": len(results) - len(done),
    }
