"""Tuning steps: trials of the training script in parallel, objective read from each trial's log
with the definition's metric regex (the last match, as SageMaker reports the final value)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..context import StepContext, StepFailed, python
from ..sampling import sample

CHANNEL_ROOT = "input/data"


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


def _model_tarball(model_dir: Path) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for path in sorted(model_dir.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model_dir)), recursive=False)
    return raw.getvalue()


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
        self.program = _unquote(static["sagemaker_program"])
        self.static = {k: _unquote(v) for k, v in static.items() if not k.startswith("sagemaker_")}
        self.code = ctx.work / "code"
        with tarfile.open(
            fileobj=io.BytesIO(ctx.store.read_bytes(_unquote(static["sagemaker_submit_directory"])))
        ) as tar:
            tar.extractall(self.code, filter="data")
        self.channels: dict[str, Path] = {}
        for channel in self.job.get("InputDataConfig", []):
            local = ctx.work / CHANNEL_ROOT / channel["ChannelName"]
            ctx.store.download(channel["DataSource"]["S3DataSource"]["S3Uri"], local)
            self.channels[channel["ChannelName"]] = local
        limits = self.config["ResourceLimits"]
        self.parallel = max(1, min(int(limits["MaxParallelTrainingJobs"]), ctx.cores))
        self.count = int(limits.get("MaxNumberOfTrainingJobs") or 10_000)

    def run_trial(self, index: int, hyperparameters: dict[str, str]) -> dict[str, Any]:
        name = f"{self.tuning_name}-{index:03d}"
        trial = self.ctx.work / "trials" / name
        model_dir, output_dir = trial / "model", trial / "output"
        model_dir.mkdir(parents=True), output_dir.mkdir(parents=True)
        env = {
            **os.environ,
            **{f"SM_CHANNEL_{c.upper()}": str(p) for c, p in self.channels.items()},
            "SM_MODEL_DIR": str(model_dir),
            "SM_OUTPUT_DATA_DIR": str(output_dir),
            "OMP_NUM_THREADS": str(max(1, self.ctx.cores // self.parallel)),
        }
        command = [python(), str(self.code / self.program)]
        for key, value in {**self.static, **hyperparameters}.items():
            command += [f"--{key}", value]
        log_path = trial / "log.txt"
        summary = {"TrainingJobName": name, "TunedHyperParameters": hyperparameters, "Log": str(log_path)}
        with log_path.open("w") as log:
            sub = StepContext(**{**self.ctx.__dict__, "log": log, "work": trial})
            try:
                text = sub.run_script(command, env=env, cwd=self.code)
            except StepFailed as err:
                return {**summary, "TrainingJobStatus": "Failed", "FailureReason": str(err)}
        value = objective_value(text, self.regex)
        if value is None:
            reason = (
                f"objective metric {self.metric!r} never matched regex {self.regex!r} in the training log"
            )
            return {**summary, "TrainingJobStatus": "Failed", "FailureReason": reason}
        output = self.job["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        self.ctx.store.put_bytes(f"{output}/{name}/output/model.tar.gz", _model_tarball(model_dir))
        return {
            **summary,
            "TrainingJobStatus": "Completed",
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": self.metric, "Value": value},
        }


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
    ctx.log.write(f"{len(candidates)} trials, {trials.parallel} at a time\n")
    ctx.log.flush()
    with ThreadPoolExecutor(max_workers=trials.parallel) as pool:
        results = list(pool.map(lambda item: trials.run_trial(*item), enumerate(candidates, 1)))
    done = [r for r in results if r["TrainingJobStatus"] == "Completed"]
    for result in results:
        status = result["TrainingJobStatus"]
        value = result.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
        ctx.log.write(
            f"{result['TrainingJobName']}: {status} {value if value is not None else result.get('FailureReason', '')}\n"
        )
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
