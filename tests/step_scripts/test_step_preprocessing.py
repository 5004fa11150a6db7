"""preprocessing.py: real Adult run in a processing-job layout, bad inputs, pure helpers."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from step_jobs import ADULT_COLUMNS, ADULT_FEATURES, SCRIPTS, run_script
from step_script_helpers import assert_clean_failure

RATIOS = {"train": 0.7, "validation": 0.15, "test": 0.15}


def read_split(output: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(output / name / f"{name}.csv", keep_default_na=False, na_values=[""])


def preprocess(tmp_path: Path, input_path: Path, *extra: str) -> object:
    args = ["--input-dir", str(input_path), "--output-dir", str(tmp_path / "out"), *extra]
    return run_script(SCRIPTS / "preprocessing.py", args)


# --- the real Adult run ---------------------------------------------------------------------


def test_adult_splits_have_target_first_then_features_in_input_order(preprocessed):
    raw_columns = list(pd.read_csv(preprocessed.input, nrows=0).columns)
    assert (
        "fnlwgt" in raw_columns
        and [c for c in raw_columns if c not in ("Target", "fnlwgt")] == ADULT_FEATURES
    )
    for name in RATIOS:
        frame = read_split(preprocessed.output, name)
        assert list(frame.columns) == ["Target", *ADULT_FEATURES]  # --drop-columns fnlwgt took it out
        assert set(frame["Target"].unique()) == {0, 1}
        assert frame["Target"].dtype.kind == "i"
        # Categoricals stay as the original strings: Clarify's facet is the real Sex column.
        assert set(frame["Sex"].unique()) == {"Male", "Female"}


def test_adult_schema_describes_the_columns(preprocessed):
    schema = json.loads((preprocessed.output / "train" / "schema.json").read_text())
    assert schema["target"] == "Target"
    assert schema["positive_class"] == ">50K"
    assert schema["label_mapping"] == {"<=50K": 0, ">50K": 1}
    assert schema["features"] == ADULT_FEATURES
    categorical = ["Workclass", "Education", "Marital Status", "Occupation", "Relationship", "Ethnic group"]
    assert sorted(schema["categorical"]) == sorted([*categorical, "Sex", "Country"])
    assert schema["numeric"] == [f for f in ADULT_FEATURES if f not in schema["categorical"]]
    raw = pd.read_csv(preprocessed.input, dtype=str)
    for name, levels in schema["categorical"].items():
        assert levels == sorted(levels)
        assert set(levels) == set(raw[name].str.strip()) - {"?"}, name
    for name in ("validation", "test"):
        assert json.loads((preprocessed.output / name / "schema.json").read_text()) == schema


def test_adult_split_sizes_follow_the_ratios_and_are_stratified(preprocessed):
    raw = pd.read_csv(preprocessed.input)
    n = len(raw)
    overall = (raw["Target"] == ">50K").mean()
    sizes = {}
    for name, ratio in RATIOS.items():
        frame = read_split(preprocessed.output, name)
        sizes[name] = len(frame)
        assert abs(len(frame) - n * ratio) < 1, (name, len(frame), n * ratio)
        assert abs(frame["Target"].mean() - overall) < 1.5 / len(frame) + 1e-4, name
    assert sum(sizes.values()) == n


def test_adult_splits_partition_the_input_rows(preprocessed):
    """Every input row lands in exactly one split (compared on a row fingerprint)."""
    key = ["Age", "Education-Num", "Relationship", "Sex", "Capital Gain", "Capital Loss", "Hours per week"]
    raw = pd.read_csv(preprocessed.input)
    raw["Target"] = (raw["Target"] == ">50K").astype(int)
    parts = pd.concat([read_split(preprocessed.output, name) for name in RATIOS])

    def fingerprints(frame: pd.DataFrame) -> list[str]:
        joined = frame["Target"].astype(str)
        for column in key:
            joined = joined + "|" + frame[column].astype(str)
        return sorted(joined)

    assert len(parts) == len(raw)
    assert fingerprints(parts) == fingerprints(raw)


def test_adult_missing_values_are_written_empty(preprocessed):
    raw = pd.read_csv(preprocessed.input, dtype=str)
    parts = pd.concat([read_split(preprocessed.output, name) for name in RATIOS])
    for column in ("Workclass", "Occupation", "Country"):
        n_missing = int((raw[column].str.strip() == "?").sum())
        assert n_missing > 0
        assert int(parts[column].isna().sum()) == n_missing
        assert not (parts[column] == "?").any()


def test_clarify_csv_is_the_test_split_without_header_and_with_a_missing_token(preprocessed):
    """Missing categoricals are an explicit token for Clarify; everything else is the test split."""
    test_text = (preprocessed.output / "test" / "test.csv").read_text().splitlines()
    clarify_text = (preprocessed.output / "clarify" / "clarify.csv").read_text().splitlines()
    assert test_text[0].split(",")[0] == "Target"
    schema = json.loads((preprocessed.output / "test" / "schema.json").read_text())
    categorical = [i for i, name in enumerate(test_text[0].split(",")) if name in schema["categorical"]]
    expected = []
    for line in test_text[1:]:
        fields = line.split(",")
        expected.append(
            ",".join("__missing__" if i in categorical and f == "" else f for i, f in enumerate(fields))
        )
    assert clarify_text == expected
    assert sum("__missing__" in line for line in clarify_text) > 0


def test_summary_reports_rows_and_positive_rate(preprocessed):
    out = preprocessed.result.stdout
    for name in RATIOS:
        frame = read_split(preprocessed.output, name)
        assert f"{name}: {len(frame)} rows, positive rate {frame['Target'].mean():.4f}" in out


# --- bad inputs: one clear line on stderr, non-zero exit ------------------------------------


def test_missing_target_column_names_the_columns(tmp_path, adult_csv):
    result = preprocess(tmp_path, adult_csv, "--target-column", "Class", "--positive-class", ">50K")
    line = assert_clean_failure(result, "preprocessing", "target column 'Class' not in input columns")
    assert "[Age, Workclass," in line and "Target]" in line
    assert not (tmp_path / "out").exists()


def test_labels_differing_by_a_trailing_dot_are_one_class(tmp_path, adult_csv):
    """adult.test writes '>50K.' and '<=50K.' where adult.data writes '>50K' and '<=50K'."""
    head = adult_csv.read_text().splitlines()[:400]
    dotted = [line.replace(">50K", ">50K.").replace("<=50K", "<=50K.") for line in head[1:50]]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(head + dotted) + "\n")
    result = preprocess(tmp_path, path, "--target-column", "Target", "--positive-class", ">50K")
    assert result.returncode == 0, result.stderr
    schema = json.loads((tmp_path / "out" / "train" / "schema.json").read_text())
    assert schema["label_mapping"] == {"<=50K": 0, ">50K": 1}
    positives = sum(line.rstrip(".").endswith(">50K") for line in head[1:] + dotted)
    labels = pd.concat([read_split(tmp_path / "out", name) for name in RATIOS])["Target"]
    assert (len(labels), int(labels.sum())) == (len(head) - 1 + len(dotted), positives)


def test_unexpected_target_labels(tmp_path, adult_csv):
    head = adult_csv.read_text().splitlines()[:400]
    odd = [line.rsplit(",", 1)[0] + ",unknown" for line in head[1:20]]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(head + odd) + "\n")
    result = preprocess(tmp_path, path, "--target-column", "Target", "--positive-class", ">50K")
    assert_clean_failure(result, "preprocessing", "unexpected target labels", "<=50K", "unknown")


def test_positive_class_absent(tmp_path, adult_csv):
    result = preprocess(tmp_path, adult_csv, "--target-column", "Target", "--positive-class", "yes")
    assert_clean_failure(result, "preprocessing", "positive class 'yes' not found", "'<=50K'")


def test_empty_file(tmp_path):
    path = tmp_path / "data" / "census.csv"
    path.parent.mkdir()
    path.write_text("")
    result = preprocess(tmp_path, path.parent, "--target-column", "Target", "--positive-class", ">50K")
    assert_clean_failure(result, "preprocessing", "input file 'census.csv' is empty")


def test_header_without_rows(tmp_path, adult_csv):
    path = tmp_path / "census.csv"
    path.write_text(adult_csv.read_text().splitlines()[0] + "\n")
    result = preprocess(tmp_path, path, "--target-column", "Target", "--positive-class", ">50K")
    assert_clean_failure(result, "preprocessing", "no data rows")


def test_ratios_must_sum_to_one(tmp_path, adult_csv):
    ratios = ["--train-ratio", "0.7", "--validation-ratio", "0.2", "--test-ratio", "0.2"]
    result = preprocess(tmp_path, adult_csv, "--target-column", "Target", "--positive-class", ">50K", *ratios)
    assert_clean_failure(result, "preprocessing", "ratios must sum to 1", "0.7 + 0.2 + 0.2 = 1.1")


def test_ratios_must_be_positive(tmp_path, adult_csv):
    ratios = ["--train-ratio", "0.85", "--validation-ratio", "0", "--test-ratio", "0.15"]
    result = preprocess(tmp_path, adult_csv, "--target-column", "Target", "--positive-class", ">50K", *ratios)
    assert_clean_failure(result, "preprocessing", "must each be between 0 and 1")


def test_facet_column_missing(tmp_path, adult_csv):
    args = ["--target-column", "Target", "--positive-class", ">50K", "--facet-columns", "Sex,Gender"]
    result = preprocess(tmp_path, adult_csv, *args)
    assert_clean_failure(result, "preprocessing", "facet column 'Gender' not in input columns")


def test_facet_column_dropped(tmp_path, adult_csv):
    args = ["--target-column", "Target", "--positive-class", ">50K", "--facet-columns", "Sex"]
    result = preprocess(tmp_path, adult_csv, *args, "--drop-columns", "fnlwgt,Sex")
    assert_clean_failure(result, "preprocessing", "facet column 'Sex' is also in --drop-columns")


def test_missing_input_directory(tmp_path):
    result = preprocess(
        tmp_path, tmp_path / "nowhere", "--target-column", "Target", "--positive-class", ">50K"
    )
    assert_clean_failure(result, "preprocessing", "does not exist")


def test_bad_stratify_value_is_one_line(tmp_path, adult_csv):
    args = ["--target-column", "Target", "--positive-class", ">50K", "--stratify", "maybe"]
    result = preprocess(tmp_path, adult_csv, *args)
    assert_clean_failure(result, "preprocessing", "--stratify", "expected true or false")


def test_missing_required_argument_is_one_line(tmp_path, adult_csv):
    result = preprocess(tmp_path, adult_csv, "--target-column", "Target")
    assert_clean_failure(result, "preprocessing", "--positive-class")


# --- other inputs: gzip without header, several files, explicit categoricals, drops ---------


def write_gz(path: Path, lines: list[str]) -> None:
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")


def kdd_like_lines(n: int, offset: int = 0) -> list[str]:
    """Rows like the KDD census files: ', ' separators, '?' missing, dotted labels."""
    rows = []
    for i in range(offset, offset + n):
        label = "50000+." if i % 4 == 0 else "- 50000."
        worker = "?" if i % 7 == 0 else ("Private" if i % 2 else "Self-employed")
        rows.append(f"{20 + i % 50}, {worker}, {i % 9}, {1000.5 + i}, Male , {label}")
    return rows


def test_gzip_files_without_header_and_explicit_categoricals(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_gz(data / "b.data.gz", kdd_like_lines(60, offset=60))
    write_gz(data / "a.data.gz", kdd_like_lines(60))  # every file under the input dir is data
    args = [
        "--column-names", "age,class_of_worker,industry_code,instance_weight,sex,income",
        "--target-column", "income", "--positive-class", "50000+.",
        "--categorical-columns", "class_of_worker,industry_code,sex",
        "--drop-columns", "instance_weight", "--facet-columns", "sex",
        "--train-ratio", "0.5", "--validation-ratio", "0.25", "--test-ratio", "0.25", "--seed", "7",
    ]  # fmt: skip
    result = preprocess(tmp_path, data, *args)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    schema = json.loads((out / "train" / "schema.json").read_text())
    assert schema["features"] == ["age", "class_of_worker", "industry_code", "sex"]
    assert schema["label_mapping"] == {"- 50000": 0, "50000+": 1}  # labels without their trailing dot
    assert schema["categorical"] == {
        "class_of_worker": ["Private", "Self-employed"],
        "industry_code": [str(i) for i in range(9)],  # numeric-looking codes kept as categories
        "sex": ["Male"],  # whitespace stripped
    }
    assert schema["numeric"] == ["age"]
    frames = [pd.read_csv(out / s / f"{s}.csv", dtype=str, keep_default_na=False) for s in RATIOS]
    assert [len(f) for f in frames] == [60, 30, 30]
    both = pd.concat(frames)
    assert list(both.columns) == ["income", "age", "class_of_worker", "industry_code", "sex"]
    assert (both["class_of_worker"] == "").sum() == sum(1 for i in range(120) if i % 7 == 0)
    assert (both["income"] == "1").sum() == 30


def test_explicit_categoricals_reject_unlisted_text_column(tmp_path):
    path = tmp_path / "a.csv.gz"
    write_gz(path, kdd_like_lines(40))
    args = [
        "--column-names", "age,class_of_worker,industry_code,instance_weight,sex,income",
        "--target-column", "income", "--positive-class", "50000+.", "--categorical-columns", "sex",
    ]  # fmt: skip
    result = preprocess(tmp_path, path, *args)
    assert_clean_failure(result, "preprocessing", "column 'class_of_worker' has non-numeric value")


def test_column_names_count_must_match(tmp_path):
    path = tmp_path / "a.gz"
    write_gz(path, kdd_like_lines(40))
    result = preprocess(
        tmp_path, path, "--column-names", "a,b,c", "--target-column", "c", "--positive-class", "x"
    )
    assert_clean_failure(result, "preprocessing", "has 6 columns but the column names list 3")


# --- pure functions -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=2_000_000),
    weights=st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=3, max_size=3),
)
def test_split_counts_are_as_close_to_the_ratios_as_rounding_allows(scripts, n, weights):
    ratios = [w / sum(weights) for w in weights]
    counts = scripts.preprocessing.split_counts(n, ratios)
    assert sum(counts) == n
    for count, ratio in zip(counts, ratios, strict=True):
        assert count >= 0
        assert abs(count - n * ratio) < 1
        assert count in (math.floor(n * ratio), math.ceil(n * ratio)) or abs(count - n * ratio) < 1e-6


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(min_value=30, max_value=400),
    positives=st.floats(min_value=0.2, max_value=0.8),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    stratify=st.booleans(),
)
def test_split_frame_gives_exact_disjoint_splits(scripts, n, positives, seed, stratify):
    pp = scripts.preprocessing
    frame = pd.DataFrame({"y": [int(i < n * positives) for i in range(n)], "x": range(n)})
    ratios = (0.6, 0.2, 0.2)
    train, val, test = pp.split_frame(frame, "y", ratios, stratify, seed)
    assert [len(train), len(val), len(test)] == pp.split_counts(n, ratios)
    ids = [*train["x"], *val["x"], *test["x"]]
    assert sorted(ids) == list(range(n))
    if stratify:
        rate = frame["y"].mean()
        for part in (train, val, test):
            assert abs(part["y"].mean() - rate) <= 1.0 / len(part) + 1e-9


def test_split_frame_is_reproducible_with_a_seed(scripts):
    frame = pd.DataFrame({"y": [i % 3 == 0 for i in range(300)], "x": range(300)}).astype({"y": int})
    first = [list(p["x"]) for p in scripts.preprocessing.split_frame(frame, "y", (0.7, 0.15, 0.15), True, 5)]
    again = [list(p["x"]) for p in scripts.preprocessing.split_frame(frame, "y", (0.7, 0.15, 0.15), True, 5)]
    other = [list(p["x"]) for p in scripts.preprocessing.split_frame(frame, "y", (0.7, 0.15, 0.15), True, 6)]
    assert first == again
    assert first != other


@pytest.mark.parametrize(
    ("ratios", "ok"),
    [
        ((0.7, 0.15, 0.15), True),
        ((0.8, 0.1, 0.1000005), True),
        ((0.7, 0.2, 0.2), False),
        ((1.0, 0.0, 0.0), False),
    ],
)
def test_check_ratios(scripts, ratios, ok):
    pp = scripts.preprocessing
    if ok:
        pp.check_ratios(ratios)
    else:
        with pytest.raises(pp.InputError):
            pp.check_ratios(ratios)


def test_clean_strings_strips_and_marks_missing(scripts):
    raw = pd.DataFrame(
        {"a": [" x", "?", "  ", "", " y ", None], "b": ["1", " 2", "?", "3 ", "4", "5"]}, dtype=object
    )
    clean = scripts.preprocessing.clean_strings(raw)
    assert clean["a"].tolist()[:1] == ["x"] and clean["a"].tolist()[4] == "y"
    assert clean["a"].isna().tolist() == [False, True, True, True, False, True]
    numbers = scripts.preprocessing.numeric_or_none(clean["b"])
    assert numbers.tolist()[:2] == [1, 2] and math.isnan(numbers[2])
    assert scripts.preprocessing.numeric_or_none(clean["a"]) is None


def test_prepare_auto_categoricals_use_is_numeric_dtype(scripts):
    raw = pd.DataFrame(
        {"num": ["1", "2.5", "?"], "text": ["a", "b", "a"], "t": ["no", "yes", "no"]},
        dtype="string" if hasattr(pd, "StringDtype") else object,
    )
    frame, schema = scripts.preprocessing.prepare(raw, "t", "yes")
    assert schema["categorical"] == {"text": ["a", "b"]}
    assert schema["numeric"] == ["num"]
    assert frame["t"].tolist() == [0, 1, 0]
    assert list(frame.columns) == ["t", "num", "text"]


def test_parse_list_and_bool(scripts):
    common = scripts.step_common
    assert common.parse_list(" a, b ,,c ") == ["a", "b", "c"]
    assert common.parse_list("") == []
    assert [common.parse_bool(v) for v in ("true", "False", "YES", "0")] == [True, False, True, False]


# --- the data options the compiler writes to --config -------------------------------------

EXAMPLE_DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


def adult_config(**changes) -> dict:
    """What the compiler writes for the census spec reading adult.data + adult.test as published."""
    return {
        "target_column": "Target",
        "positive_class": [">50K", ">50K."],
        "header": False,
        "column_names": ADULT_COLUMNS,
        "comment": "|",
        "categorical_columns": "auto",
        "drop_columns": ["fnlwgt"],
        "split": {"train": 0.8, "validation": 0.1, "test": 0.1},
        "stratify": True,
        "seed": 42,
        "facet_columns": ["Sex"],
        "explain_rows": 500,
    } | changes


def published_adult(tmp_path: Path) -> Path:
    """adult.data and adult.test as the compiler stages two inputs: numbered folders, no suffix."""
    data = tmp_path / "data"
    for i, name in enumerate(("adult.data", "adult.test"), start=1):
        (data / str(i)).mkdir(parents=True)
        (data / str(i) / name).write_bytes(gzip.decompress((EXAMPLE_DATA / f"{name}.gz").read_bytes()))
    return data


def run_with_config(tmp_path: Path, data: Path, config: dict) -> object:
    path = tmp_path / "preprocessing.json"
    path.write_text(json.dumps(config))
    return preprocess(tmp_path, data, "--config", str(path))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("published")
    result = run_with_config(tmp_path, published_adult(tmp_path), adult_config())
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(out=tmp_path / "out", result=result)


def test_the_published_adult_files_read_as_one_table(published):
    assert "read 48842 rows from 2 file(s)" in published.result.stdout
    schema = json.loads((published.out / "train" / "schema.json").read_text())
    assert schema["label_mapping"] == {"<=50K": 0, ">50K": 1}
    assert schema["positive_class"] == ">50K"
    assert schema["features"] == [c for c in ADULT_COLUMNS if c not in ("fnlwgt", "Target")]
    frames = [read_split(published.out, name) for name in RATIOS]
    assert sum(len(f) for f in frames) == 48842
    assert int(sum(f["Target"].sum() for f in frames)) == 11687  # 7841 in adult.data + 3846 in adult.test


def test_the_explain_sample_is_a_stratified_subset_of_the_clarify_rows(published):
    clarify = (published.out / "clarify" / "clarify.csv").read_text().splitlines()
    explain = (published.out / "explain" / "explain.csv").read_text().splitlines()
    assert len(explain) == 500 and set(explain) <= set(clarify)
    rate = sum(line.startswith("1,") for line in clarify) / len(clarify)
    assert abs(sum(line.startswith("1,") for line in explain) / 500 - rate) < 0.005
    assert "explain: 500 of 4884 test rows (stratified sample)" in published.result.stdout


def test_unknown_config_keys_fail(tmp_path, adult_csv):
    config = adult_config(header=True, comment=None, explain_rows=None, columns=["x"])
    result = run_with_config(tmp_path, adult_csv, config)
    assert_clean_failure(result, "preprocessing", "has unknown keys ['columns']")


def test_clarify_rows_predict_exactly_as_the_test_rows(preprocessed, trained, scripts):
    """The missing-category token changes nothing the model sees."""
    common = scripts.step_common
    model = common.load_model(trained.model_dir)
    schema = model.schema
    test = pd.read_csv(
        preprocessed.output / "test" / "test.csv",
        dtype={n: str for n in schema["categorical"]},
        keep_default_na=False,
        na_values=[""],
    )
    clarify = pd.read_csv(
        preprocessed.clarify_csv,
        header=None,
        names=list(test.columns),
        dtype={n: str for n in schema["categorical"]},
        keep_default_na=False,
        na_values=[""],
    )
    assert (clarify == "__missing__").to_numpy().any()
    before = model.booster.predict(common.to_model_frame(test, schema))
    after = model.booster.predict(common.to_model_frame(clarify, schema))
    assert (before == after).all()
