"""Issue 15: a header that disagrees with the declared columns fails preprocessing at once (finding
11), and long steps log their progress at a bounded rate (finding 16): rows read and written per
file, rows read within a large file every few seconds (step_common.Progress)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from step_jobs import ADULT_COLUMNS, SCRIPTS, run_script
from step_script_helpers import assert_clean_failure

ADULT_ROWS = 48_842


def preprocess(tmp_path: Path, data: Path, columns: list[str] | None, header: bool) -> object:
    args = ["--input-dir", str(data), "--output-dir", str(tmp_path / "out")]
    args += ["--target-column", "Target", "--positive-class", ">50K", "--drop-columns", "fnlwgt"]
    args += ["--header", "true" if header else "false"]
    if columns is not None:
        args += ["--column-names", ",".join(columns)]
    return run_script(SCRIPTS / "preprocessing.py", args)


def with_header(tmp_path: Path, adult_csv: Path, header: list[str]) -> Path:
    """The Adult CSV with its header line replaced."""
    lines = adult_csv.read_text().splitlines(keepends=True)
    path = tmp_path / "data" / "census.csv"
    path.parent.mkdir()
    path.write_text(",".join(header) + "\n" + "".join(lines[1:]))
    return path.parent


def assert_failed_at_once(result: object, message: str) -> None:
    """The one error line, exactly, and nothing read or written before it."""
    line = assert_clean_failure(result, "preprocessing")
    assert line == f"preprocessing: error: {message}"
    assert result.stdout == ""


# ---------------------------------------------------------------------------- finding 11: headers


def test_swapped_header_names_fail_naming_file_declared_and_found(tmp_path, adult_csv):
    found = ["Workclass", "Age", *ADULT_COLUMNS[2:]]
    result = preprocess(tmp_path, with_header(tmp_path, adult_csv, found), ADULT_COLUMNS, header=True)
    assert_failed_at_once(
        result,
        f"input file 'census.csv' header does not match the declared columns: found columns {found}, "
        f"declared columns (data.columns) {ADULT_COLUMNS}; column 1 is 'Workclass' where data.columns "
        "says 'Age'; fix data.columns or the file",
    )


def test_duplicate_header_names_fail_with_the_names_as_written(tmp_path, adult_csv):
    """pandas would rename the second 'Sex' to 'Sex.1': the message shows the file's own names."""
    found = [("Sex" if name == "Ethnic group" else name) for name in ADULT_COLUMNS]
    data = with_header(tmp_path, adult_csv, found)
    result = preprocess(tmp_path, data, ADULT_COLUMNS, header=True)
    assert_failed_at_once(
        result,
        f"input file 'census.csv' header repeats column name(s) ['Sex']: found columns {found}, "
        f"declared columns (data.columns) {ADULT_COLUMNS}; give each column one name in the file",
    )
    # without declared columns the repeat is caught too (it used to become a feature 'Sex.1')
    result = preprocess(tmp_path, data, None, header=True)
    assert_failed_at_once(
        result,
        f"input file 'census.csv' header repeats column name(s) ['Sex']: found columns {found}, "
        "no declared columns; give each column one name in the file",
    )


def test_a_header_row_in_a_file_declared_headerless_fails(tmp_path, adult_csv):
    found = ["Workclass", "Age", *ADULT_COLUMNS[2:]]
    result = preprocess(tmp_path, with_header(tmp_path, adult_csv, found), ADULT_COLUMNS, header=False)
    assert_failed_at_once(
        result,
        f"input file 'census.csv' starts with a header row {found} but data.header is false "
        f"(declared columns (data.columns) {ADULT_COLUMNS}); set data.header: true",
    )


def test_a_header_short_of_the_declared_columns_fails(tmp_path, adult_csv):
    found = ADULT_COLUMNS[:-1]
    result = preprocess(tmp_path, with_header(tmp_path, adult_csv, found), ADULT_COLUMNS, header=True)
    assert_failed_at_once(
        result,
        f"input file 'census.csv' header does not match the declared columns: found columns {found}, "
        f"declared columns (data.columns) {ADULT_COLUMNS}; column 15 is '(no column)' where "
        "data.columns says 'Target'; fix data.columns or the file",
    )


def test_a_header_matching_the_declared_columns_passes(tmp_path, adult_csv):
    path = tmp_path / "data" / "census.csv"
    path.parent.mkdir()
    path.write_text("".join(adult_csv.read_text().splitlines(keepends=True)[:400]))
    result = preprocess(tmp_path, path.parent, ADULT_COLUMNS, header=True)
    assert result.returncode == 0, result.stderr
    assert "preprocessing: read 1/1 files (100%); census.csv: 399 rows" in result.stdout.splitlines()


# ----------------------------------------------------------------------- finding 16: progress lines


class FakeClock:
    """time.monotonic for step_common: each call moves ``step`` seconds on."""

    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


def test_progress_lines_every_tenth_and_at_the_end(scripts, monkeypatch, capsys):
    common = scripts.step_common
    monkeypatch.setattr(common, "time", FakeClock(0.001))
    progress = common.Progress("job", "SHAP", 1000)
    printed = [progress.update(done) for done in range(1, 1001)]
    assert sum(printed) == 10
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" rows (")[0] for line in lines] == [
        f"job: SHAP {n:,}/1,000" for n in range(100, 1001, 100)
    ]
    assert lines[-1].startswith("job: SHAP 1,000/1,000 rows (100%), ") and lines[-1].endswith(" rows/s")


def test_progress_lines_by_time_alone_are_bounded(scripts, monkeypatch, capsys):
    common = scripts.step_common
    monkeypatch.setattr(common, "time", FakeClock(1.0))  # a second per update
    progress = common.Progress("job", "reading big.csv", 100, share=None, last=False)
    for done in range(1, 101):
        progress.update(done)
    done = [int(line.split()[3].split("/")[0]) for line in capsys.readouterr().out.splitlines()]
    assert done == list(range(5, 100, 5))  # every 5 s; not at the end (last=False)


def test_file_progress_without_a_rate(scripts, capsys):
    progress = scripts.step_common.Progress("job", "read", 2, "files", rate=False)
    progress.update(1, "a.csv: 10 rows")
    progress.update(2, "b.csv: 5 rows")
    assert capsys.readouterr().out.splitlines() == [
        "job: read 1/2 files (50%); a.csv: 10 rows",
        "job: read 2/2 files (100%); b.csv: 5 rows",
    ]


def test_chunked_writes_and_reads_are_exact(scripts, monkeypatch, tmp_path, capsys):
    common = scripts.step_common
    monkeypatch.setattr(common, "CSV_CHUNK_ROWS", 7)
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=50) * 10.0 ** rng.integers(-8, 8, size=50),
            "s": [f"v,{i}" if i % 3 else None for i in range(50)],  # a quoted comma, missing values
            "n": range(50),
        }
    )
    for header in (True, False):
        common.write_csv(frame, tmp_path / "chunked.csv", "job", header=header)
        frame.to_csv(tmp_path / "whole.csv", index=False, header=header)
        assert (tmp_path / "chunked.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert capsys.readouterr().out.splitlines()[-1] == "job: wrote chunked.csv: 50 rows"
    text = (tmp_path / "whole.csv").read_text()
    options = {"header": None, "dtype": str, "keep_default_na": False, "na_filter": False}
    chunked = common.read_csv_chunked(io.StringIO(text), "job", "whole.csv", 50, **options)
    pd.testing.assert_frame_equal(chunked, pd.read_csv(io.StringIO(text), **options))


def test_reading_a_large_file_logs_rows_read_every_few_seconds(scripts, monkeypatch, adult_csv, capsys):
    """In chunks of 5,000 rows with 2 s per chunk: a line every third chunk (6 s), none at the end."""
    common = scripts.step_common
    monkeypatch.setattr(common, "CSV_CHUNK_ROWS", 5000)
    monkeypatch.setattr(common, "time", FakeClock(2.0))
    frame = scripts.preprocessing.read_raw(adult_csv, [], header=True)
    assert len(frame) == ADULT_ROWS
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" rows (")[0] for line in lines] == [
        f"preprocessing: reading census-income.csv {n:,}/{ADULT_ROWS:,}" for n in (15_000, 30_000, 45_000)
    ]


def test_preprocessing_logs_rows_read_and_written_per_file(preprocessed):
    out = preprocessed.result.stdout.splitlines()
    assert f"preprocessing: read 1/1 files (100%); census-income.csv: {ADULT_ROWS:,} rows" in out
    for name in ("train/train.csv", "validation/validation.csv", "test/test.csv"):
        rows = len((preprocessed.output / name).read_text().splitlines()) - 1  # its header
        assert f"preprocessing: wrote {name}: {rows:,} rows" in out
    rows = len(preprocessed.clarify_csv.read_text().splitlines())
    assert f"preprocessing: wrote clarify/clarify.csv: {rows:,} rows" in out


def test_evaluation_and_training_log_rows_read_per_file(evaluated, trained, preprocessed):
    rows = {
        name: len((preprocessed.output / name / f"{name}.csv").read_text().splitlines()) - 1
        for name in ("train", "validation", "test")
    }
    assert f"evaluate: read test 1/1 files (100%); test.csv: {rows['test']:,} rows" in evaluated.result.stdout
    for channel in ("train", "validation"):
        line = f"train: read {channel} 1/1 files (100%); {channel}.csv: {rows[channel]:,} rows"
        assert line in trained.result.stdout.splitlines()
