"""Spec-layer tests: the checks across sections (Clarify columns and facets, inputs against
storage, parameter paths), their order, and the messages with their did-you-mean suggestions."""

from __future__ import annotations

import warnings

import pytest
from pydantic import ValidationError
from spec_helpers import (
    base_data,
    edited,
    findings_of,
    one_finding,
    validate_data,
    validate_text,
)

from lgbm_pipeline_compiler.errors import Finding, SpecError, dotted
from lgbm_pipeline_compiler.spec.data import SplitRatios
from lgbm_pipeline_compiler.spec.messages import allowed_keys, data_loc
from lgbm_pipeline_compiler.spec.parameters import EXPOSABLE
from lgbm_pipeline_compiler.spec.root import PipelineSpec

# --- cross-section checks -------------------------------------------------------------------------


def test_clarify_needs_columns():
    data = base_data()
    del data["data"]["columns"]
    del data["data"]["drop_columns"]
    finding = one_finding(data)
    assert finding.path == "clarify"
    assert "clarify needs data.columns" in finding.message


def test_clarify_needs_a_check():
    data = base_data()
    data["clarify"] = {"instance_count": 1}
    assert one_finding(data).format() == (
        "t.yaml:1:1: clarify: clarify needs a `bias` or an `explainability` section (or remove `clarify`)"
    )


def test_clarify_explainability_alone_is_fine():
    data = base_data()
    data["clarify"] = {"explainability": {}}
    spec = validate_data(data)
    assert spec.clarify.bias is None and spec.clarify.explainability.shap.agg_method == "mean_abs"


@pytest.mark.parametrize(
    ("group", "message"),
    [
        ("Age", None),
        ("Target", "'Target' is the target column, not a facet"),
        ("fnlwgt", "column 'fnlwgt' is in data.drop_columns; the bias check needs it"),
        ("Educaton", "column 'Educaton' is not in data.columns; did you mean 'Education'?"),
    ],
)
def test_bias_group_name_is_checked_like_the_facet(group, message):
    data = base_data()
    data["clarify"]["bias"]["group_name"] = group
    if message is None:
        assert validate_data(data).clarify.bias.group_name == group
    else:
        finding = one_finding(data)
        assert (finding.path, finding.message) == ("clarify.bias.group_name", message)


def test_facet_that_is_the_target():
    finding = one_finding(edited("facet_name: Sex", "facet_name: Target"))
    assert (
        finding.format()
        == "t.yaml:39:17: clarify.bias.facet_name: 'Target' is the target column, not a facet"
    )


def test_unknown_categorical_column_did_you_mean():
    finding = one_finding(
        edited(
            "  drop_columns: [fnlwgt]\n", "  drop_columns: [fnlwgt]\n  categorical_columns: [Sex, Workclas]\n"
        )
    )
    assert finding.format() == (
        "t.yaml:17:30: data.categorical_columns[1]: column 'Workclas' is not in data.columns; "
        "did you mean 'Workclass'?"
    )


def test_full_s3_input_does_not_need_storage_read():
    data = base_data()
    del data["storage"]["read"]
    data["data"]["input"] = "s3://my-bucket/adult.csv"
    spec = validate_data(data)
    assert spec.input_uri == "s3://my-bucket/adult.csv"


def test_relative_input_is_joined_to_storage_read():
    data = base_data()
    data["data"]["input"] = "/sub/dir/adult.csv"
    assert (
        validate_data(data).input_uri
        == "s3://sagemaker-sample-files/datasets/tabular/uci_adult/sub/dir/adult.csv"
    )


def test_relative_input_with_a_space_is_reported_on_data_input():
    data = base_data()
    data["data"]["input"] = "my file.csv"
    finding = one_finding(data)
    assert finding.path == "data.input" and "is not a valid S3 URI" in finding.message


@pytest.mark.parametrize("value", ["S3://bucket/x.csv", "https://example.com/x.csv"])
def test_input_that_looks_like_a_uri_is_quoted_as_written(value):
    data = base_data()
    data["data"]["input"] = value
    finding = one_finding(data)
    assert finding.path == "data.input"
    assert f"'{value}'" in finding.message
    assert "sagemaker-sample-files" not in finding.message


def test_parameter_paths():
    data = base_data()
    data["parameters"] = {
        "A": "quality_gate.threshold",
        "B": "quality_gate.threshold",
        "C": "nothing.like.it",
    }
    findings = findings_of(data)
    assert [(f.path, f.message) for f in findings] == [
        ("parameters.B", "'quality_gate.threshold' is already exposed as 'A'"),
        (
            "parameters.C",
            f"'nothing.like.it' cannot be a pipeline parameter; exposable paths: {', '.join(EXPOSABLE)}",
        ),
    ]


def test_parameter_for_absent_subsection_names_the_first_missing_part():
    data = base_data()
    data["clarify"] = {"explainability": {}}
    data["parameters"] = {"SkipBias": "clarify.bias.baseline.skip_check"}
    assert one_finding(data).message == (
        "'clarify.bias.baseline.skip_check' is exposed but `clarify.bias` is not in the spec"
    )


def test_parameter_for_absent_section():
    data = base_data()
    del data["deploy"]
    data["parameters"] = {"EndpointInstanceType": "deploy.instance_type"}
    assert one_finding(data).message == "'deploy.instance_type' is exposed but `deploy` is not in the spec"


def test_every_exposable_path_resolves_on_a_full_spec(census):
    from lgbm_pipeline_compiler.spec.batch_transform import BatchTransformSection

    full = census.model_copy(update={"batch_transform": BatchTransformSection()})
    for path in EXPOSABLE:
        full.value_at(path)  # raises AttributeError if a path names no field


def test_cross_checks_run_only_after_sections_validate():
    """Staged validation: a section error hides cross-section problems until it is fixed."""
    text = edited("facet_name: Sex", "facet_name: Gender").replace("threshold: 0.68", "threshold: 2")
    assert [f.path for f in findings_of(text)] == ["quality_gate.threshold"]
    assert [f.path for f in findings_of(text.replace("threshold: 2", "threshold: 0.5"))] == [
        "clarify.bias.facet_name"
    ]


# --- messages and did-you-mean --------------------------------------------------------------------


def test_allowed_keys():
    assert allowed_keys(PipelineSpec, ()) == sorted(PipelineSpec.model_fields)
    assert allowed_keys(PipelineSpec, ("tuning", "objective")) == ["name", "regex", "type"]
    assert allowed_keys(PipelineSpec, ("clarify", "bias", "baseline")) == [
        "fail_on_violation",
        "register_new_baseline",
        "skip_check",
        "supplied_constraints",
    ]


@pytest.mark.parametrize(
    ("section", "typo", "suggestion"),
    [
        ("tuning", "max_job", "max_jobs"),
        ("tuning", "objectiv", "objective"),
        ("data", "dropcolumns", "drop_columns"),
        ("quality_gate", "treshold", "threshold"),
        ("storage", "writes", "write"),
    ],
)
def test_unknown_key_did_you_mean(section, typo, suggestion):
    data = base_data()
    data[section][typo] = data[section].get(suggestion, 1)
    messages = {f.path: f.message for f in findings_of(data)}
    assert messages[f"{section}.{typo}"] == f"unknown key {typo!r}; did you mean {suggestion!r}?"


def test_unknown_key_without_close_match_lists_allowed_keys():
    data = base_data()
    data["quality_gate"]["zzz"] = 1
    assert one_finding(data).message == "unknown key 'zzz'; allowed keys: comparison, metric, threshold"


def test_unknown_key_inside_a_range_keeps_the_data_path():
    finding = one_finding(edited("max: 400}", "max: 400, sclaing: Linear}"))
    assert (
        finding.format()
        == "t.yaml:32:54: tuning.ranges.n_estimators.sclaing: unknown key 'sclaing'; did you mean 'scaling'?"
    )


def test_did_you_mean_in_integer_range_offers_only_integer_keys():
    finding = one_finding(edited("max: 400}", "max: 400, vals: [1]}"))
    assert finding.path == "tuning.ranges.n_estimators.vals"
    assert "values" not in finding.message


def test_data_loc_drops_union_tags_and_keeps_missing_keys():
    data = {"tuning": {"ranges": {"lr": {"type": "continuous"}}}}
    assert data_loc(data, ("tuning", "ranges", "lr", "continuous", "min"), keep_last=True) == (
        "tuning",
        "ranges",
        "lr",
        "min",
    )
    assert data_loc(data, ("tuning", "ranges", "lr", "continuous", "min")) == ("tuning", "ranges", "lr")
    assert data_loc({"a": [{"b": 1}]}, ("a", 0, "b")) == ("a", 0, "b")
    assert data_loc({"a": [1]}, ("a", 3)) == ("a",)


def test_dotted():
    assert dotted(("clarify", "bias", "facet_values", 0)) == "clarify.bias.facet_values[0]"
    assert dotted(()) == ""
    assert dotted((0, "a")) == "[0].a"


def test_missing_key_inside_a_range():
    finding = one_finding(edited("{type: integer, min: 10, max: 400}", "{type: integer, min: 10}"))
    assert finding.format() == "t.yaml:32:19: tuning.ranges.n_estimators.max: required key is missing"


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        (
            "    facet_values: [Female]\n",
            "    facet_values: [Female]\n    methods: [DPPL, XYZ]\n",
            "clarify.bias.methods[1]",
        ),
        (
            "early_stopping_rounds: 50",
            "early_stopping_rounds: [50]",
            "training.hyperparameters.early_stopping_rounds",
        ),
    ],
    ids=["methods", "hyperparameter"],
)
def test_union_values_give_one_finding(old, new, path):
    findings = findings_of(edited(old, new))
    assert [f.path for f in findings] == [path]


def test_empty_columns_list_is_rejected_on_data_columns():
    data = base_data()
    data["data"]["columns"] = []
    assert [f.path for f in findings_of(data)] == ["data.columns"]


def test_yaml_11_words_as_keys_stay_text():
    spec = validate_text(edited("  region: us-east-1\n", "  region: us-east-1\n  tags: {on: x, null: y}\n"))
    assert spec.pipeline.tags == {"on": "x", "null": "y"}


@pytest.mark.parametrize(
    ("low", "high"),
    [(".nan", "0.5"), ("0.001", ".inf"), ("0.001", ".nan")],
)
def test_non_finite_range_bounds_are_rejected(low, high):
    text = edited("min: 0.0001, max: 0.5", f"min: {low}, max: {high}")
    assert findings_of(text)[0].path.startswith("tuning.ranges.learning_rate")


# --- findings: format and order -------------------------------------------------------------------


def test_finding_format():
    assert Finding("a.yaml", 3, 7, "data.split", "bad").format() == "a.yaml:3:7: data.split: bad"
    assert Finding("a.yaml", 1, 1, "", "the spec is empty").format() == "a.yaml:1:1: the spec is empty"


def test_spec_error_sorts_findings_by_position():
    findings = [
        Finding("b.yaml", 1, 1, "x", "m"),
        Finding("a.yaml", 10, 2, "z", "m"),
        Finding("a.yaml", 2, 9, "y", "m"),
        Finding("a.yaml", 2, 3, "y", "n"),
        Finding("a.yaml", 2, 3, "y", "m"),
    ]
    err = SpecError(findings)
    assert [(f.file, f.line, f.col, f.message) for f in err.findings] == [
        ("a.yaml", 2, 3, "m"),
        ("a.yaml", 2, 3, "n"),
        ("a.yaml", 2, 9, "m"),
        ("a.yaml", 10, 2, "m"),
        ("b.yaml", 1, 1, "m"),
    ]
    assert str(err).splitlines()[0] == "a.yaml:2:3: y: m"


def test_all_section_errors_are_reported_at_once_in_file_order():
    text = (
        edited("max_jobs: 20", "max_jobs: 0")
        .replace("threshold: 0.68", "threshold: 7")
        .replace("role/SageMakerExecutionRole", "user/me")
        .replace("validation: 0.1", "validation: 0.3")
    )
    findings = findings_of(text)
    assert [f.path for f in findings] == [
        "pipeline.role_arn",
        "data.split",
        "tuning.max_jobs",
        "quality_gate.threshold",
    ]
    assert [f.line for f in findings] == sorted(f.line for f in findings)


def test_split_ratio_model_directly():
    assert SplitRatios(train=0.7, validation=0.2, test=0.1).train == 0.7
    with pytest.raises(ValidationError, match=r"must sum to 1 \(got 0.9\)"):
        SplitRatios(train=0.7, validation=0.1, test=0.1)


def test_objective_regex_emits_no_python_warning():
    text = edited('regex: "validation-f1: ([0-9\\\\.]+)"', 'regex: "validation-f1: ([[0-9.]+)"')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validate_text(text)
    assert [str(w.message) for w in caught] == []


def test_instance_type_cache_equals_botocore_enums(tmp_path, monkeypatch):
    """The cached enums are botocore's own, and a cold cache is rebuilt from botocore."""
    from lgbm_pipeline_compiler.spec import instance_types

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    instance_types._enums.cache_clear()
    try:
        fresh = instance_types._enums()
        assert instance_types._cache_file().is_file()
        instance_types._enums.cache_clear()
        assert instance_types._enums() == fresh
        direct = instance_types._from_botocore()
        assert {k: frozenset(v) for k, v in direct.items()} == fresh
        assert "ml.m5.xlarge" in fresh["processing"] and "ml.m5.large" in fresh["inference"]
    finally:
        instance_types._enums.cache_clear()


# --- hardening helpers (issue 15) ------------------------------------------------------------------


def test_printable_escapes_what_would_break_a_line_or_drive_a_terminal():
    from lgbm_pipeline_compiler.spec.messages import printable

    assert printable("a\nb\x1b[31m\u202ec") == "a\\nb\\x1b[31m\\u202ec"
    assert printable("Équipe données 機械") == "Équipe données 機械"


@pytest.mark.parametrize(
    ("regex", "body"),
    [
        ("validation-f1: ([0-9\\.]+)", "[0-9\\.]+"),
        ("(?:a)(?P<n>[0-9]+)", "[0-9]+"),
        ("(?i)x: ([0-9.]+)", "[0-9.]+"),
        ("[(]x[)]: (\\d+)", "\\d+"),
        ("([]a)]+)", "[]a)]+"),
        ("(?<=x)(\\d+)", "\\d+"),
        ("a(b(c)d)e", "b(c)d"),
        ("no group", None),
    ],
)
def test_first_group_body(regex, body):
    from lgbm_pipeline_compiler.spec.objective import first_group_body

    assert first_group_body(regex) == body


@pytest.mark.parametrize(
    ("regex", "nested"),
    [
        ("(a+)+", True),
        ("(?:\\d+\\.?)*", True),
        ("(?:x+x+)+y", True),
        ("(a|b+)*", True),
        ("(?:a{1,20}){1,20}", True),
        ("(a+){1,3}", True),
        ("(ab)+", False),
        ("(a{3})+", False),
        ("(a+){2}", False),
        ("(?:[0-9]{1,3}\\.?){1,4}", False),
        ("validation-f1: ([0-9.]+)", False),
    ],
)
def test_nested_quantifiers_are_found(regex, nested):
    from lgbm_pipeline_compiler.spec.objective import nested_quantifier, sre_parse

    assert nested_quantifier(sre_parse.parse(regex)) is nested


def test_lightgbm_domain_text_and_problems():
    from lgbm_pipeline_compiler.spec.lightgbm import domain_of

    leaves = domain_of("num_leaves")
    assert leaves.text() == "(1, 131072]" and domain_of("learning_rate").text() == "(0, inf)"
    assert leaves.problem(2) is None and leaves.problem(31.0) is None
    assert "below" in leaves.problem(1) and "above" in leaves.problem(131073)
    assert leaves.problem(True) == "a boolean is not a number" and "not an integer" in leaves.problem(2.5)
    assert domain_of("learning_rate").problem("0.1") is None  # static values may be numeric text


def test_script_paths_are_judged_inside_the_spec_directory(tmp_path):
    from lgbm_pipeline_compiler.spec.scripts import bundled_names, override_problem, path_problem

    (tmp_path / "mine.py").write_text("print(1)\n")
    (tmp_path / "out.py").symlink_to("/etc/hostname")
    (tmp_path / "step_common.py").symlink_to("/etc/hostname")
    folder = str(tmp_path)
    assert path_problem("mine.py", folder) is None
    assert path_problem("train.py", folder) is None  # bundled
    assert {"train.py", "preprocessing.py", "evaluate.py", "step_common.py"} <= bundled_names()
    assert "absolute path" in path_problem("/etc/hostname", folder)
    assert "climbs out" in path_problem("../x.py", folder)
    assert "'/etc/hostname'" in path_problem("out.py", folder)
    assert "not found" in path_problem("nothere.py", folder)
    assert "in place of the bundled step_common.py" in override_problem("step_common.py", folder)
    assert override_problem("inference.py", folder) is None  # nothing of that name next to the spec
