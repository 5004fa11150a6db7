"""Code the step scripts share: argument parsing, the entry point, and reading the model and its data.

Shipped with every job beside (or on ``PYTHONPATH`` of) the script that imports it, and copied by
train.py into ``model.tar.gz`` under ``code/`` for serving. Like the scripts, it runs on Python 3.9
with pandas and numpy only: LightGBM is imported where a model is loaded, so preprocessing (a plain
scikit-learn container) can import this module.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NoReturn

import numpy as np
import pandas as pd

EXIT_INPUT = 1
MODEL_FILES = ("model.txt", "schema.json", "metadata.json")
CSV_SUFFIXES = (".csv", ".csv.gz")


class InputError(Exception):
    """Bad arguments or bad data: reported as one line on stderr, exit status 1."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``prog: error: ...`` line (exit status 2, no usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def new_parser(prog: str, doc: str | None) -> Parser:
    """A :class:`Parser` described by the first line of the script's docstring."""
    return Parser(prog=prog, description=(doc or "").splitlines()[0], allow_abbrev=False)


def parse_bool(text: str) -> bool:
    """Parse ``true``/``false`` (also yes/no, 1/0), case-insensitively."""
    value = str(text).strip().strip('"').lower()
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def parse_list(text: str | None) -> list[str]:
    """Split a comma-separated option into stripped, non-empty names."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def run_main(
    prog: str,
    parse_args: Callable[[Sequence[str] | None], argparse.Namespace],
    run: Callable[[argparse.Namespace], Any],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse the arguments and run; an InputError becomes one stderr line and exit status 1.

    Returns the exit status: ``run``'s own when it returns an int, else 0.
    """
    args = parse_args(argv)
    try:
        status = run(args)
    except InputError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return status if isinstance(status, int) else 0


def load_json(path: Path, what: str) -> Any:
    """A JSON file's content; a missing or invalid file is an InputError naming ``what``."""
    if not path.is_file():
        raise InputError(f"{what} '{path}' does not exist")
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} '{path.name}' is not valid JSON: {exc}") from None


def json_number(value: Any) -> float | None:
    """``value`` as a finite float, else None (JSON has no NaN or Infinity)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------------------------
# The model written by train.py
# --------------------------------------------------------------------------------------------


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


@dataclass
class Model:
    """A trained model: the LightGBM booster, the data schema and train.py's metadata (threshold)."""

    booster: Any
    schema: dict
    metadata: dict

    @property
    def threshold(self) -> float:
        """The decision threshold train.py chose (probability >= threshold is the positive label)."""
        return float(self.metadata["threshold"])


def load_model(model_dir: Path) -> Model:
    """Load model.txt, schema.json and metadata.json from a model dir or the model.tar.gz in it."""
    import lightgbm as lgb  # here, not at the top: preprocessing imports this module without LightGBM

    with tempfile.TemporaryDirectory() as scratch:
        root = find_model_dir(model_dir, Path(scratch))
        schema = load_json(root / "schema.json", "model schema")
        metadata = load_json(root / "metadata.json", "model metadata")
        booster = lgb.Booster(model_file=str(root / "model.txt"))
    return Model(booster=booster, schema=schema, metadata=metadata)


def to_model_frame(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """Features in schema order as in training: categoricals (text) with the schema levels (unseen or
    missing -> NaN), numerics as float64. Raises ValueError naming the first non-numeric value."""
    out = {}
    for name in schema["features"]:
        column = frame[name]
        levels = schema["categorical"].get(name)
        if levels is not None:
            codes = pd.Index(levels).get_indexer(column)  # unseen or missing -> -1 (NaN)
            out[name] = pd.Categorical.from_codes(codes, categories=levels)
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() & column.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"row {row + 1}: feature '{name}' is not a number: {str(column.iloc[row])[:40]!r}"
            )
        out[name] = numbers.astype("float64")
    return pd.DataFrame(out, index=frame.index)


# --------------------------------------------------------------------------------------------
# CSV data written by preprocessing.py
# --------------------------------------------------------------------------------------------


def csv_files(directory: Path) -> list[Path]:
    """The ``*.csv`` and ``*.csv.gz`` files in a directory, sorted by name (other files ignored)."""
    return sorted(f for f in directory.iterdir() if f.is_file() and f.name.endswith(CSV_SUFFIXES))


def read_labelled(files: Sequence[Path], schema: dict, kind: str) -> pd.DataFrame:
    """Concatenate CSVs with a header of the target then the schema's features (categoricals as text).

    ``kind`` names the files in errors (``test``, ``train``, ...).
    """
    expected = [schema["target"], *schema["features"]]
    dtypes = {name: str for name in schema["categorical"]}
    frames = []
    for f in files:
        try:
            frame = pd.read_csv(f, dtype=dtypes, keep_default_na=False, na_values=[""])
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {kind} file '{f.name}': {str(exc).strip() or 'empty'}") from None
        if list(frame.columns) != expected:
            raise InputError(f"{kind} file '{f.name}' columns {list(frame.columns)} != schema {expected}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
