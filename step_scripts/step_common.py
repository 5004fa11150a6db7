"""Code the step scripts share: argument parsing, the entry point, reading the model and its data,
and progress lines for long work (rows read and written per file, SHAP rows done) in the job's log.

Shipped with every job beside (or on ``PYTHONPATH`` of) the script that imports it, and copied by
train.py into ``model.tar.gz`` under ``code/`` for serving. Like the scripts, it runs on Python 3.9
with pandas and numpy only: LightGBM is imported where a model is loaded, so preprocessing (a plain
scikit-learn container) can import this module.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NoReturn

import numpy as np
import pandas as pd

EXIT_INPUT = 1
EXIT_VIOLATION = 3
"""A check job's status when it fails on a violated baseline (the step fails, naming it)."""
MODEL_FILES = ("model.txt", "schema.json", "metadata.json")
CSV_SUFFIXES = (".csv", ".csv.gz")
PROGRESS_SHARE, PROGRESS_SECONDS = 0.10, 5.0  # a line per tenth of the work, or after 5 s without one
CSV_CHUNK_ROWS = 100_000  # rows per read or write of a large CSV, between progress checks


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


def violation_exit(prog: str, message: str) -> int:
    """Report a check's first violation as one ``prog: error: ...`` line; :data:`EXIT_VIOLATION`."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_VIOLATION


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


def latest_approved(client: Any, group: str, pick: Callable[[dict[str, Any]], Any]) -> Any:
    """``pick(package)`` of the newest Approved package of model package group ``group`` for which it
    is not None; None if there is none. Packages come newest first (ListModelPackages, Approved only,
    sorted by CreationTime descending, page by page via NextToken), each read with
    DescribeModelPackage; ``client`` answers as boto3's SageMaker client does."""
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    while True:
        page = client.list_model_packages(**request)
        for summary in page.get("ModelPackageSummaryList") or []:
            picked = pick(client.describe_model_package(ModelPackageName=summary["ModelPackageArn"]))
            if picked is not None:
                return picked
        if not page.get("NextToken"):
            return None
        request["NextToken"] = page["NextToken"]


# --------------------------------------------------------------------------------------------
# Progress in the job log
# --------------------------------------------------------------------------------------------


class Progress:
    """Progress lines ``prog: what done/total unit (pct)[, rate unit/s][; note]`` on stdout (the job log)
    at a bounded rate: when another ``share`` of the total is done (None: never for that reason),
    when ``seconds`` passed since the last line, and at the end (unless ``last`` is False). So at
    most ``1/share + 1`` lines, plus one per ``seconds`` of work."""

    def __init__(
        self,
        prog: str,
        what: str,
        total: int,
        unit: str = "rows",
        share: float | None = PROGRESS_SHARE,
        seconds: float = PROGRESS_SECONDS,
        last: bool = True,
        rate: bool = True,
    ):
        self.prog, self.what, self.total, self.unit = prog, what, max(int(total), 0), unit
        self.share, self.seconds, self.last, self.rate = share, seconds, last, rate
        self.began = self.shown_at = time.monotonic()
        self.shown = 0

    def update(self, done: int, note: str = "") -> bool:
        """Record ``done`` units of work finished; print a line if one is due. Returns whether it did."""
        now = time.monotonic()
        finished = done >= self.total
        due = (finished and self.last) or (not finished and now - self.shown_at >= self.seconds)
        if self.share is not None and not finished and done - self.shown >= self.share * self.total:
            due = True
        if not due:
            return False
        line = (
            f"{self.prog}: {self.what} {done:,}/{self.total:,} {self.unit} ({done / max(self.total, 1):.0%})"
        )
        if self.rate:
            line += f", {done / (now - self.began) if now > self.began else float('inf'):,.0f} {self.unit}/s"
        print(line + (f"; {note}" if note else ""), flush=True)
        self.shown, self.shown_at = done, now
        return True


def read_csv_chunked(source: Any, prog: str, what: str, rows: int, **options: Any) -> pd.DataFrame:
    """``pd.read_csv(source, **options)`` in chunks of :data:`CSV_CHUNK_ROWS` rows, with a progress
    line every :data:`PROGRESS_SECONDS` (``rows`` is the expected total). For reads with
    ``dtype=str`` only: each chunk would infer its own types otherwise."""
    progress = Progress(prog, f"reading {what}", rows, share=None, last=False)
    chunks, done = [], 0
    reader = pd.read_csv(source, chunksize=CSV_CHUNK_ROWS, **options)
    try:  # (not `with`: the containers' pandas may predate 1.2, whose readers are context managers)
        for chunk in reader:
            chunks.append(chunk)
            done += len(chunk)
            progress.update(done)  # (never a last line: the caller says what it read)
    finally:
        reader.close()
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def write_csv(frame: pd.DataFrame, path: Path, prog: str, header: bool = True, name: str = "") -> None:
    """``frame.to_csv(path, index=False, header=header)``, the same bytes, written in chunks with a
    progress line every :data:`PROGRESS_SECONDS` and one ``wrote NAME: N rows`` line at the end."""
    name = name or path.name
    progress = Progress(prog, f"writing {name}", len(frame), share=None, last=False)
    with path.open("w", newline="") as out:
        if len(frame) == 0:
            frame.to_csv(out, index=False, header=header)
        for start in range(0, len(frame), CSV_CHUNK_ROWS):
            frame.iloc[start : start + CSV_CHUNK_ROWS].to_csv(out, index=False, header=header and start == 0)
            progress.update(min(start + CSV_CHUNK_ROWS, len(frame)))
    print(f"{prog}: wrote {name}: {len(frame):,} rows", flush=True)


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
# Raw input files (preprocessing.py's)
# --------------------------------------------------------------------------------------------


def input_files(path: Path) -> list[Path]:
    """A single file, or every file under a directory (recursively, hidden ones skipped), by path."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"input path '{path}' does not exist")
    files = sorted(
        f
        for f in path.rglob("*")
        if f.is_file() and not any(p.startswith(".") for p in f.relative_to(path).parts)
    )
    if not files:
        raise InputError(f"no input files in '{path}'")
    return files


class _SkipLines(io.TextIOBase):
    """A text stream without the lines that start with ``prefix``, read lazily from ``inner``."""

    def __init__(self, inner: Any, prefix: str):
        self._inner, self._prefix, self._buffer = inner, prefix, ""

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:
        while not self._buffer:
            line = self._inner.readline()
            if not line:
                return ""
            if not line.startswith(self._prefix):
                self._buffer = line
        cut = len(self._buffer) if size is None or size < 0 else size
        line, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return line

    def read(self, size: int | None = -1) -> str:
        parts, wanted = [], -1 if size is None or size < 0 else size
        while wanted != 0:
            line = self.readline(wanted)
            if not line:
                break
            parts.append(line)
            wanted = wanted - len(line) if wanted > 0 else wanted
        return "".join(parts)

    def close(self) -> None:
        self._inner.close()
        super().close()


def input_stream(path: Path, comment: str | None) -> Any:
    """A file's text as a stream read lazily (gunzipped when it is gzip data, whatever its name),
    without the lines starting with ``comment``: a large file is never held whole in memory. Decoding
    errors surface while reading (see :data:`READ_ERRORS`)."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        if gzipped:
            stream = gzip.open(path, "rt", encoding="utf-8", newline="")  # noqa: SIM115 - the caller closes it
        else:
            stream = path.open(encoding="utf-8", newline="")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise InputError(f"cannot read input file '{path.name}': {exc}") from None
    return _SkipLines(stream, comment) if comment else stream


READ_ERRORS = (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile)
"""What reading an :func:`input_stream` may raise about the file itself (besides pandas' errors)."""


def count_file_rows(path: Path, header: bool) -> int:
    """Data rows in a (possibly gzip'd) CSV file, counted as lines in blocks (comment lines count)."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        lines, last = 0, b"\n"
        with gzip.open(path, "rb") if gzipped else path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                lines += block.count(b"\n")
                last = block[-1:]
    except READ_ERRORS:
        return 0  # reading it properly reports the problem
    return max(lines + (last != b"\n") - (1 if header else 0), 0)


def read_csv_compact(source: Any, prog: str, what: str, rows: int, **options: Any) -> pd.DataFrame:
    """:func:`read_csv_chunked`, but each column as a ``category``: every distinct text is held once,
    not once per cell (a million rows of 40 text columns would take gigabytes as Python strings).
    For reads with ``dtype=str`` and ``na_filter=False`` only (categories hold no missing value)."""
    from pandas.api.types import union_categoricals

    progress = Progress(prog, f"reading {what}", rows, share=None, last=False)
    parts: dict[Any, list[pd.Categorical]] = {}
    done = 0
    reader = pd.read_csv(source, chunksize=CSV_CHUNK_ROWS, **options)
    try:  # (not `with`: the containers' pandas may predate 1.2, whose readers are context managers)
        for chunk in reader:
            for name in chunk.columns:
                parts.setdefault(name, []).append(pd.Categorical(chunk[name]))
            done += len(chunk)
            progress.update(done)
    finally:
        reader.close()
    return pd.DataFrame(
        {name: cats[0] if len(cats) == 1 else union_categoricals(cats) for name, cats in parts.items()}
    )


# --------------------------------------------------------------------------------------------
# CSV data written by preprocessing.py
# --------------------------------------------------------------------------------------------


def csv_files(directory: Path) -> list[Path]:
    """The ``*.csv`` and ``*.csv.gz`` files in a directory, sorted by name (other files ignored)."""
    return sorted(f for f in directory.iterdir() if f.is_file() and f.name.endswith(CSV_SUFFIXES))


def read_labelled(
    files: Sequence[Path], schema: dict, kind: str, prog: str = "", compact: bool = False
) -> pd.DataFrame:
    """Concatenate CSVs with a header of the target then the schema's features (categoricals as text;
    with ``compact``, as pandas categories: each distinct text held once, not once per cell).

    ``kind`` names the files in errors (``test``, ``train``, ...); ``prog`` prefixes a progress line
    per file (at a bounded rate, see :class:`Progress`).
    """
    expected = [schema["target"], *schema["features"]]
    dtypes = {name: "category" if compact else str for name in schema["categorical"]}
    progress = Progress(prog or Path(sys.argv[0]).stem, f"read {kind}", len(files), "files", rate=False)
    frames = []
    for f in files:
        try:
            frame = pd.read_csv(f, dtype=dtypes, keep_default_na=False, na_values=[""])
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {kind} file '{f.name}': {str(exc).strip() or 'empty'}") from None
        if list(frame.columns) != expected:
            raise InputError(f"{kind} file '{f.name}' columns {list(frame.columns)} != schema {expected}")
        frames.append(frame)
        progress.update(len(frames), f"{f.name}: {len(frame):,} rows")
    return pd.concat(frames, ignore_index=True)


def read_headerless(data_dir: Path, headers: Sequence[str], schema: dict, prog: str) -> pd.DataFrame:
    """Every ``*.csv`` (or ``*.csv.gz``) in a dir, or one file: no header, columns = ``headers``, text
    except the schema's numeric columns (float64). The Clarify dataset preprocessing.py writes."""
    if data_dir.is_file():
        files = [data_dir]
    elif data_dir.is_dir():
        files = csv_files(data_dir)
    else:
        raise InputError(f"data path '{data_dir}' does not exist")
    if not files:
        raise InputError(f"no CSV files in data dir '{data_dir}'")
    progress = Progress(prog, "read data", len(files), "files", rate=False)
    frames = []
    for i, f in enumerate(files, 1):
        text = {"dtype": str, "keep_default_na": False, "na_values": [""], "skipinitialspace": True}
        try:
            frame = read_csv_chunked(f, prog, f.name, _line_count(f), header=None, **text)
        except pd.errors.EmptyDataError:
            continue
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
            raise InputError(
                f"cannot read data file '{f.name}': {str(exc).strip() or type(exc).__name__}"
            ) from None
        if frame.shape[1] != len(headers):
            raise InputError(
                f"data file '{f.name}' has {frame.shape[1]} columns but the analysis config lists "
                f"{len(headers)} headers"
            )
        frame.columns = list(headers)
        frames.append(frame)
        progress.update(i, f"{f.name}: {len(frame):,} rows")
    if not frames or sum(len(f) for f in frames) == 0:
        raise InputError(f"no data rows in '{data_dir}'")
    frame = pd.concat(frames, ignore_index=True)
    for name in schema.get("numeric", []):
        if name in frame.columns:
            try:
                frame[name] = pd.to_numeric(frame[name], errors="raise").astype("float64")
            except (TypeError, ValueError) as exc:
                raise InputError(f"numeric column '{name}' has a non-numeric value: {exc}") from None
    return frame


def _line_count(path: Path) -> int:
    """Lines in a (possibly gzip'd) file, read in blocks: the expected rows of a headerless CSV."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    except (OSError, EOFError):
        return 0  # reading it properly reports the problem
