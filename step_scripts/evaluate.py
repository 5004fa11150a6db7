"""Evaluate the trained LightGBM model on the test split (SageMaker processing job or laptop).

Reads ``model.tar.gz`` (or an extracted model dir with ``model.txt``) and the test CSV written by
preprocessing.py, and writes ``evaluation.json`` in SageMaker's model-quality format with binary
metrics for the positive class at the threshold stored by train.py. The pipeline's F1 gate reads
``classification_metrics.f1.value``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

PROG = "evaluate"
MODEL_FILES = ("model.txt", "schema.json", "metadata.json")


class InputError(Exception):
    """Bad arguments or bad data: reported as one line on stderr, exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--model-dir", default="/opt/ml/processing/model")
    p.add_argument("--test-dir", default="/opt/ml/processing/test")
    p.add_argument("--output-dir", default="/opt/ml/processing/evaluation")
    p.add_argument(
        "--metrics",
        type=parse_metrics,
        default=list(METRICS),
        help=f"comma-separated metrics to report, from {','.join(METRICS)} (the threshold is always reported)",
    )
    return p


METRICS = ("f1", "precision", "recall", "accuracy", "roc_auc")


def parse_metrics(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}"
        )
    return names


def extract_model(archive: Path, destination: Path) -> Path:
    """Extract model.tar.gz safely (no absolute paths, no ``..``, no links) and return the dir."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                parts = Path(member.name).parts
                if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
                    raise InputError(f"refusing unsafe entry '{member.name}' in '{archive.name}'")
            if hasattr(tarfile, "data_filter"):  # Python >= 3.9.17 / 3.12
                tar.extractall(destination, members=members, filter="data")
            else:
                tar.extractall(destination, members=members)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"cannot extract '{archive}': {exc}") from None
    return destination


def find_model_dir(model_dir: Path, scratch: Path) -> Path:
    """The directory holding model.txt: ``model_dir`` itself, or ``model.tar.gz`` extracted into scratch."""
    if (model_dir / "model.txt").is_file():
        root = model_dir
    elif (model_dir / "model.tar.gz").is_file():
        root = extract_model(model_dir / "model.tar.gz", scratch)
    else:
        raise InputError(f"neither model.tar.gz nor model.txt found in model dir '{model_dir}'")
    missing = [name for name in MODEL_FILES if not (root / name).is_file()]
    if missing:
        raise InputError(f"model is missing {', '.join(missing)} (expected the output of train.py)")
    return root


def to_model_frame(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """Features in schema order: categoricals with the schema levels (unseen -> NaN), numerics float."""
    out = {}
    for name in schema["features"]:
        levels = schema["categorical"].get(name)
        if levels is None:
            out[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
        else:
            codes = pd.Index(levels).get_indexer(frame[name])  # unseen or missing -> -1 (NaN)
            out[name] = pd.Categorical.from_codes(codes, categories=levels)
    return pd.DataFrame(out, index=frame.index)


def read_test(test_dir: Path, schema: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """Read every CSV in the test dir (other files ignored); return (features, 0/1 labels)."""
    if not test_dir.is_dir():
        raise InputError(f"test directory '{test_dir}' does not exist")
    files = sorted(f for f in test_dir.iterdir() if f.is_file() and f.name.endswith((".csv", ".csv.gz")))
    if not files:
        raise InputError(f"no CSV files in test directory '{test_dir}'")
    expected = [schema["target"], *schema["features"]]
    frames = []
    for f in files:
        try:
            frame = pd.read_csv(
                f, dtype={c: str for c in schema["categorical"]}, keep_default_na=False, na_values=[""]
            )
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read test file '{f.name}': {str(exc).strip() or 'empty'}") from None
        if list(frame.columns) != expected:
            raise InputError(f"test file '{f.name}' columns {list(frame.columns)} != schema {expected}")
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    labels = frame[schema["target"]]
    if not labels.isin([0, 1]).all() or labels.nunique() != 2:
        raise InputError(
            f"test target column '{schema['target']}' must hold both labels 0 and 1 (rows: {len(frame)})"
        )
    try:
        return to_model_frame(frame, schema), labels.to_numpy(dtype="int64")
    except ValueError as exc:
        raise InputError(f"test data has a non-numeric value in a numeric column: {exc}") from None


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    """Binary metrics for the positive class with ``label = proba >= threshold``."""
    predicted = (proba >= threshold).astype("int64")
    return {
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "accuracy": float(accuracy_score(y_true, predicted)),
        "roc_auc": float(roc_auc_score(y_true, proba)),
        "threshold": float(threshold),
    }


def report(metrics: dict[str, float]) -> dict:
    """SageMaker model-quality JSON: every metric as {"value": x, "standard_deviation": "NaN"}."""
    return {
        "classification_metrics": {
            name: {"value": value, "standard_deviation": "NaN"} for name, value in metrics.items()
        }
    }


def run(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        root = find_model_dir(Path(args.model_dir), Path(scratch))
        schema = json.loads((root / "schema.json").read_text())
        threshold = float(json.loads((root / "metadata.json").read_text())["threshold"])
        booster = lgb.Booster(model_file=str(root / "model.txt"))
    features, labels = read_test(Path(args.test_dir), schema)
    computed = classification_metrics(labels, booster.predict(features), threshold)
    metrics = {name: value for name, value in computed.items() if name in args.metrics or name == "threshold"}
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report(metrics), indent=2) + "\n")
    shown = ", ".join(f"{name}={value:.6f}" for name, value in metrics.items())
    print(f"{PROG}: {len(labels)} test rows: {shown}")
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
