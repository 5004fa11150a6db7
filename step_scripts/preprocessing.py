"""Clean a census-style CSV and split it into train/validation/test for LightGBM.

Runs in a SageMaker SKLearnProcessor (pandas + scikit-learn only) or on a laptop.
Categorical columns stay as strings (no one-hot) so that SageMaker Clarify can use
the original facet columns (e.g. ``Sex``). Outputs, under ``--output-dir``::

    train/train.csv, validation/validation.csv, test/test.csv   header, target first (0/1)
    {train,validation,test}/schema.json                           features, levels, mapping
    clarify/clarify.csv                                           test split, no header
    explain/explain.csv                                           a stratified sample of it

With ``train_shards`` N > 1 (a data-parallel training job on N instances), the train split is
``train/train-00000-of-0000N.csv`` … instead: N files of consecutive rows of the (shuffled) split, so
that SageMaker's ShardedByS3Key gives each instance whole files (each gets "approximately 1/n of the
number of S3 objects": S3DataSource in the SageMaker API reference). train/ then holds no
schema.json (ShardedByS3Key would hand that object to one instance only): train.py reads the one in
the validation channel, which every instance gets.

In clarify.csv and explain.csv a missing categorical value is the token ``__missing__`` (not an
empty field, which Clarify reads as missing data); the model maps it, like any unseen level, to
missing, so predictions are unchanged.

Options come from ``--config FILE`` (JSON, what the compiler writes: long column lists cannot travel
as container arguments, which SageMaker limits to 256 characters each) and the flags below, which
take precedence. Input: every file under ``--input-dir`` (recursively, by path; gzip'd or not),
optionally without a header (names from the config) and with comment lines to skip.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from step_common import (
    READ_ERRORS,
    InputError,
    Progress,
    count_file_rows,
    input_files,
    input_stream,
    new_parser,
    parse_bool,
    parse_list,
    read_csv_compact,
    run_main,
    write_csv,
)

PROG = "preprocessing"
MISSING_TOKENS = ("?", "")
SPLITS = ("train", "validation", "test")
MISSING_CATEGORY = "__missing__"
CONFIG_KEYS = {  # what --config may hold (besides "split": {train, validation, test})
    "target_column", "positive_class", "header", "column_names", "comment", "categorical_columns",
    "drop_columns", "stratify", "seed", "facet_columns", "explain_rows", "train_shards",
}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = new_parser(PROG, __doc__)
    p.add_argument("--input-dir", default="/opt/ml/processing/input/data")
    p.add_argument("--output-dir", default="/opt/ml/processing/output")
    p.add_argument("--config", type=Path, default=None, help="JSON with the options below (flags win)")
    p.add_argument("--target-column", default=None)
    p.add_argument("--positive-class", default=None, help="comma-separated spellings of the positive class")
    p.add_argument("--header", type=parse_bool, default=None, help="files start with a header row")
    p.add_argument("--comment", default=None, help="skip lines starting with this text")
    p.add_argument("--categorical-columns", default=None)
    p.add_argument("--drop-columns", default=None)
    p.add_argument("--column-names", default=None)
    p.add_argument("--train-ratio", type=float, default=None)
    p.add_argument("--validation-ratio", type=float, default=None)
    p.add_argument("--test-ratio", type=float, default=None)
    p.add_argument("--stratify", type=parse_bool, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--facet-columns", default=None)
    p.add_argument("--explain-rows", type=int, default=None, help="rows in the explain/ sample")
    p.add_argument("--train-shards", type=int, default=None, help="train files (data-parallel training)")
    return p


DEFAULTS = {
    "positive_class": None, "header": None, "comment": None, "categorical_columns": "auto",
    "drop_columns": "", "column_names": "", "train_ratio": 0.7, "validation_ratio": 0.15,
    "test_ratio": 0.15, "stratify": True, "seed": 42, "facet_columns": "", "explain_rows": None,
    "train_shards": 1,
}  # fmt: skip


def _as_text(value: object) -> object:
    """Config lists become the flags' comma-separated text."""
    return ",".join(str(v) for v in value) if isinstance(value, list) else value


def merge_config(args: argparse.Namespace) -> argparse.Namespace:
    """Fill unset flags from ``--config`` and then the defaults; the target column is required."""
    config = {}
    if args.config is not None:
        try:
            config = json.loads(args.config.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read config '{args.config}': {exc}") from None
        unknown = sorted(set(config) - set(CONFIG_KEYS) - {"split"})
        if unknown:
            raise InputError(f"config '{args.config.name}' has unknown keys {unknown}")
        for key, ratio in (config.pop("split", None) or {}).items():
            config[f"{key}_ratio"] = ratio
    for name, default in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, _as_text(config.get(name, default)))
    if args.target_column is None:
        args.target_column = config.get("target_column")
    if not args.target_column:
        raise InputError("the target column is required (--target-column or target_column in --config)")
    if args.positive_class is None or not str(args.positive_class).strip():
        raise InputError("the positive class is required (--positive-class or positive_class in --config)")
    if args.header is None:  # without names to use, the files must name their columns
        args.header = not parse_list(args.column_names)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(PROG, build_parser().parse_args, run, argv)


def check_ratios(ratios: Sequence[float]) -> None:
    """Each ratio must be in (0, 1) and together they must sum to 1 (within 1e-6)."""
    if any(not (0.0 < r < 1.0) for r in ratios):
        raise InputError(f"train/validation/test ratios must each be between 0 and 1, got {list(ratios)}")
    if abs(sum(ratios) - 1.0) > 1e-6:
        shown = " + ".join(f"{r:g}" for r in ratios)
        raise InputError(f"train/validation/test ratios must sum to 1, got {shown} = {sum(ratios):g}")


def split_counts(n_rows: int, ratios: Sequence[float]) -> list[int]:
    """Row counts per split: each within 1 of ``n_rows * ratio`` (largest remainder), summing to n_rows."""
    total = float(sum(ratios))
    exact = [n_rows * r / total for r in ratios]
    counts = [int(math.floor(x)) for x in exact]
    short = max(0, n_rows - sum(counts))
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[:short]:
        counts[i] += 1
    return counts


def check_header(name: str, found: Sequence[str], declared: Sequence[str], header: bool) -> None:
    """The file's first record against the declared columns (data.columns): with a header, the same
    names in the same order, none repeated; without, it must not be a header row of those names."""
    shown = f"declared columns (data.columns) {list(declared)}" if declared else "no declared columns"
    if not header:
        if declared and len(found) == len(declared) and len(set(found) & set(declared)) > len(declared) / 2:
            raise InputError(
                f"input file '{name}' starts with a header row {list(found)} but data.header is false "
                f"({shown}); set data.header: true"
            )
        return
    repeated = sorted({c for c in found if list(found).count(c) > 1})
    if repeated:
        raise InputError(
            f"input file '{name}' header repeats column name(s) {repeated}: found columns {list(found)}, "
            f"{shown}; give each column one name in the file"
        )
    if declared and list(found) != list(declared):
        i = next(
            (i for i, (g, w) in enumerate(zip(found, declared)) if g != w), min(len(found), len(declared))
        )
        got, want = (names[i] if i < len(names) else "(no column)" for names in (found, declared))
        raise InputError(
            f"input file '{name}' header does not match the declared columns: found columns {list(found)}, "
            f"{shown}; column {i + 1} is '{got}' where data.columns says '{want}'; fix data.columns or the file"
        )


def read_raw(
    path: Path, column_names: Sequence[str], header: bool = True, comment: str | None = None
) -> pd.DataFrame:
    """Read one CSV with every value as a string (each column a ``category``: a distinct text is
    held once), nothing parsed as NA. The file is streamed, never held whole in memory.

    The header (or, without one, the first row) is checked against the column names first
    (:func:`check_header`); a large file logs its progress (rows read) every few seconds.
    """
    try:
        with input_stream(path, comment) as text:
            line = next((line for line in text if line.strip()), "")  # the first record pandas reads
        first = [cell.strip() for cell in next(csv.reader([line], skipinitialspace=True), [])]
        if first:  # (as written: pandas renames repeated names; an empty file is reported below)
            check_header(path.name, first, column_names, header)
        options = {"dtype": str, "keep_default_na": False, "na_filter": False, "skipinitialspace": True}
        rows = count_file_rows(path, header)
        with input_stream(path, comment) as text:
            frame = read_csv_compact(text, PROG, path.name, rows, header=0 if header else None, **options)
    except READ_ERRORS as exc:
        raise InputError(f"cannot read input file '{path.name}': {exc}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"input file '{path.name}' is empty") from None
    except pd.errors.ParserError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read input file '{path.name}': {reason}") from None
    if header:
        frame.columns = [str(c).strip() for c in frame.columns]
    if not column_names:
        return frame
    if frame.shape[1] != len(column_names):
        raise InputError(
            f"input file '{path.name}' has {frame.shape[1]} columns but the column names list {len(column_names)}"
        )
    frame.columns = list(column_names)
    return frame


def read_inputs(
    files: Sequence[Path], column_names: Sequence[str], header: bool = True, comment: str | None = None
) -> pd.DataFrame:
    """Read and concatenate input files, which must all have the same columns."""
    if len(set(column_names)) != len(column_names):
        raise InputError("--column-names contains duplicate names")
    progress = Progress(PROG, "read", len(files), "files", rate=False)
    frames = []
    for f in files:
        frames.append(read_raw(f, column_names, header, comment))
        progress.update(len(frames), f"{f.name}: {len(frames[-1]):,} rows")
    first = list(frames[0].columns)
    for f, frame in zip(files, frames):
        if list(frame.columns) != first:
            raise InputError(f"input file '{f.name}' has columns {list(frame.columns)}, expected {first}")
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(frame) == 0:
        raise InputError(f"input has a header but no data rows ({', '.join(f.name for f in files)})")
    return frame


def clean_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip whitespace from every value; ``?`` and empty become missing (None)."""
    out = {}
    for col in frame.columns:
        # Strip each distinct value once: far faster than .str.strip() on object columns.
        codes, uniques = pd.factorize(frame[col])
        tokens = [str(u).strip() for u in uniques]
        cleaned = np.array([None if t in MISSING_TOKENS else t for t in tokens] + [None], dtype=object)
        out[col] = cleaned[codes]  # code -1 (already missing) picks the trailing None
    return pd.DataFrame(out, index=frame.index)


def numeric_or_none(values: pd.Series) -> pd.Series | None:
    """The column as numbers if every non-missing value parses as a number, else None."""
    present = values.dropna()
    if pd.to_numeric(present.head(200), errors="coerce").isna().any():
        return None  # cheap early exit: one unparseable value decides it
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers if int(numbers.notna().sum()) == int(values.notna().sum()) else None


def normal_label(label: str) -> str:
    """A label without a trailing dot: adult.test writes '>50K.' where adult.data writes '>50K'."""
    return label.strip().rstrip(".").strip()


def encode_target(values: pd.Series, target: str, positive: str) -> tuple[pd.Series, dict[str, int]]:
    """Map the positive class (any of its comma-separated spellings) to 1 and the single other
    label to 0; labels that differ only by a trailing dot are one label."""
    spellings = {normal_label(p) for p in parse_list(positive)}
    values = values.map(normal_label)
    labels = sorted(str(v) for v in values.dropna().unique())
    if not spellings & set(labels):
        raise InputError(
            f"positive class '{positive}' not found in target column '{target}' (labels: {labels[:10]})"
        )
    positive = sorted(spellings & set(labels))[0]
    others = [label for label in labels if label not in spellings]
    if len(others) > 1:
        shown = others[:10] + (["..."] if len(others) > 10 else [])
        raise InputError(
            f"unexpected target labels {shown} in '{target}': "
            f"expected '{positive}' and exactly one other label"
        )
    if not others:
        raise InputError(f"target column '{target}' has only one label '{positive}'; need two classes")
    mapping = {others[0]: 0, positive: 1}
    return values.isin(spellings).astype("int64"), mapping


def choose_features(
    columns: Sequence[str], target: str, drop: Sequence[str], facets: Sequence[str], categorical: str
) -> tuple[list[str], list[str] | None]:
    """Validate column options; return feature names and the explicit categorical list (None = auto)."""
    shown = ", ".join(columns)
    if target not in columns:
        raise InputError(f"target column '{target}' not in input columns [{shown}]")
    for name in drop:
        if name not in columns:
            raise InputError(f"drop column '{name}' not in input columns [{shown}]")
        if name == target:
            raise InputError(f"cannot drop the target column '{target}'")
    for name in facets:
        if name not in columns:
            raise InputError(f"facet column '{name}' not in input columns [{shown}]")
        if name in drop:
            raise InputError(f"facet column '{name}' is also in --drop-columns; the bias check needs it")
        if name == target:
            raise InputError(f"facet column '{name}' is the target column")
    features = [c for c in columns if c != target and c not in drop]
    if not features:
        raise InputError("no feature columns left after dropping columns")
    if categorical.strip().lower() == "auto":
        return features, None
    explicit = parse_list(categorical)
    for name in explicit:
        if name not in features:
            raise InputError(f"categorical column '{name}' is not a feature column [{', '.join(features)}]")
    return features, explicit


def prepare(
    raw: pd.DataFrame,
    target: str,
    positive: str,
    drop: Sequence[str] = (),
    facets: Sequence[str] = (),
    categorical: str = "auto",
) -> tuple[pd.DataFrame, dict]:
    """Clean the raw frame; return (frame with target first as 0/1, schema dict)."""
    features, explicit = choose_features(list(raw.columns), target, drop, facets, categorical)
    clean = clean_strings(raw[[target, *features]])
    clean = clean[clean[target].notna()]
    if len(clean) == 0:
        raise InputError(f"target column '{target}' has no values")
    label, mapping = encode_target(clean[target], target, positive.strip())
    columns = {target: label}
    levels: dict[str, list[str]] = {}
    numeric: list[str] = []
    for name in features:
        values = clean[name]
        numbers = None if explicit is not None and name in explicit else numeric_or_none(values)
        if numbers is not None and pd.api.types.is_numeric_dtype(numbers):
            columns[name] = numbers
            numeric.append(name)
            continue
        if explicit is not None and name not in explicit:
            example = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()].iloc[0]
            raise InputError(
                f"column '{name}' has non-numeric value '{example}' but is not in --categorical-columns"
            )
        columns[name] = values
        levels[name] = sorted(str(v) for v in values.dropna().unique())
    frame = pd.DataFrame(columns, index=clean.index).reset_index(drop=True)
    schema = {
        "target": target,
        "positive_class": next(name for name, value in mapping.items() if value == 1),
        "label_mapping": mapping,
        "features": list(features),
        "categorical": levels,
        "numeric": numeric,
    }
    return frame, schema


def split_frame(
    frame: pd.DataFrame, label: str, ratios: Sequence[float], stratify: bool, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Seeded (optionally stratified) train/validation/test split with exact row counts."""
    from sklearn.model_selection import train_test_split  # lazy: argument and data errors exit faster

    n_train, n_val, n_test = split_counts(len(frame), ratios)
    if min(n_train, n_val, n_test) < 1:
        raise InputError(f"{len(frame)} rows are too few to split with ratios {list(ratios)}")
    index = np.arange(len(frame))
    y = frame[label].to_numpy()
    try:
        rest, test = train_test_split(
            index, test_size=n_test, random_state=seed, stratify=y if stratify else None
        )
        train, val = train_test_split(
            rest, test_size=n_val, random_state=seed, stratify=y[rest] if stratify else None
        )
    except ValueError as exc:
        raise InputError(f"cannot split {len(frame)} rows (stratify={stratify}): {exc}") from None
    return frame.iloc[train], frame.iloc[val], frame.iloc[test]


def explain_sample(test: pd.DataFrame, label: str, rows: int, seed: int) -> pd.DataFrame:
    """At most ``rows`` test rows, stratified by the label and seeded (all of them when fewer)."""
    from sklearn.model_selection import train_test_split

    if rows >= len(test):
        return test
    y = test[label].to_numpy()
    stratify = y if np.bincount(y).min() >= 2 else None
    keep, _ = train_test_split(np.arange(len(test)), train_size=rows, random_state=seed, stratify=stratify)
    return test.iloc[np.sort(keep)]


def for_clarify(frame: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """The frame with missing categorical values as an explicit token instead of empty fields."""
    out = frame.copy()
    for name in schema["categorical"]:
        out[name] = out[name].fillna(MISSING_CATEGORY)
    return out


def shard_names(shards: int) -> list[str]:
    """The train files of a sharded train split, in key order."""
    return [f"train-{i:05d}-of-{shards:05d}.csv" for i in range(shards)]


def write_shards(folder: Path, part: pd.DataFrame, shards: int) -> None:
    """``part`` as ``shards`` CSVs of consecutive rows (sizes within one row of each other)."""
    bounds = np.linspace(0, len(part), shards + 1).round().astype(int)
    for name, start, stop in zip(shard_names(shards), bounds[:-1], bounds[1:]):
        write_csv(part.iloc[start:stop], folder / name, PROG, name=f"train/{name}")


def write_outputs(
    out: Path,
    parts: dict[str, pd.DataFrame],
    schema: dict,
    explain: pd.DataFrame | None = None,
    train_shards: int = 1,
) -> None:
    """Write the split CSVs, schema copies, the header-less Clarify copy of the test split and,
    when given, the explainability sample (a line per file, progress within large ones)."""
    text = json.dumps(schema, indent=2) + "\n"
    for name, part in parts.items():
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        if name == "train" and train_shards > 1:
            write_shards(folder, part, train_shards)
            continue
        write_csv(part, folder / f"{name}.csv", PROG, name=f"{name}/{name}.csv")
        (folder / "schema.json").write_text(text)
    (out / "clarify").mkdir(parents=True, exist_ok=True)
    write_csv(
        for_clarify(parts["test"], schema),
        out / "clarify" / "clarify.csv",
        PROG,
        False,
        "clarify/clarify.csv",
    )
    if explain is not None:
        (out / "explain").mkdir(parents=True, exist_ok=True)
        write_csv(
            for_clarify(explain, schema), out / "explain" / "explain.csv", PROG, False, "explain/explain.csv"
        )


def run(args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    """Read, clean, split and write; return the split frames."""
    args = merge_config(args)
    ratios = (args.train_ratio, args.validation_ratio, args.test_ratio)
    check_ratios(ratios)
    shards = int(args.train_shards)
    if not 1 <= shards <= 10_000:
        raise InputError(f"train_shards must be between 1 and 10000, got {shards}")
    files = input_files(Path(args.input_dir))
    raw = read_inputs(files, parse_list(args.column_names), args.header, args.comment)
    target, n_raw = args.target_column.strip(), len(raw)
    frame, schema = prepare(
        raw,
        target,
        args.positive_class,
        drop=parse_list(args.drop_columns),
        facets=parse_list(args.facet_columns),
        categorical=args.categorical_columns,
    )
    del raw  # (memory: the cleaned frame replaces it)
    train, val, test = split_frame(frame, target, ratios, args.stratify, args.seed)
    n_frame = len(frame)
    del frame  # (the splits replace it)
    parts = {"train": train, "validation": val, "test": test}
    explain = explain_sample(test, target, args.explain_rows, args.seed) if args.explain_rows else None
    if len(train) < shards:
        raise InputError(f"{len(train)} train rows are too few for {shards} train files")
    write_outputs(Path(args.output_dir), parts, schema, explain, shards)
    print(f"{PROG}: read {n_raw} rows from {len(files)} file(s)")
    if n_frame < n_raw:
        print(f"{PROG}: dropped {n_raw - n_frame} rows with a missing target '{target}'")
    for name, part in parts.items():
        print(f"{PROG}: {name}: {len(part)} rows, positive rate {part[target].mean():.4f}")
    if explain is not None:
        print(f"{PROG}: explain: {len(explain)} of {len(test)} test rows (stratified sample)")
    print(f"{PROG}: categorical: {sorted(schema['categorical'])}")
    return parts


if __name__ == "__main__":
    sys.exit(main())
