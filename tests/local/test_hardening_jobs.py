"""Jobs on their own, with tiny scripts: a tuning trial's outputs stay in its own dir whatever its
hyperparameters say (finding 6, the runner's side), a Tune step resumed after a failed or cut-short
attempt (finding 1), a processing job's arguments and paths that climb, and the job processes:
killed with their process group, and never outliving a runner killed with SIGKILL."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import time
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.local.context import StepContext, StepFailed
from lgbm_pipeline_compiler.local.executors import processing, tuning
from lgbm_pipeline_compiler.local.processes import Jobs
from lgbm_pipeline_compiler.local.store import ObjectStore

from .conftest import REPO, job_context

BUCKET = "s3://bucket"
TRAIN = """
import argparse, os, pathlib, sys
p = argparse.ArgumentParser()
p.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
p.add_argument("--x", type=float)
p.add_argument("--fail-above", type=float, default=2.0)
args, _ = p.parse_known_args()
if args.x > args.fail_above:
    sys.exit(f"x={args.x} is too large")
model = pathlib.Path(args.model_dir)
model.mkdir(parents=True, exist_ok=True)
(model / "model.txt").write_text(f"x={args.x}\\n")
print(f"validation-f1: {args.x}")
"""


def code_archive(script: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = script.encode()
        info = tarfile.TarInfo("train.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def tune_step(static: dict[str, str], trials: int = 2) -> dict:
    """A Tuning step shaped as the compiler writes one (hyperparameter values JSON-quoted)."""
    quoted = {k: json.dumps(v) for k, v in static.items()}
    return {
        "Name": "Tune",
        "Type": "Tuning",
        "Arguments": {
            "HyperParameterTuningJobConfig": {
                "Strategy": "Random",
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:f1"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": 2},
                "ParameterRanges": {
                    "ContinuousParameterRanges": [
                        {"Name": "x", "MinValue": "0.1", "MaxValue": "0.9", "ScalingType": "Linear"}
                    ]
                },
            },
            "TrainingJobDefinition": {
                "StaticHyperParameters": {
                    "sagemaker_program": json.dumps("train.py"),
                    "sagemaker_submit_directory": json.dumps(f"{BUCKET}/code/sourcedir.tar.gz"),
                    **quoted,
                },
                "AlgorithmSpecification": {
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "validation:f1", "Regex": "validation-f1: ([0-9.]+)"}],
                },
                "InputDataConfig": [
                    {
                        "ChannelName": "train",
                        "DataSource": {"S3DataSource": {"S3Uri": f"{BUCKET}/data/train"}},
                    }
                ],
                "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/models"},
            },
        },
    }


def context(work_dir: Path, step: dict, jobs: Jobs | None = None) -> StepContext:
    store = ObjectStore(work_dir)
    return job_context(work_dir, step, store=store, jobs=jobs)


@pytest.fixture
def tune(tmp_path):
    def make(script: str = TRAIN, **static: str) -> StepContext:
        ctx = context(tmp_path / "work", tune_step(static))
        ctx.store.put_bytes(f"{BUCKET}/code/sourcedir.tar.gz", code_archive(script))
        ctx.store.put_bytes(f"{BUCKET}/data/train/train.csv", b"1,2\n")
        return ctx

    return make


def model_files(ctx: StepContext, result: dict) -> list[str]:
    uri = f"{BUCKET}/models/{result['TrainingJobName']}/output/model.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(ctx.store.read_bytes(uri))) as tar:
        return sorted(tar.getnames())


def test_a_model_dir_hyperparameter_cannot_send_a_trial_outside_its_dir(tune, tmp_path):
    """`model-dir: /some/path` (and a relative path that climbs): the trial writes inside its own
    rootfs/ (its container's file system), the outside is untouched, and model.tar.gz holds
    /opt/ml/model only, as SageMaker uploads it."""
    outside = tmp_path / "some" / "path"
    ctx = tune(**{"model-dir": str(outside)})
    result = tuning.run(ctx)
    assert not outside.exists() and not (tmp_path / "some").exists()
    for summary in result["TrainingJobSummaries"]:
        trial = ctx.work / "trials" / summary["TrainingJobName"]
        written = trial / "rootfs" / str(outside).lstrip("/") / "model.txt"
        assert written.read_text().startswith("x=")
        assert model_files(ctx, summary) == []  # SM_MODEL_DIR stayed empty
        assert (
            f"note: --model-dir {outside} is a container path: {written.parent}"
            in Path(summary["Log"]).read_text()
        )
    climbing = tune(**{"model-dir": "../../../../../../../../escaped"})
    result = tuning.run(climbing)
    assert not (Path("/") / "escaped").exists() and not (tmp_path / "escaped").exists()
    name = result["BestTrainingJob"]["TrainingJobName"]
    assert (climbing.work / "trials" / name / "rootfs" / "escaped" / "model.txt").is_file()


def test_the_default_model_dir_is_what_gets_uploaded(tune):
    ctx = tune()
    result = tuning.run(ctx)
    assert result["HyperParameterTuningJobStatus"] == "Completed" and len(result["TrainingJobSummaries"]) == 2
    for summary in result["TrainingJobSummaries"]:
        assert model_files(ctx, summary) == ["model.txt"]


def test_a_tune_step_resumed_after_a_failed_attempt_runs_again(tune):
    """Finding 1: the earlier attempt's trial dirs made the next one fail with EEXIST forever."""
    failing = tune(**{"fail-above": "0.0"})
    with pytest.raises(StepFailed, match="all 2 training jobs failed"):
        tuning.run(failing)
    trials = sorted((failing.work / "trials").iterdir())
    assert len(trials) == 2 and all((t / "container" / "model").is_dir() for t in trials)
    fixed = context(failing.work_dir, tune_step({}))  # the same step dir, the failing switch gone
    result = tuning.run(fixed)
    assert len(result["TrainingJobSummaries"]) == 2 and "reused" not in fixed.log.getvalue()


def test_a_resumed_tune_step_reuses_only_trials_that_completed(tune):
    """A trial counts only if its result.json (written last, atomically) matches its inputs and
    its model tarball: a trial cut short (no result) or whose model is not the one recorded runs
    again; a change of inputs (here the code) reuses nothing."""
    ctx = tune()
    first = {s["TrainingJobName"]: s for s in tuning.run(ctx)["TrainingJobSummaries"]}
    again = context(ctx.work_dir, ctx.step)
    second = {s["TrainingJobName"]: s for s in tuning.run(again)["TrainingJobSummaries"]}
    assert second == first and again.log.getvalue().count("(reused: completed in an earlier attempt)") == 2

    cut, tampered = sorted(first)
    (ctx.work / "trials" / cut / "result.json").unlink()  # killed before its result was written
    (ctx.work / "trials" / cut / "container" / "model" / "partial.bin").write_bytes(b"half")
    ctx.store.put_bytes(f"{BUCKET}/models/{tampered}/output/model.tar.gz", b"not the recorded model")
    third = context(ctx.work_dir, ctx.step)
    tuning.run(third)
    log = third.log.getvalue()
    assert "reused" not in log
    assert not (ctx.work / "trials" / cut / "container" / "model" / "partial.bin").exists()
    assert model_files(third, {"TrainingJobName": tampered}) == ["model.txt"]

    ctx.store.put_bytes(f"{BUCKET}/code/sourcedir.tar.gz", code_archive(TRAIN + "# changed\n"))
    fourth = context(ctx.work_dir, ctx.step)
    tuning.run(fourth)
    assert "reused" not in fourth.log.getvalue()


def test_processing_arguments_and_paths_that_climb_stay_in_the_job_dir(tmp_path):
    """Arguments and LocalPaths from a (hand-edited) definition that point outside the container
    land in the job's own dir: /opt/ml/... under container/, anything else under rootfs/."""
    outside = tmp_path / "outside"
    script = textwrap.dedent(
        """
        import pathlib, sys
        for arg in sys.argv[1:]:
            target = pathlib.Path(arg.split("=", 1)[-1])
            target.mkdir(parents=True, exist_ok=True)
            (target / "written.txt").write_text(arg)
        """
    )
    work_dir = tmp_path / "work"
    step = {
        "Name": "Evaluate",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "img",
                "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/job.py"],
                "ContainerArguments": [
                    f"/opt/ml/processing/../../../..{outside}/a",
                    f"--out={outside}/b",
                    "../../../../../../../../../../tmp/c",
                ],
            },
            "ProcessingInputs": [
                {"InputName": "code", "S3Input": {"S3Uri": f"{BUCKET}/code/job.py",
                                                  "LocalPath": "/opt/ml/processing/input/code"}},
            ],
            "ProcessingOutputConfig": {"Outputs": [
                {"OutputName": "out", "S3Output": {"S3Uri": f"{BUCKET}/out",
                                                   "LocalPath": f"/opt/ml/processing/../../..{outside}/d"}},
            ]},
        },
    }  # fmt: skip
    ctx = context(work_dir, step)
    ctx.store.put_bytes(f"{BUCKET}/code/job.py", script.encode())
    processing.run(ctx)
    assert not outside.exists() and not Path("/tmp/c/written.txt").exists()
    rootfs = ctx.work / "rootfs"
    for name in ("a", "b"):
        assert (rootfs / str(outside).lstrip("/") / name / "written.txt").is_file()
    assert (rootfs / "tmp" / "c" / "written.txt").is_file()
    assert (rootfs / str(outside).lstrip("/") / "d").is_dir()  # the output dir, in the job's dir


# -- job processes ---------------------------------------------------------------------------------

GRANDCHILD = (
    "import subprocess, sys, time; "
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
    "print(p.pid, flush=True); time.sleep(300)"
)
"""A job that starts a subprocess of its own and prints its pid."""
RUNNER = """
import sys, time
from lgbm_pipeline_compiler.local.processes import Jobs
jobs = Jobs()
proc = jobs.start([sys.executable, "-c", sys.argv[1]], cwd=".", env=None)
print(proc.pid, proc.stdout.readline().strip(), flush=True)
time.sleep(300)
"""


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_job_and_its_own_subprocesses_die_when_the_runner_is_killed():
    """The runner (here a process holding a Jobs) is killed with SIGKILL while its job runs and
    the job has started a subprocess of its own: the supervisor sees the runner's pipe close and
    kills the whole group (supervisor, job, the job's subprocess) within seconds."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, GRANDCHILD], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        supervisor, grandchild = (int(v) for v in runner.stdout.readline().split())
        (job,) = children(supervisor)
        assert all(alive(pid) for pid in (supervisor, job, grandchild))
        assert sorted(group_members(supervisor)) == sorted([supervisor, job, grandchild])
        runner.kill()
        runner.wait()
        assert wait_for(lambda: not any(alive(pid) for pid in (supervisor, job, grandchild)), 10)
    finally:
        runner.kill()
        runner.wait()


def test_stop_kills_each_job_with_its_process_group(tmp_path):
    jobs = Jobs()
    proc = jobs.start([sys.executable, "-c", GRANDCHILD], cwd=tmp_path, env=None)
    grandchild = int(proc.stdout.readline())
    assert os.getpgid(proc.pid) == proc.pid and os.getpgid(grandchild) == proc.pid  # a group of its own
    jobs.stop(grace=2)
    assert proc.returncode == -signal.SIGTERM
    assert wait_for(lambda: not group_members(proc.pid) and not alive(grandchild), 10)
    with pytest.raises(StepFailed, match="the run is stopping"):
        context(tmp_path, {"Name": "X", "Type": "Processing"}, jobs).run_script(
            [sys.executable, "-c", "pass"]
        )
    jobs.close()


def test_run_returns_the_code_and_output_of_a_supervised_command(tmp_path):
    with Jobs() as jobs:
        code, output = jobs.run(
            [sys.executable, "-c", "import sys; print('out'); sys.exit('err')"], cwd=tmp_path
        )
        assert (code, output) == (1, "out\nerr\n")
        assert jobs.live() == []
