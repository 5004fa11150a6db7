"""Train a LightGBM binary classifier in SageMaker script mode (or on a laptop).

Reads the train/validation CSVs written by preprocessing.py (target first, header,
``schema.json`` beside them), trains with early stopping on validation, picks the
decision threshold that maximises F1 for the positive class on validation, and writes
``model.txt``, ``schema.json``, ``metadata.json`` and ``code/`` (inference.py, step_common.py,
requirements.txt, and the bundled wheels of a ``wheels`` channel) to the model dir, plus
``metrics.json`` to the output data dir. With a checkpoint dir (managed spot training: SageMaker
syncs /opt/ml/checkpoints with CheckpointConfig's S3 URI) it saves the booster every
``CHECKPOINT_EVERY`` rounds and an interrupted job resumes boosting from its last checkpoint (early
stopping then counts its patience from there).
Prints ``train-f1: x``, ``validation-f1: x`` and ``validation-auc: x`` for the tuner.

On several instances (a data-parallel training job: ``SM_HOSTS`` lists more than one host) it joins
LightGBM's own distributed training (LightGBM's Parallel Learning Guide: ``tree_learner=data``,
``machines``, ``local_listen_port``, ``num_machines``; ``pre_partition=true`` because the train
channel is ShardedByS3Key, so each instance holds its own rows). The validation channel is
FullyReplicated: every instance evaluates the same model on the same rows, so early stopping stops
every instance at the same round (a valid set's metric is computed on each machine's own data), and
the threshold and validation metrics are the same on each. Train metrics are over the instance's
own shard. Only the first host (``sorted(SM_HOSTS)[0]``) writes the model dir and metrics.json:
SageMaker packs every instance's /opt/ml/model into one model.tar.gz ("If multiple containers in a
single training job write to this directory they should ensure no file/directory names clash.
SageMaker aggregates the result in a TAR file", AWS: How Amazon SageMaker Processes Training
Output). Every host prints the same validation lines: SageMaker does not document which instance's
log its MetricDefinitions are applied to (MetricDefinition: "searches the output of a training job");
the SDK reads a job's metric from CloudWatch by TrainingJobName alone, as an Average
(sagemaker/analytics.py, TrainingJobAnalytics), and its tuning visualisation with
``Host={job}/algo-1`` (sagemaker/amtviz/job_metrics.py). With the same value on every host, the
objective is the same whichever host, or average of hosts, SageMaker reads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, precision_recall_curve, roc_auc_score

import step_common
from cluster import Cluster, training_cluster
from step_common import (
    InputError,
    csv_files,
    new_parser,
    read_labelled,
    run_main,
    to_model_frame,
)

PROG = "train"
CODE_FILES = ("inference.py", "requirements.txt")  # served from MODEL_DIR/code/ with step_common.py
CHECKPOINT_DIR, CHECKPOINT_EVERY = "/opt/ml/checkpoints", 25


def unquote(text: str) -> str:
    """Undo SageMaker's JSON quoting of hyperparameter values (``"\\"0.05\\""`` -> ``0.05``)."""
    value = text.strip()
    while len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            break
        if not isinstance(decoded, str):
            break
        value = decoded.strip()
    return value


def number(kind: type, low: float, high: float | None = None, low_open: bool = False) -> Callable[[str], Any]:
    """An argparse type: int or float (JSON-quoted allowed) within [low, high] (or (low, high])."""

    def convert(text: str) -> Any:
        value = unquote(text)
        try:
            parsed = float(value)
            if kind is int:
                if not parsed.is_integer():
                    raise ValueError
                parsed = int(parsed)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got '{text}'") from None
        too_low = parsed <= low if low_open else parsed < low
        if too_low or (high is not None and parsed > high):
            bound = f"{'(' if low_open else '['}{low:g}, {'inf' if high is None else f'{high:g}'}]"
            raise argparse.ArgumentTypeError(f"must be in {bound}, got '{text}'")
        return parsed

    return convert


# name: (argparse type, default). Defaults reach F1(>50K) >= 0.70 and AUC >= 0.92 on Adult.
HYPERPARAMETERS: dict[str, tuple[Callable[[str], Any], Any]] = {
    "n_estimators": (number(int, 1), 1000),
    "learning_rate": (number(float, 0, low_open=True), 0.05),
    "num_leaves": (number(int, 2), 31),
    "max_bin": (number(int, 2), 255),
    "min_child_samples": (number(int, 1), 20),
    "feature_fraction": (number(float, 0, 1, low_open=True), 0.8),
    "bagging_fraction": (number(float, 0, 1, low_open=True), 1.0),
    "bagging_freq": (number(int, 0), 0),
    "lambda_l2": (number(float, 0), 1.0),
    "early_stopping_rounds": (number(int, 0), 50),
    "seed": (number(int, 0), 42),
    "num_threads": (number(int, 0), 0),
}


def strip_sagemaker_args(argv: Sequence[str]) -> list[str]:
    """Drop the ``--sagemaker_*`` arguments (and their values) SageMaker may add, and the
    ``--_tuning_objective_metric`` that hyperparameter tuning jobs add to every training job."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        name = token[2:].split("=", 1)[0].replace("-", "_") if token.startswith("--") else ""
        i += 1
        if name.startswith("sagemaker_") or name == "_tuning_objective_metric":
            if "=" not in token and i < len(argv) and not argv[i].startswith("--"):
                i += 1
            continue
        out.append(token)
    return out


def build_parser() -> argparse.ArgumentParser:
    p = new_parser(PROG, __doc__)
    env = os.environ.get
    p.add_argument("--train", default=env("SM_CHANNEL_TRAIN"))
    p.add_argument("--validation", default=env("SM_CHANNEL_VALIDATION"))
    p.add_argument("--model-dir", "--model_dir", dest="model_dir", default=env("SM_MODEL_DIR"))
    p.add_argument(
        "--output-data-dir", "--output_data_dir", dest="output_data_dir", default=env("SM_OUTPUT_DATA_DIR")
    )
    p.add_argument(
        "--checkpoint-dir", default=CHECKPOINT_DIR if os.path.isdir(CHECKPOINT_DIR) else None
    )  # SageMaker creates it when the job has a CheckpointConfig
    for name, (kind, default) in HYPERPARAMETERS.items():
        p.add_argument(f"--{name}", type=kind, default=default)
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line, ignoring SageMaker's own ``--sagemaker_*`` arguments."""
    parser = build_parser()
    args = parser.parse_args(strip_sagemaker_args(sys.argv[1:] if argv is None else list(argv)))
    for name, source in (
        ("train", "SM_CHANNEL_TRAIN"),
        ("validation", "SM_CHANNEL_VALIDATION"),
        ("model_dir", "SM_MODEL_DIR"),
        ("output_data_dir", "SM_OUTPUT_DATA_DIR"),
    ):
        if not getattr(args, name):
            parser.error(
                f"no {name.replace('_', '-')} directory: set {source} or pass --{name.replace('_', '-')}"
            )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(PROG, parse_args, run, argv)


def hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in HYPERPARAMETERS}


def lgb_params(hp: dict[str, Any], cluster: Cluster | None = None) -> dict[str, Any]:
    """LightGBM parameters for a binary objective from our hyperparameters, and on a cluster those
    of LightGBM's data-parallel training (LightGBM docs: Parallel Learning Guide, Parameters)."""
    params = {
        "objective": "binary",
        "metric": "binary_logloss",
        "learning_rate": hp["learning_rate"],
        "num_leaves": hp["num_leaves"],
        "max_bin": hp["max_bin"],
        "min_child_samples": hp["min_child_samples"],
        "feature_fraction": hp["feature_fraction"],
        "bagging_fraction": hp["bagging_fraction"],
        "bagging_freq": hp["bagging_freq"],
        "lambda_l2": hp["lambda_l2"],
        "seed": hp["seed"],
        "deterministic": True,
        "verbosity": -1,
    }
    if hp["num_threads"] > 0:
        params["num_threads"] = hp["num_threads"]
    if cluster is not None:
        params.update(
            tree_learner="data",
            num_machines=len(cluster.hosts),
            machines=",".join(cluster.machines),
            local_listen_port=cluster.port,
            pre_partition=True,  # each machine trains on its own shard (ShardedByS3Key)
        )
    return params


def load_schema(directory: Path, replicated: Path | None = None) -> dict:
    """schema.json from the train channel, else (on a cluster) from ``replicated``, the validation
    channel: a sharded train channel has no schema.json, which ShardedByS3Key would give one
    instance only."""
    path = directory / "schema.json"
    if not path.is_file() and replicated is not None and (replicated / "schema.json").is_file():
        path = replicated / "schema.json"
    if not path.is_file():
        raise InputError(
            f"schema.json not found in train channel '{directory}' (written by preprocessing.py)"
        )
    try:
        schema = json.loads(path.read_text())
        _ = schema["target"], schema["features"], schema["categorical"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"invalid schema.json in '{directory}': {exc}") from None
    return schema


def read_split(directory: Path, schema: dict, channel: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Read every CSV in a channel dir (other files ignored); return (features, 0/1 labels)."""
    if not directory.is_dir():
        raise InputError(f"{channel} channel directory '{directory}' does not exist")
    files = csv_files(directory)
    if not files:
        raise InputError(f"no CSV files in {channel} channel '{directory}'")
    target = schema["target"]
    frame = read_labelled(files, schema, channel, PROG, compact=True)
    if len(frame) == 0:
        raise InputError(f"{channel} channel '{directory}' has no rows")
    labels = frame[target]
    if not labels.isin([0, 1]).all():
        raise InputError(
            f"{channel} target column '{target}' must be 0/1, found {sorted(labels.unique())[:5]}"
        )
    try:
        features_frame = to_model_frame(frame, schema)
    except ValueError as exc:
        raise InputError(f"{channel} data has a non-numeric value in a numeric column: {exc}") from None
    return features_frame, labels.to_numpy(dtype="int64")


def best_threshold(y_true: np.ndarray, proba: np.ndarray) -> tuple[float, float]:
    """The threshold t maximising binary F1 of ``proba >= t``; returns (t, f1)."""
    precision, recall, thresholds = precision_recall_curve(y_true, proba)
    precision, recall = precision[:-1], recall[:-1]
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


def scores(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    return {
        "f1": float(f1_score(y_true, (proba >= threshold).astype(int), zero_division=0)),
        "auc": float(roc_auc_score(y_true, proba)) if len(np.unique(y_true)) == 2 else float("nan"),
    }


def checkpoint_path(directory: str | None, hp: dict[str, Any], data_dirs: Sequence[Path]) -> Path | None:
    """This trial's checkpoint file: named by its hyperparameters and data, so trials sharing a
    checkpoint prefix (a tuning job's) never resume from each other, nor from other data."""
    if not directory:
        return None
    digest = hashlib.sha256(json.dumps(hp, sort_keys=True).encode())
    for path in (f for d in data_dirs for f in csv_files(d)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return Path(directory) / f"lightgbm-{digest.hexdigest()[:24]}.txt"


def save_every(path: Path, rounds: int) -> Callable[[Any], None]:
    """A LightGBM callback writing the booster to ``path`` (atomically) every ``rounds`` rounds."""

    def save(env: Any) -> None:
        if (env.iteration + 1) % rounds == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            env.model.save_model(str(path.with_suffix(".tmp")))
            os.replace(path.with_suffix(".tmp"), path)

    return save


def train(
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_val: pd.DataFrame,
    y_val: np.ndarray,
    hp: dict[str, Any],
    checkpoint: Path | None = None,
    cluster: Cluster | None = None,
) -> lgb.Booster:
    """Train with early stopping on the validation set (if early_stopping_rounds > 0), resuming from
    and saving to ``checkpoint`` when given."""
    train_set = lgb.Dataset(x_train, label=y_train, categorical_feature="auto", free_raw_data=False)
    val_set = lgb.Dataset(x_val, label=y_val, reference=train_set)
    callbacks = [lgb.log_evaluation(period=100)]
    if hp["early_stopping_rounds"] > 0:
        callbacks.append(lgb.early_stopping(hp["early_stopping_rounds"], verbose=False))
    init, done = None, 0
    if checkpoint is not None:
        callbacks.append(save_every(checkpoint, CHECKPOINT_EVERY))
        if checkpoint.is_file():
            init = lgb.Booster(model_file=str(checkpoint))
            done = init.current_iteration()
            print(f"resuming from checkpoint {checkpoint.name} at round {done}", flush=True)
    return lgb.train(
        lgb_params(hp, cluster),
        train_set,
        init_model=init,
        num_boost_round=max(hp["n_estimators"] - done, 0),
        valid_sets=[val_set],
        valid_names=["validation"],
        callbacks=callbacks,
        keep_training_booster=True,  # keeps the training scores for training_predictions()
    )


def trim_to_best(booster: lgb.Booster) -> int:
    """Drop the trees boosted after the best iteration; return the number of trees kept."""
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    while booster.current_iteration() > best:
        booster.rollback_one_iter()
    return best


def training_predictions(booster: lgb.Booster) -> np.ndarray:
    """Probabilities on the training set from the scores LightGBM keeps while boosting.

    Saves a full prediction pass over the training data (a third of train.py's time on KDD).
    """
    captured: list[np.ndarray] = []

    def capture(preds: np.ndarray, _data: lgb.Dataset) -> tuple[str, float, bool]:
        captured.append(np.array(preds, dtype="float64"))
        return "captured", 0.0, True

    booster.eval_train(feval=capture)
    return captured[0]


def copy_code(model_dir: Path) -> None:
    """Copy the serving code into MODEL_DIR/code/: :data:`CODE_FILES` from beside this script, and
    step_common.py from wherever it was imported (the serving container puts code/ on sys.path)."""
    here = Path(__file__).resolve().parent
    missing = [name for name in CODE_FILES if not (here / name).is_file()]
    if missing:
        raise InputError(
            f"{', '.join(missing)} not found beside train.py in '{here}'; upload all of step_scripts/"
        )
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    for name in CODE_FILES:
        shutil.copyfile(here / name, model_dir / "code" / name)
    shutil.copyfile(step_common.__file__, model_dir / "code" / "step_common.py")
    wheels = os.environ.get("SM_CHANNEL_WHEELS")  # `dependencies: bundled`: served offline too
    if wheels and Path(wheels).is_dir():
        shutil.copytree(wheels, model_dir / "code" / "wheels", dirs_exist_ok=True)


def check_cluster(cluster: Cluster, train_dir: Path) -> None:
    """A cluster trains data-parallel only on a sharded train channel; says what this host holds."""
    kind = cluster.distribution.get("train", "FullyReplicated")
    if kind != "ShardedByS3Key":
        raise InputError(
            f"the train channel is {kind} on {len(cluster.hosts)} instances: every instance would hold "
            "every row; give it S3DataDistributionType ShardedByS3Key (training.distributed)"
        )
    if not csv_files(train_dir):
        raise InputError(
            f"host {cluster.current} got no training file: ShardedByS3Key gives each instance whole "
            f"objects, so write at least {len(cluster.hosts)} train files (training.distributed.shards)"
        )
    names = ", ".join(f.name for f in csv_files(train_dir))
    print(
        f"{PROG}: host {cluster.current} (rank {cluster.rank} of {len(cluster.hosts)}, machines "
        f"{','.join(cluster.machines)}): train shard files: {names}",
        flush=True,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, pick the threshold, write model and metrics; return the metrics."""
    hp = hyperparameters(args)
    cluster = training_cluster()
    if cluster is not None:
        check_cluster(cluster, Path(args.train))
    schema = load_schema(Path(args.train), Path(args.validation) if cluster is not None else None)
    x_train, y_train = read_split(Path(args.train), schema, "train")
    x_val, y_val = read_split(Path(args.validation), schema, "validation")
    if len(np.unique(y_train)) < 2 or len(np.unique(y_val)) < 2:
        raise InputError("train and validation data must each contain both classes (0 and 1)")
    if cluster is not None:
        print(f"{PROG}: host {cluster.current}: {len(y_train):,} train rows in its shards", flush=True)
    checkpoint = None
    if cluster is None:  # (the spec refuses spot training with `distributed`)
        checkpoint = checkpoint_path(args.checkpoint_dir, hp, [Path(args.train), Path(args.validation)])
    booster = train(x_train, y_train, x_val, y_val, hp, checkpoint, cluster)
    best_iteration = trim_to_best(booster)
    p_train = training_predictions(booster)
    p_val = booster.predict(x_val)
    threshold, _ = best_threshold(y_val, p_val)
    train_scores, val_scores = scores(y_train, p_train, threshold), scores(y_val, p_val, threshold)
    metrics = {
        "train_f1": train_scores["f1"],
        "train_auc": train_scores["auc"],
        "validation_f1": val_scores["f1"],
        "validation_auc": val_scores["auc"],
        "threshold": threshold,
        "best_iteration": best_iteration,
    }
    if cluster is None or cluster.first:
        write_model(Path(args.model_dir), Path(args.output_data_dir), booster, schema, hp, metrics)
    else:
        print(f"{PROG}: host {cluster.current}: the first host ({cluster.hosts[0]}) writes the model")
    print(f"train-f1: {metrics['train_f1']:.6f}")
    print(f"validation-f1: {metrics['validation_f1']:.6f}")
    print(f"validation-auc: {metrics['validation_auc']:.6f}")
    print(f"threshold: {threshold:.6f} best-iteration: {best_iteration}", flush=True)
    return metrics


def write_model(
    model_dir: Path, out_dir: Path, booster: lgb.Booster, schema: dict, hp: dict[str, Any], metrics: dict
) -> None:
    """The model dir (model.txt, schema.json, metadata.json, code/) and metrics.json."""
    threshold, best_iteration = metrics["threshold"], metrics["best_iteration"]
    model_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / "model.txt"))
    (model_dir / "schema.json").write_text(json.dumps(schema, indent=2) + "\n")
    metadata = {
        "threshold": threshold,
        "best_iteration": best_iteration,
        "hyperparameters": hp,
        "lightgbm_version": lgb.__version__,
    }
    (model_dir / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    copy_code(model_dir)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
