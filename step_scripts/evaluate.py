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
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from step_common import InputError, csv_files, load_model, new_parser, read_labelled, run_main, to_model_frame

PROG = "evaluate"


def build_parser() -> argparse.ArgumentParser:
    p = new_parser(PROG, __doc__)
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


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(PROG, build_parser().parse_args, run, argv)


METRICS = ("f1", "precision", "recall", "accuracy", "roc_auc")


def parse_metrics(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}"
        )
    return names


def read_test(test_dir: Path, schema: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """Read every CSV in the test dir (other files ignored); return (features, 0/1 labels)."""
    if not test_dir.is_dir():
        raise InputError(f"test directory '{test_dir}' does not exist")
    files = csv_files(test_dir)
    if not files:
        raise InputError(f"no CSV files in test directory '{test_dir}'")
    frame = read_labelled(files, schema, "test", PROG)
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
    model = load_model(Path(args.model_dir))
    features, labels = read_test(Path(args.test_dir), model.schema)
    computed = classification_metrics(labels, model.booster.predict(features), model.threshold)
    metrics = {name: value for name, value in computed.items() if name in args.metrics or name == "threshold"}
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report(metrics), indent=2) + "\n")
    shown = ", ".join(f"{name}={value:.6f}" for name, value in metrics.items())
    print(f"{PROG}: {len(labels)} test rows: {shown}")
    return metrics


if __name__ == "__main__":
    sys.exit(main())
