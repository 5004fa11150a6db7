"""Data-parallel training locally: a 2-instance Tune trial on Adult, one process per host.

One local run of the census spec with ``training.distributed`` on 2 instances (a first run: its
data-quality baseline of the sharded train split, no Clarify checks, registry, deploy or transform;
two trials at once, with the same pinned hyperparameters) is shared by the module's tests: the model
against a single-instance model trained on the same rows with the same hyperparameters, what each
host saw (from the trial log and the host containers), and the model the first host alone wrote.
A dying host is tested on the same data with the local cluster runner directly.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import tarfile
import time
from pathlib import Path

import lightgbm as lgb
import pytest
from sklearn.metrics import roc_auc_score
from step_jobs import SCRIPTS, run_script

from lgbm_pipeline_compiler.local import distributed, warm_jobs
from lgbm_pipeline_compiler.local.api import run_spec
from lgbm_pipeline_compiler.local.context import StepFailed
from lgbm_pipeline_compiler.local.processes import Jobs
from lgbm_pipeline_compiler.local.runner import RunOptions
from lgbm_pipeline_compiler.local.store import ObjectStore

from ..spec_edits import strip_section
from .conftest import CENSUS, archive, replace_all

pytestmark = pytest.mark.long_running  # (handed out early: tests/conftest.py)

HYPERPARAMETERS = {"n_estimators": 80, "learning_rate": 0.2, "num_leaves": 31, "max_bin": 255}
STATIC = {"early_stopping_rounds": 50, "seed": 42}
DISTRIBUTED = {
    "max_jobs: 20": "max_jobs: 2",
    "n_estimators: {type: integer, min: 10, max: 400}": "n_estimators: {type: integer, min: 80, max: 80}",
    "learning_rate: {type: continuous, min: 0.0001, max: 0.5, scaling: Logarithmic}": (
        "learning_rate: {type: continuous, min: 0.2, max: 0.2}"
    ),
    "num_leaves: {type: integer, min: 2, max: 200}": "num_leaves: {type: integer, min: 31, max: 31}",
    "max_bin: {type: integer, min: 50, max: 500}": "max_bin: {type: integer, min: 255, max: 255}",
    "  instance_type: ml.m5.xlarge\n  instance_count: 1\n  hyperparameters:": (
        "  instance_type: ml.m5.xlarge\n  instance_count: 2\n  distributed: {strategy: data_parallel}\n"
        "  hyperparameters:"
    ),
}
SHARDS = ["train-00000-of-00002.csv", "train-00001-of-00002.csv"]


@pytest.fixture(scope="module")
def dist_run(tmp_path_factory):
    """The distributed spec run locally: (work dir, execution record, the first Tune trial's dir)."""
    folder = tmp_path_factory.mktemp("distributed-run")
    text = replace_all(CENSUS.read_text(), DISTRIBUTED, "distributed spec")
    for section in ("clarify", "batch_transform", "deploy", "registry"):
        text = strip_section(text, section)
    spec = folder / "spec" / "census.yaml"
    spec.parent.mkdir()
    spec.write_text(text)
    work = folder / "work"
    execution = run_spec(spec, RunOptions(work_dir=work, first_run=True))
    assert execution.status == "Succeeded", execution.failure_reason
    trials = sorted((work / "runs" / execution.id / "steps" / "Tune" / "trials").iterdir())
    assert len(trials) == 2, trials
    return work, execution, trials[0]


def test_parallel_trials_each_form_their_own_network_on_ports_of_their_own(dist_run):
    work, execution, trial = dist_run
    machines = []
    for folder in sorted(trial.parent.iterdir()):
        found = set(
            re.findall(
                r"^\[algo-\d\] train: host algo-\d \(rank \d of 2, machines ([^)]*)\)",
                (folder / "log.txt").read_text(),
                re.M,
            )
        )
        assert len(found) == 1, found  # both hosts of a trial got the same list
        machines.append(found.pop().split(","))
    assert [len(m) for m in machines] == [2, 2]
    assert not set(machines[0]) & set(machines[1]), machines
    summaries = execution.steps["Tune"].properties["TrainingJobSummaries"]
    assert [s["TrainingJobStatus"] for s in summaries] == ["Completed", "Completed"]
    assert "trials run in workers forked from" in Path(execution.steps["Tune"].log).read_text()  # hosts too


def _split_dir(work: Path, execution, name: str) -> Path:
    outputs = execution.steps["Preprocess"].properties["ProcessingOutputConfig"]["Outputs"]
    return ObjectStore(work).path(outputs[name]["S3Output"]["S3Uri"])


def _test_auc(model_dir: Path, test_csv: Path) -> float:
    sys.path.insert(0, str(SCRIPTS))
    try:
        from step_common import load_model, read_labelled, to_model_frame
    finally:
        sys.path.remove(str(SCRIPTS))
    model = load_model(model_dir)
    frame = read_labelled([test_csv], model.schema, "test", "test")
    proba = model.booster.predict(to_model_frame(frame, model.schema))
    return float(roc_auc_score(frame[model.schema["target"]], proba))


def test_preprocessing_wrote_the_train_split_as_two_shards_without_a_schema(dist_run):
    work, execution, _ = dist_run
    assert sorted(p.name for p in _split_dir(work, execution, "train").iterdir()) == SHARDS
    assert sorted(p.name for p in _split_dir(work, execution, "validation").iterdir()) == [
        "schema.json",
        "validation.csv",
    ]


def test_each_host_saw_only_its_shard(dist_run):
    """From the trial log: each host names its shard files and rows; together they are the split."""
    work, execution, trial = dist_run
    log = (trial / "log.txt").read_text()
    files = dict(
        re.findall(
            r"^\[(algo-\d)\] train: host \1 \(rank \d of 2, machines [^)]*\): train shard files: (.*)$",
            log,
            re.M,
        )
    )
    rows = {
        h: int(n.replace(",", ""))
        for h, n in re.findall(
            r"^\[(algo-\d)\] train: host \1: ([\d,]+) train rows in its shards$", log, re.M
        )
    }
    assert files == {"algo-1": SHARDS[0], "algo-2": SHARDS[1]}
    split = _split_dir(work, execution, "train")
    expected = {h: sum(1 for _ in (split / f).open()) - 1 for h, f in files.items()}  # minus the header
    assert rows == expected
    step_log = (work / "runs" / execution.id / "logs" / "Tune.log").read_text()
    assert step_log.startswith("2 trials, 2 at a time, each on 2 instances (one process per host)\n")
    assert "channel train: ShardedByS3Key: objects per host: algo-1 1, algo-2 1" in log
    assert "channel validation: FullyReplicated: objects per host: algo-1 2, algo-2 2" in log
    for host, shard in files.items():
        channel = trial / "hosts" / host / "container" / "input" / "data" / "train"
        assert sorted(p.name for p in channel.iterdir()) == [shard]
        config = json.loads(
            (trial / "hosts" / host / "container" / "input" / "config" / "resourceconfig.json").read_text()
        )
        assert (config["current_host"], config["hosts"]) == (host, ["algo-1", "algo-2"])
        data_config = json.loads((channel.parents[1] / "config" / "inputdataconfig.json").read_text())
        assert data_config["train"]["S3DistributionType"] == "ShardedByS3Key"
        assert data_config["validation"]["S3DistributionType"] == "FullyReplicated"


def test_every_host_reports_the_same_validation_metrics(dist_run):
    _, execution, trial = dist_run
    log = (trial / "log.txt").read_text()
    values = dict(re.findall(r"^\[(algo-\d)\] validation-f1: ([0-9.]+)$", log, re.M))
    assert set(values) == {"algo-1", "algo-2"} and values["algo-1"] == values["algo-2"]
    best = execution.steps["Tune"].properties["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == float(values["algo-1"])


def test_only_the_first_host_wrote_the_model(dist_run):
    work, _, trial = dist_run
    assert not any((trial / "hosts" / "algo-2" / "container" / "model").iterdir())
    result = json.loads((trial / "result.json").read_text())
    with tarfile.open(fileobj=io.BytesIO(ObjectStore(work).read_bytes(result["ModelUri"]))) as tar:
        names = sorted(tar.getnames())
    assert {"model.txt", "schema.json", "metadata.json", "code/inference.py"} <= set(names)
    first = trial / "hosts" / "algo-1" / "container" / "model"
    assert names == sorted(str(p.relative_to(first)) for p in first.rglob("*"))


def test_two_instance_model_is_within_0_01_auc_of_the_single_instance_model(dist_run, tmp_path):
    """The same rows, hyperparameters and seed on one instance; AUC on the test split."""
    work, execution, trial = dist_run
    result = json.loads((trial / "result.json").read_text())
    assert {k: float(v) for k, v in result["Summary"]["TunedHyperParameters"].items()} == HYPERPARAMETERS
    distributed_model = tmp_path / "distributed"
    distributed_model.mkdir()
    (distributed_model / "model.tar.gz").write_bytes(ObjectStore(work).read_bytes(result["ModelUri"]))
    train = tmp_path / "train"
    shutil.copytree(_split_dir(work, execution, "train"), train)
    validation = _split_dir(work, execution, "validation")
    shutil.copy(validation / "schema.json", train / "schema.json")
    single = tmp_path / "single"
    code = tmp_path / "code"
    code.mkdir()
    for name in ("train.py", "cluster.py", "step_common.py", "inference.py", "requirements.txt"):
        shutil.copy(SCRIPTS / name, code / name)
    env = {"SM_CHANNEL_TRAIN": str(train), "SM_CHANNEL_VALIDATION": str(validation)}
    env |= {"SM_MODEL_DIR": str(single / "model"), "SM_OUTPUT_DATA_DIR": str(single / "out")}
    args = [f"--{k}={v}" for k, v in {**STATIC, **HYPERPARAMETERS}.items()]
    done = run_script(code / "train.py", args, env=env, cwd=code)
    assert done.returncode == 0, done.stderr
    test_csv = _split_dir(work, execution, "test") / "test.csv"
    auc_single = _test_auc(single / "model", test_csv)
    auc_distributed = _test_auc(distributed_model, test_csv)
    assert auc_single > 0.9
    assert abs(auc_distributed - auc_single) < 0.01, (auc_distributed, auc_single)
    booster = lgb.Booster(model_file=str(single / "model" / "model.txt"))
    assert booster.num_trees() > 0


def distributed_code(trial: Path) -> bytes:
    """The trial's code (a host's /opt/ml/code) as its code archive."""
    code = trial / "hosts" / "algo-1" / "container" / "code"
    return archive({str(p.relative_to(code)): p.read_bytes() for p in code.rglob("*") if p.is_file()})


def _hosts(trial: Path, tmp_path: Path, second: list[str]) -> list[distributed.Host]:
    """algo-1 runs train.py on its shard from the finished run (in a fresh copy of its container);
    algo-2 runs ``second``."""
    from lgbm_pipeline_compiler.local.context import StepContext

    hosts = []
    for name in ("algo-1", "algo-2"):
        shutil.copytree(trial / "hosts" / name, tmp_path / name)
    log = (tmp_path / "log.txt").open("w")
    ctx = StepContext({}, lambda v: v, None, tmp_path / "algo-1", log, "x", tmp_path, 2, "us-east-1", "1")
    container = tmp_path / "algo-1" / "container"
    env = {
        "SM_HOSTS": '["algo-1","algo-2"]',
        "SM_CURRENT_HOST": "algo-1",
        "SM_INPUT_DATA_CONFIG": json.dumps({"train": {"S3DistributionType": "ShardedByS3Key"}}),
        "SM_CHANNEL_TRAIN": str(container / "input" / "data" / "train"),
        "SM_CHANNEL_VALIDATION": str(container / "input" / "data" / "validation"),
        "SM_MODEL_DIR": str(container / "model"),
        "SM_OUTPUT_DATA_DIR": str(container / "output" / "data"),
        "OMP_NUM_THREADS": "1",
        "PATH": "/usr/bin:/bin",
    }
    with distributed.free_ports(2) as ports:
        env[distributed.MACHINES_ENV] = ",".join(f"127.0.0.1:{p}" for p in ports)
    code = container / "code"
    hosts.append(distributed.Host("algo-1", ctx, [sys.executable, str(code / "train.py")], env, code))
    hosts.append(distributed.Host("algo-2", ctx, second, {"PATH": "/usr/bin:/bin"}, tmp_path))
    return hosts


@pytest.mark.parametrize(
    ("second", "status", "warm"),
    [
        ("import sys, time; time.sleep(1); sys.exit(3)", "exited with 3", False),
        ("import sys, time; time.sleep(1); sys.exit(3)", "exited with 3", True),
        ("import os, time; time.sleep(1); os.abort()", "was killed by SIGABRT", False),
    ],
    ids=["exit", "exit-warm", "abort"],
)
def test_a_dying_host_fails_the_job_at_once_and_stops_the_others(dist_run, tmp_path, second, status, warm):
    """algo-1 waits on the network for a peer that is gone: the job fails within seconds, naming
    the host, and algo-1's process group is killed; also with both hosts in workers of a warm
    server (the session's warm pool's, as a Tune step's hosts run)."""
    _, _, trial = dist_run
    (tmp_path / "second.py").write_text(second)
    hosts = _hosts(trial, tmp_path, [sys.executable, str(tmp_path / "second.py")])
    server = warm_jobs.pooled_trials(distributed_code(trial), "train.py", hosts[0].env)[0] if warm else None
    assert (server is not None) == warm
    with Jobs() as jobs:
        began = time.monotonic()
        with pytest.raises(StepFailed) as failed:
            distributed.run_hosts(hosts, jobs, max_runtime=600, isolated=False, server=server)
        took = time.monotonic() - began
        assert jobs.live() == []
    assert str(failed.value).startswith(
        f"host algo-2 {status}; stopped algo-1 (a training job fails when any"
    )
    assert took < 30, took


def test_max_runtime_stops_every_host(tmp_path):
    from lgbm_pipeline_compiler.local.context import StepContext

    log = (tmp_path / "log.txt").open("w")
    ctx = StepContext({}, lambda v: v, None, tmp_path, log, "x", tmp_path, 2, "us-east-1", "1")
    sleep = [sys.executable, "-c", "import time; time.sleep(600)"]
    hosts = [distributed.Host(f"algo-{i}", ctx, sleep, {"PATH": "/usr/bin:/bin"}, tmp_path) for i in (1, 2)]
    with Jobs() as jobs:
        began = time.monotonic()
        with pytest.raises(
            StepFailed, match=r"^MaxRuntimeExceeded: .*\(1 s\); hosts still running: algo-1, algo-2$"
        ):
            distributed.run_hosts(hosts, jobs, max_runtime=1, isolated=False)
        assert time.monotonic() - began < 10
        assert jobs.live() == []


def test_sharded_by_s3_key_deals_objects_round_robin_in_key_order():
    keys = ["b/2.csv", "a.csv", "b/10.csv", "c.csv", "B.csv"]
    assert distributed.shard(keys, ["algo-1", "algo-2"]) == {
        "algo-1": ["B.csv", "b/10.csv", "c.csv"],
        "algo-2": ["a.csv", "b/2.csv"],
    }
    assert distributed.shard(["only.csv"], ["algo-1", "algo-2", "algo-3"]) == {
        "algo-1": ["only.csv"],
        "algo-2": [],
        "algo-3": [],
    }


def test_ports_are_distinct_and_not_handed_out_twice_while_held():
    with distributed.free_ports(3) as first, distributed.free_ports(3) as second:
        assert len(set(first)) == 3 and len(set(second)) == 3
        assert not set(first) & set(second)
    assert distributed._ports_held == set()


def test_the_data_quality_baseline_profiles_every_shard_with_the_validation_splits_schema(dist_run):
    """The dataset step reads train/ (two shards, no schema.json) with the validation split's
    schema; the QualityCheck step profiles every row of every shard, features only."""
    work, execution, _ = dist_run
    split = _split_dir(work, execution, "train")
    rows = sum(sum(1 for _ in (split / shard).open()) - 1 for shard in SHARDS)  # minus each header
    schema = json.loads((_split_dir(work, execution, "validation") / "schema.json").read_text())
    log = (work / "runs" / execution.id / "logs" / "DataQualityDataset.log").read_text()
    assert "data_quality_check: the train split has no schema.json (a sharded split): reading " in log
    assert f"data_quality_check: read train: {rows:,} rows, {len(schema['features'])} features" in log
    check = execution.steps["DataQualityCheck"]
    assert check.status == "Succeeded"
    store = ObjectStore(work)
    statistics = json.loads(store.read_bytes(check.properties["CalculatedBaselineStatistics"]))
    assert statistics["dataset"] == {"item_count": rows}
    assert [f["name"] for f in statistics["features"]] == schema["features"]
