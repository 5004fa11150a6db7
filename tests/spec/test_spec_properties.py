"""Property tests: the validator's verdict follows the documented rule for every input, and never crashes.

Each oracle restates a rule from the spec documentation (not the implementation's code path), and
every input goes through the whole validator (``spec_from_document``), so findings are checked for
the path they report too.
"""

from __future__ import annotations

import contextlib
import math
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from spec_helpers import base_data, edited, findings_of, validate_data

from lgbm_pipeline_compiler.errors import SpecError
from lgbm_pipeline_compiler.spec import spec_from_document
from lgbm_pipeline_compiler.spec.loader import parse_yaml, render_template

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALINGS = ["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]


def _verdict(data: dict[str, Any]) -> tuple[bool, list[str]]:
    """(accepted, finding paths) for a spec given as data; anything but SpecError propagates."""
    try:
        validate_data(data)
    except SpecError as err:
        return False, [f.path for f in err.findings]
    return True, []


# --- split ratios ---------------------------------------------------------------------------------

ratio = st.one_of(
    st.floats(min_value=-0.5, max_value=1.5),
    st.sampled_from([0.0, 1.0, math.nan, math.inf, -math.inf]),
)


@st.composite
def near_valid_ratios(draw) -> tuple[float, float, float]:
    """Two ratios in (0, 1) and a third that makes (or nearly makes) the sum 1."""
    train = draw(st.floats(min_value=0.01, max_value=0.98))
    validation = draw(st.floats(min_value=0.005, max_value=(1 - train) * 0.999))
    noise = draw(st.sampled_from([0.0, 0.0, 1e-12, -1e-12, 1e-10, 1e-8, -1e-8, 1e-3]))
    return train, validation, 1 - train - validation + noise


@PROPERTY
@given(st.one_of(st.tuples(ratio, ratio, ratio), near_valid_ratios()))
@example((0.8, 0.1, 0.1))
@example((0.7, 0.2, 0.1))  # 0.7 + 0.2 + 0.1 == 0.9999999999999999 in binary floating point
@example((1 / 3, 1 / 3, 1 / 3))
@example((0.8, 0.2, 0.0))
@example((0.8, 0.1, 0.1 + 2e-9))
def test_split_accepted_iff_each_in_open_unit_interval_and_sum_is_one(ratios):
    train, validation, test = ratios
    data = base_data()
    data["data"]["split"] = {"train": train, "validation": validation, "test": test}
    accepted, paths = _verdict(data)
    expected = all(0 < r < 1 for r in ratios) and abs(train + validation + test - 1) <= 1e-9
    assert accepted == expected, (ratios, paths)
    assert all(p.startswith("data.split") for p in paths), paths


# --- integer ranges -------------------------------------------------------------------------------


@PROPERTY
@given(
    low=st.integers(min_value=-1000, max_value=1000),
    high=st.integers(min_value=-1000, max_value=1000),
    scaling=st.sampled_from(SCALINGS),
)
@example(low=1, high=1, scaling="Logarithmic")
@example(low=0, high=5, scaling="Logarithmic")
@example(low=5, high=4, scaling="Linear")
def test_integer_range_accepted_iff_ordered_and_fits_scaling(low, high, scaling):
    """A hyperparameter LightGBM does not document: only the range's own rules apply."""
    data = base_data()
    data["tuning"]["ranges"]["my_integer"] = {
        "type": "integer",
        "min": low,
        "max": high,
        "scaling": scaling,
    }
    accepted, paths = _verdict(data)
    expected = low <= high and scaling != "ReverseLogarithmic" and (scaling != "Logarithmic" or low > 0)
    assert accepted == expected, paths
    assert all(p.startswith("tuning.ranges.my_integer.") for p in paths), paths


@PROPERTY
@given(
    low=st.one_of(st.integers(min_value=-5, max_value=200_000), st.sampled_from([2**31, 10**19])),
    high=st.one_of(st.integers(min_value=-5, max_value=200_000), st.sampled_from([2**31, 10**19])),
)
@example(low=1, high=10)
@example(low=2, high=131072)
@example(low=2, high=131073)
@example(low=2, high=10**19)
def test_num_leaves_range_accepted_iff_within_lightgbm_constraint(low, high):
    """LightGBM's Parameters.rst: num_leaves is an int with 1 < num_leaves <= 131072."""
    data = base_data()
    data["tuning"]["ranges"]["num_leaves"] = {"type": "integer", "min": low, "max": high}
    accepted, paths = _verdict(data)
    assert accepted == (1 < low <= high <= 131072), paths
    assert all(p.startswith("tuning.ranges.num_leaves.") for p in paths), paths
    if low <= high:  # ordered: each bound outside the constraint is reported at that bound
        outside = [end for end, v in (("min", low), ("max", high)) if not 1 < v <= 131072]
        assert sorted(paths) == [f"tuning.ranges.num_leaves.{end}" for end in sorted(outside)]


# --- continuous ranges ----------------------------------------------------------------------------

bound = st.one_of(
    st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, 0.999999, 1e-300, -1e-300]),
)


@PROPERTY
@given(low=bound, high=bound, scaling=st.sampled_from(SCALINGS))
@example(low=0.0, high=0.5, scaling="ReverseLogarithmic")
@example(low=0.2, high=1.0, scaling="ReverseLogarithmic")
@example(low=-0.0, high=0.5, scaling="Logarithmic")
def test_continuous_range_accepted_iff_ordered_and_fits_scaling(low, high, scaling):
    """A hyperparameter LightGBM does not document: only the range's own rules apply."""
    data = base_data()
    data["tuning"]["ranges"]["my_rate"] = {
        "type": "continuous",
        "min": low,
        "max": high,
        "scaling": scaling,
    }
    accepted, paths = _verdict(data)
    expected = (
        low <= high
        and (scaling != "Logarithmic" or low > 0)
        and (scaling != "ReverseLogarithmic" or (low >= 0 and high < 1))
    )
    assert accepted == expected, paths
    assert all(p.startswith("tuning.ranges.my_rate.") for p in paths), paths


@PROPERTY
@given(low=bound, high=bound)
@example(low=0.0, high=0.5)
@example(low=1e-300, high=1.0)
def test_learning_rate_range_accepted_iff_positive(low, high):
    """LightGBM's Parameters.rst: learning_rate > 0.0."""
    data = base_data()
    data["tuning"]["ranges"]["learning_rate"] = {"type": "continuous", "min": low, "max": high}
    accepted, paths = _verdict(data)
    assert accepted == (0 < low <= high), paths


# --- S3 URIs --------------------------------------------------------------------------------------

_BUCKET_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.-"
uri_like = st.one_of(
    st.text(max_size=80),
    st.text(max_size=60).map(lambda s: "s3://" + s),
    st.builds(
        lambda bucket, key: f"s3://{bucket}/{key}",
        st.text(alphabet=_BUCKET_CHARS + "A_ /", min_size=0, max_size=70),
        st.text(max_size=40),
    ),
    st.builds(
        lambda bucket, segments: f"s3://{bucket}/{'/'.join(segments)}",
        st.sampled_from(["bucket", "10.0.0.1", "xn--abc", "sthree-x", "abc-s3alias", "a.mrap", "1.2.3"]),
        st.lists(st.sampled_from([".", "..", "a", "b.c", "a\\b", "", "…"]), max_size=4),
    ),
)


_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _valid_s3(uri: str) -> bool:
    """The documented rules (S3 bucket naming rules and object key guidelines): s3://bucket[/key],
    bucket 3-63 of [a-z0-9.-] starting and ending with a letter or digit, without '..', not an IP
    address, no reserved prefix or suffix; a key of at most 1024 UTF-8 bytes without whitespace,
    control characters or backslashes, no empty, '.' or '..' path segment."""
    if not uri.startswith("s3://"):
        return False
    bucket, _, key = uri[5:].partition("/")
    return (
        3 <= len(bucket) <= 63
        and all(c in _BUCKET_CHARS for c in bucket)
        and bucket[0] not in ".-"
        and bucket[-1] not in ".-"
        and ".." not in bucket
        and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket)
        and not bucket.startswith(_RESERVED_PREFIXES)
        and not bucket.endswith(_RESERVED_SUFFIXES)
        and not re.search(r"\s", key)
        and not any(unicodedata.category(c) == "Cc" for c in key)
        and "\\" not in key
        and len(key.encode("utf-8")) <= 1024
        and "//" not in uri[5:]
        and not any(segment in (".", "..") for segment in key.split("/"))
    )


@PROPERTY
@given(uri=uri_like)
@example(uri="s3://bucket/")
@example(uri="s3://bucket\u00a0name/")
@example(uri="s3://192.168.5.4/data")
@example(uri="s3://xn--bucket/data")
@example(uri="s3://my-bucket--x-s3/data")
@example(uri="s3://bucket/a/../b")
@example(uri="s3://bucket/./b")
@example(uri="s3://bucket/a\\b")
@example(uri="s3://bucket/" + "k" * 1024)
@example(uri="s3://bucket/" + "k" * 1025)
@example(uri="s3://bucket/" + "é" * 512)
@example(uri="s3://bucket/" + "é" * 513)
def test_random_s3_uris_never_crash_and_follow_the_rule(uri):
    assume(not uri.endswith("\n"))  # a known bug, see test_trailing_newline_is_not_a_valid_uri_or_arn
    data = base_data()
    data["storage"]["write"] = uri
    try:
        spec = validate_data(data)
    except SpecError as err:
        assert [f.path for f in err.findings] == ["storage.write"]
        assert not _valid_s3(uri), uri
    else:
        assert _valid_s3(uri), uri
        assert spec.storage.write == uri.rstrip("/")
        assert spec.storage.write_bucket == uri[5:].split("/", 1)[0]


@PROPERTY
@given(key=st.text(max_size=60))
def test_random_relative_inputs_never_crash(key):
    """A relative `data.input` is joined to storage.read; whatever the text, the verdict is a finding
    on data.input or a well-formed input URI."""
    assume(not key.endswith("\n"))  # a known bug, see test_trailing_newline_is_not_a_valid_uri_or_arn
    data = base_data()
    data["data"]["input"] = key
    try:
        spec = validate_data(data)
    except SpecError as err:
        assert [f.path for f in err.findings] == ["data.input"]
    else:
        assert _valid_s3(spec.input_uri)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("storage", "write"),
        ("pipeline", "role_arn"),
        ("pipeline", "region"),
        ("deploy", "lambda_arn"),
        ("deploy", "endpoint_name"),
    ],
)
def test_trailing_newline_is_not_a_valid_uri_or_arn(section, key):
    data = base_data()
    data[section][key] += "\n"
    assert [f.path for f in findings_of(data)] == [f"{section}.{key}"]


# --- several independent problems ------------------------------------------------------------------

EDITS = {
    "pipeline.role_arn": ("role/SageMakerExecutionRole", "user/me"),
    "storage.write": ("write: s3://lgbm-pipelines", "write: s3://LGBM-pipelines"),
    "data.split": ("validation: 0.1,", "validation: 0.3,"),
    "preprocessing.instance_type": (
        "preprocessing:\n  instance_type: ml.m5.xlarge",
        "preprocessing:\n  instance_type: ml.x",
    ),
    "tuning.max_jobs": ("max_jobs: 20", "max_jobs: 0"),
    "tuning.objective.regex": ('regex: "validation-f1: ([0-9\\\\.]+)"', 'regex: "f1: [0-9.]+"'),
    "quality_gate.threshold": ("threshold: 0.68", "threshold: 7"),
    "registry.model_package_group": ("model_package_group: census-income-lgbm", "model_package_group: _x"),
    "deploy.endpoint_name": ("endpoint_name: census-income-dev", "endpoint_name: census_dev"),
}


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(sorted(EDITS)), min_size=1))
def test_every_section_problem_is_reported_once_and_sorted(chosen):
    text = edited(*EDITS[sorted(chosen)[0]])
    for path in sorted(chosen)[1:]:
        old, new = EDITS[path]
        assert text.count(old) == 1
        text = text.replace(old, new)
    findings = findings_of(text)
    assert sorted(f.path for f in findings) == sorted(chosen)
    positions = [(f.line, f.col) for f in findings]
    assert positions == sorted(positions)


def test_each_edit_alone_is_one_finding_at_its_path():
    for path, (old, new) in EDITS.items():
        assert [f.path for f in findings_of(edited(old, new))] == [path]


# --- the loader never crashes -------------------------------------------------------------------

yaml_ish = st.text(alphabet=st.sampled_from(list("ab:-[]{},&*!#'\"|>?%@` \n\t01.~")), max_size=120)


@PROPERTY
@given(text=st.one_of(st.text(max_size=120), yaml_ish))
def test_random_text_is_parsed_or_reported(text):
    try:
        spec_from_document(parse_yaml(text, "f.yaml"))
    except SpecError as err:
        assert err.findings and all(f.line >= 1 and f.col >= 1 for f in err.findings)
    else:
        pytest.fail(f"{text!r} validated as a spec")


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    tag=st.sampled_from(["!!int", "!!float", "!!bool", "!!timestamp", "!!null", "!!str"]),
    value=st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=10),
)
def test_explicitly_tagged_scalars_are_parsed_or_reported(tag, value):
    with contextlib.suppress(SpecError):
        parse_yaml(f"a: {tag} {value}\n", "f.yaml")


@PROPERTY
@given(value=st.text(max_size=40))
def test_variable_values_render_verbatim(value):
    """--var values are inserted as text, never evaluated as template code."""
    assert render_template("x{{ v }}x", "f.yaml", {"v": value}) == f"x{value}x"


@PROPERTY
@given(x=st.floats(allow_nan=True, allow_infinity=True))
def test_gate_threshold_accepted_iff_within_metric_range(x):
    data = base_data()
    data["quality_gate"]["threshold"] = x
    accepted, paths = _verdict(data)
    assert accepted == (not math.isnan(x) and 0 <= x <= 1), paths
    assert paths in ([], ["quality_gate.threshold"])


# --- tags -------------------------------------------------------------------------------------------


def _tag_text_ok(text: str, maximum: int) -> bool:
    """SageMaker's Tag pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]* and length limit."""
    return len(text) <= maximum and all(c in "_.:/=+-@" or unicodedata.category(c)[0] in "LZN" for c in text)


tag_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(categories=["L", "N", "Zs"]), max_size=300),
    st.sampled_from(["aws:x", "AWS:x", "Aws:", "aws", "a\tb", "a\u2028b", "é 1", ""]),
)


@PROPERTY
@given(key=tag_text, value=tag_text)
@example(key="k" * 128, value="v" * 256)
@example(key="k" * 129, value="v")
@example(key="team", value="v" * 257)
def test_tag_accepted_iff_sagemaker_tag_rules(key, value):
    """Key 1-128 and value 0-256 characters of the Tag pattern; keys do not start with aws:."""
    data = base_data()
    data["pipeline"]["tags"] = {key: value}
    accepted, paths = _verdict(data)
    expected = (
        len(key) >= 1
        and _tag_text_ok(key, 128)
        and not key.lower().startswith("aws:")
        and _tag_text_ok(value, 256)
    )
    assert accepted == expected, (key, value, paths)
    assert all(p.startswith("pipeline.tags") for p in paths), paths


# --- numbers are taken as written -----------------------------------------------------------------

INTEGER_FIELDS = [
    ("training", "instance_count"),
    ("training", "volume_size_gb"),
    ("tuning", "max_jobs"),
    ("tuning", "max_parallel_jobs"),
    ("preprocessing", "instance_count"),
    ("data", "seed"),
]


@pytest.mark.parametrize(("section", "key"), INTEGER_FIELDS)
@pytest.mark.parametrize("value", [True, False, "1", "2", 1.0, 2.0])
def test_integer_fields_take_only_integers(section, key, value):
    """A boolean, a quoted number or a float is never taken as an integer."""
    data = base_data()
    data[section][key] = value
    assert [f.path for f in findings_of(data)] == [f"{section}.{key}"]


@pytest.mark.parametrize("value", [True, "0.7", float("nan"), float("inf")])
def test_gate_threshold_takes_only_finite_numbers(value):
    data = base_data()
    data["quality_gate"]["threshold"] = value
    assert [f.path for f in findings_of(data)] == ["quality_gate.threshold"]
