"""The step scripts' side of data-parallel training: preprocessing's train shards, and train.py on a
cluster (SM_HOSTS and the input data config, LightGBM's network parameters, refusals)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from step_jobs import ADULT_PREPROCESSING, install_code, run_script
from step_script_helpers import assert_clean_failure

SHARDED = json.dumps({"train": {"S3DistributionType": "ShardedByS3Key"}})


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, adult_csv, preprocessed):
    """preprocessing.py on Adult with --train-shards 3 (otherwise the session fixture's arguments)."""
    root = tmp_path_factory.mktemp("sharded")
    (root / "input").mkdir()
    shutil.copy(adult_csv, root / "input" / adult_csv.name)
    code = install_code(["preprocessing.py"], root / "code")
    args = ["--input-dir", str(root / "input"), "--output-dir", str(root / "output"), *ADULT_PREPROCESSING]
    done = run_script(code / "preprocessing.py", [*args, "--train-shards", "3"], cwd=code)
    assert done.returncode == 0, done.stderr
    return root / "output", done


def test_train_split_is_three_shards_of_consecutive_rows_without_a_schema(sharded, preprocessed):
    output, done = sharded
    names = sorted(p.name for p in (output / "train").iterdir())
    assert names == [f"train-0000{i}-of-00003.csv" for i in range(3)]
    shards = [pd.read_csv(output / "train" / name, dtype=str, keep_default_na=False) for name in names]
    whole = pd.read_csv(preprocessed.output / "train" / "train.csv", dtype=str, keep_default_na=False)
    assert max(len(s) for s in shards) - min(len(s) for s in shards) <= 1
    pd.testing.assert_frame_equal(pd.concat(shards, ignore_index=True), whole)  # the same rows, in order
    for split in ("validation", "test"):  # the other splits are as without shards
        assert (output / split / f"{split}.csv").read_bytes() == (
            preprocessed.output / split / f"{split}.csv"
        ).read_bytes()
        assert (output / split / "schema.json").read_bytes() == (
            preprocessed.output / "train" / "schema.json"
        ).read_bytes()
    for i, name in enumerate(names):
        assert f"preprocessing: wrote train/{name}: {len(shards[i]):,} rows" in done.stdout


def test_more_shards_than_train_rows_is_a_clear_error(tmp_path, adult_csv):
    small = tmp_path / "input" / "small.csv"
    small.parent.mkdir()
    small.write_text("".join(adult_csv.open().readlines()[:41]))  # header + 40 rows: 28 train rows
    code = install_code(["preprocessing.py"], tmp_path / "code")
    args = ["--input-dir", str(small.parent), "--output-dir", str(tmp_path / "out"), *ADULT_PREPROCESSING]
    done = run_script(
        code / "preprocessing.py", [*args, "--train-shards", "100", "--stratify", "false"], cwd=code
    )
    assert_clean_failure(done, "preprocessing", "28 train rows are too few for 100 train files")


def test_training_cluster_from_the_toolkit_environment(scripts, monkeypatch):
    common = scripts.cluster
    for name in (
        "SM_HOSTS",
        "SM_CURRENT_HOST",
        "SM_INPUT_DATA_CONFIG",
        "SM_INPUT_CONFIG_DIR",
        common.MACHINES_ENV,
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SM_INPUT_CONFIG_DIR", "/nonexistent")
    assert common.training_cluster() is None  # one instance (or outside SageMaker)
    monkeypatch.setenv("SM_HOSTS", '["algo-2", "algo-1"]')
    monkeypatch.setenv("SM_CURRENT_HOST", "algo-2")
    monkeypatch.setenv("SM_INPUT_DATA_CONFIG", SHARDED)
    monkeypatch.setenv(common.MACHINES_ENV, "127.0.0.1:4001,127.0.0.1:4002")
    cluster = common.training_cluster()
    assert cluster.hosts == ("algo-1", "algo-2")  # sorted: the first host is algo-1
    assert (cluster.rank, cluster.first, cluster.port) == (1, False, 4002)
    assert cluster.distribution == {"train": "ShardedByS3Key"}
    monkeypatch.setenv(common.MACHINES_ENV, "127.0.0.1:4001")
    with pytest.raises(scripts.step_common.InputError, match="lists 1 machines for 2 hosts"):
        common.training_cluster()
    monkeypatch.delenv(common.MACHINES_ENV)
    monkeypatch.setenv("SM_HOSTS", '["localhost", "algo-x"]')
    monkeypatch.setenv("SM_CURRENT_HOST", "localhost")
    monkeypatch.setattr(
        common, "_resolve", lambda host: {"localhost": "127.0.0.1", "algo-x": "10.0.0.7"}[host]
    )
    cluster = common.training_cluster()  # in SageMaker: every host's address, LightGBM's port
    assert cluster.machines == ("10.0.0.7:12400", "127.0.0.1:12400")
    assert (cluster.rank, cluster.port) == (1, 12400)
    monkeypatch.setenv("SM_CURRENT_HOST", "algo-9")
    with pytest.raises(scripts.step_common.InputError, match="current host 'algo-9' is not one of"):
        common.training_cluster()


def test_lightgbm_network_parameters(scripts):
    train = scripts.train
    cluster = scripts.cluster.Cluster(
        ("algo-1", "algo-2"), "algo-1", ("127.0.0.1:4001", "127.0.0.1:4002"), {"train": "ShardedByS3Key"}
    )
    hp = {name: default for name, (_, default) in train.HYPERPARAMETERS.items()}
    params = train.lgb_params(hp, cluster)
    assert {
        k: params[k]
        for k in ("tree_learner", "num_machines", "machines", "local_listen_port", "pre_partition")
    } == {
        "tree_learner": "data",
        "num_machines": 2,
        "machines": "127.0.0.1:4001,127.0.0.1:4002",
        "local_listen_port": 4001,
        "pre_partition": True,
    }
    assert not {"tree_learner", "machines", "num_machines"} & set(train.lgb_params(hp))


def _train_on_cluster(tmp_path, sharded, data_config: str, train_files: list[str]):
    output, _ = sharded
    code = install_code(["train.py", "inference.py", "requirements.txt"], tmp_path / "code")
    train = tmp_path / "train"
    train.mkdir()
    for name in train_files:
        shutil.copy(output / "train" / name, train / name)
    env = {
        "SM_HOSTS": '["algo-1","algo-2"]',
        "SM_CURRENT_HOST": "algo-2",
        "SM_INPUT_DATA_CONFIG": data_config,
        "LGBM_PIPELINE_MACHINES": "127.0.0.1:1,127.0.0.1:2",
        "SM_CHANNEL_TRAIN": str(train),
        "SM_CHANNEL_VALIDATION": str(output / "validation"),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "out"),
    }
    return run_script(code / "train.py", [], env=env, cwd=code)


def test_a_cluster_without_a_sharded_train_channel_is_refused(tmp_path, sharded):
    done = _train_on_cluster(
        tmp_path, sharded, json.dumps({"train": {"S3DistributionType": "FullyReplicated"}}), []
    )
    assert_clean_failure(
        done, "train", "the train channel is FullyReplicated on 2 instances", "ShardedByS3Key"
    )


def test_a_host_without_a_train_file_is_refused(tmp_path, sharded):
    done = _train_on_cluster(tmp_path, sharded, SHARDED, [])
    assert_clean_failure(done, "train", "host algo-2 got no training file", "at least 2 train files")
