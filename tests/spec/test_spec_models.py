"""The spec models: the census spec's values, variables, section rules, cross-section checks, messages."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
from botocore.loaders import Loader
from pydantic import ValidationError
from spec_helpers import (
    CENSUS_SPEC,
    REPO,
    base_data,
    edited,
    findings_of,
    one_finding,
    validate_data,
    validate_text,
)

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.errors import Finding, SpecError, dotted
from lgbm_pipeline_compiler.spec import load_spec
from lgbm_pipeline_compiler.spec.clarify import BiasCheck
from lgbm_pipeline_compiler.spec.data import DataSection, SplitRatios
from lgbm_pipeline_compiler.spec.deploy import DeploySection
from lgbm_pipeline_compiler.spec.gate import QualityGateSection
from lgbm_pipeline_compiler.spec.messages import allowed_keys, data_loc
from lgbm_pipeline_compiler.spec.parameters import EXPOSABLE
from lgbm_pipeline_compiler.spec.pipeline import PipelineSection
from lgbm_pipeline_compiler.spec.preprocessing import PreprocessingSection
from lgbm_pipeline_compiler.spec.root import PipelineSpec
from lgbm_pipeline_compiler.spec.storage import StorageSection
from lgbm_pipeline_compiler.spec.training import TrainingSection
from lgbm_pipeline_compiler.spec.tuning import CategoricalRange, ContinuousRange, IntegerRange, TuningSection

CENSUS_COLUMNS = [
    "Age",
    "Workclass",
    "fnlwgt",
    "Education",
    "Education-Num",
    "Marital Status",
    "Occupation",
    "Relationship",
    "Ethnic group",
    "Sex",
    "Capital Gain",
    "Capital Loss",
    "Hours per week",
    "Country",
    "Target",
]


@pytest.fixture(scope="module")
def census() -> PipelineSpec:
    return load_spec(CENSUS_SPEC)


@pytest.fixture(scope="module")
def botocore_enums() -> dict[str, set[str]]:
    shapes = Loader().load_service_model("sagemaker", "service-2")["shapes"]
    return {
        kind: set(shapes[shape]["enum"])
        for kind, shape in [
            ("processing", "ProcessingInstanceType"),
            ("training", "TrainingInstanceType"),
            ("inference", "ProductionVariantInstanceType"),
            ("transform", "TransformInstanceType"),
        ]
    }


# --- the census spec ------------------------------------------------------------------------------


def test_census_identity(census):
    assert census.pipeline.name == "census-income-lgbm-dev"
    assert census.pipeline.role_arn == "arn:aws:iam::111122223333:role/SageMakerExecutionRole"
    assert census.pipeline.region == "us-east-1"
    assert census.pipeline.tags == {"project": "census-income", "environment": "dev"}
    assert census.source_dir == str(CENSUS_SPEC.parent)


def test_census_storage_and_input(census):
    assert census.storage.read == "s3://sagemaker-example-files-prod-us-east-1/datasets/tabular/uci_adult"
    assert census.storage.write == "s3://lgbm-pipelines-111122223333/census-income/dev"
    assert census.storage.write_bucket == "lgbm-pipelines-111122223333"
    assert census.storage.write_prefix == "census-income/dev"
    assert census.input_uris == [
        "s3://sagemaker-example-files-prod-us-east-1/datasets/tabular/uci_adult/adult.data",
        "s3://sagemaker-example-files-prod-us-east-1/datasets/tabular/uci_adult/adult.test",
    ]


def test_census_data(census):
    data = census.data
    assert data.columns == CENSUS_COLUMNS
    assert (data.target_column, data.positive_class, data.header) == ("Target", [">50K", ">50K."], False)
    assert data.comment == "|"
    assert (data.split.train, data.split.validation, data.split.test) == (0.8, 0.1, 0.1)
    assert data.categorical_columns == "auto"
    assert data.drop_columns == ["fnlwgt"]
    features = data.feature_columns
    assert features == [c for c in CENSUS_COLUMNS if c not in ("Target", "fnlwgt")]
    assert len(features) == 13 and "Target" not in features and "fnlwgt" not in features


def test_census_tuning(census):
    tuning = census.tuning
    assert (tuning.strategy, tuning.max_jobs, tuning.max_parallel_jobs) == ("Random", 20, 2)
    assert tuning.objective.name == "validation:f1"
    assert tuning.objective.regex == r"validation-f1: ([0-9\.]+)"
    assert set(tuning.ranges) == {"n_estimators", "learning_rate", "num_leaves", "max_bin"}
    lr = tuning.ranges["learning_rate"]
    assert isinstance(lr, ContinuousRange) and (lr.min, lr.max, lr.scaling) == (0.0001, 0.5, "Logarithmic")
    assert isinstance(tuning.ranges["n_estimators"], IntegerRange)
    assert not set(tuning.ranges) & set(census.training.hyperparameters)


def test_census_gate_clarify_registry_deploy(census):
    assert (census.quality_gate.metric, census.quality_gate.threshold) == ("f1", 0.68)
    assert census.quality_gate.json_path == "classification_metrics.f1.value"
    assert census.clarify.bias.facet_name == "Sex" and "Sex" in census.data.feature_columns
    assert census.clarify.explainability.shap.num_samples == 100
    assert census.registry.model_package_group == "census-income-lgbm"
    assert census.deploy.lambda_arn.endswith(":111122223333:function:lgbm-deploy-endpoint")


def test_census_parameters_expose_known_paths(census):
    assert len(census.parameters) == 16
    assert census.parameters["SkipDataQualityCheck"] == "data_quality.baseline.skip_check"
    assert set(census.parameters.values()) <= set(EXPOSABLE)
    assert census.value_at(census.parameters["F1Threshold"]) == 0.68
    assert census.value_at(census.parameters["TrainingInstanceType"]) == "ml.m5.xlarge"


# --- variables ------------------------------------------------------------------------------------


def test_env_var_changes_names_and_write_prefix():
    prod = load_spec(CENSUS_SPEC, {"env": "prod"})
    assert prod.pipeline.name == "census-income-lgbm-prod"
    assert prod.pipeline.tags["environment"] == "prod"
    assert prod.storage.write == "s3://lgbm-pipelines-111122223333/census-income/prod"
    assert prod.deploy.endpoint_name == "census-income-prod"


def test_bucket_and_account_vars():
    spec = load_spec(CENSUS_SPEC, {"bucket": "my-team-bucket", "account": "444455556666"})
    assert spec.storage.write_bucket == "my-team-bucket"
    assert spec.pipeline.role_arn == "arn:aws:iam::444455556666:role/SageMakerExecutionRole"
    assert ":444455556666:function:" in spec.deploy.lambda_arn
    # without `bucket`, the default bucket follows the account
    assert load_spec(CENSUS_SPEC, {"account": "444455556666"}).storage.write_bucket == (
        "lgbm-pipelines-444455556666"
    )


def test_region_var_reaches_region_and_lambda():
    spec = load_spec(CENSUS_SPEC, {"region": "eu-west-1"})
    assert spec.pipeline.region == "eu-west-1"
    assert spec.deploy.lambda_arn.startswith("arn:aws:lambda:eu-west-1:")


def test_cli_var_is_applied_and_validated(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    assert main(["validate", "specs/census.yaml", "--var", "env=prod"]) == 0
    assert capsys.readouterr().err == "specs/census.yaml: ok\n"
    assert main(["validate", "specs/census.yaml", "--var", "env=Bad Env"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "pipeline.name",
        "storage.write",
        "deploy.endpoint_name",
    ]
    assert all(line.startswith("specs/census.yaml:") for line in lines)


def test_cli_rejects_malformed_var(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    assert main(["validate", "specs/census.yaml", "--var", "env"]) == 2
    err = capsys.readouterr().err
    assert "expected KEY=VALUE" in err and "Traceback" not in err


def test_validate_does_not_import_the_sagemaker_sdk():
    code = (
        "import sys; from lgbm_pipeline_compiler.cli import main; "
        "assert main(['validate','specs/census.yaml']) == 0; "
        "assert 'sagemaker' not in sys.modules, sorted(m for m in sys.modules if 'sagemaker' in m)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "specs/census.yaml: ok\n"


# --- sections -------------------------------------------------------------------------------------


def test_optional_sections_get_defaults():
    data = base_data()
    for key in ("preprocessing", "training", "clarify", "registry", "deploy", "parameters"):
        del data[key]
    spec = validate_data(data)
    assert spec.preprocessing == PreprocessingSection()
    assert (
        spec.preprocessing.instance_type == "ml.m5.xlarge" and spec.preprocessing.script == "preprocessing.py"
    )
    assert spec.training.entry_point == "train.py" and spec.training.hyperparameters == {}
    assert spec.evaluation.metrics == ["f1", "precision", "recall", "accuracy", "roc_auc"]
    assert spec.clarify is None and spec.registry is None and spec.deploy is None
    assert spec.parameters == {}


def test_data_defaults_and_feature_columns_without_columns():
    data = DataSection(input="s3://b-1/x.csv", target_column="y", positive_class=1)
    assert data.feature_columns is None
    assert (data.split.train, data.split.validation, data.split.test) == (0.8, 0.1, 0.1)
    assert data.header and data.stratify and data.seed == 42


def test_headerless_csv_with_columns_is_fine():
    data = DataSection(input="x.csv", target_column="y", positive_class=1, header=False, columns=["a", "y"])
    assert data.feature_columns == ["a"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["a", "y", "a"]}, "column 'a' is listed twice"),
        ({"drop_columns": ["a", "a"]}, "column 'a' is listed twice"),
    ],
)
def test_data_section_rules(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        DataSection(input="x.csv", target_column="y", positive_class=1, **kwargs)


@pytest.mark.parametrize(
    ("range_", "kind"),
    [
        ({"type": "integer", "min": 1, "max": 5}, IntegerRange),
        ({"type": "continuous", "min": 0.1, "max": 0.2, "scaling": "ReverseLogarithmic"}, ContinuousRange),
        ({"type": "categorical", "values": ["gbdt", "dart"]}, CategoricalRange),
    ],
)
def test_ranges_are_discriminated_by_type(range_, kind):
    data = base_data()
    data["tuning"]["ranges"] = {"p": range_}
    assert isinstance(validate_data(data).tuning.ranges["p"], kind)


def test_equal_bounds_and_budget_are_accepted():
    tuning = TuningSection.model_validate(
        {
            "max_jobs": 3,
            "max_parallel_jobs": 3,
            "objective": {"name": "m", "regex": "m: (.+)"},
            "ranges": {"a": {"type": "integer", "min": 4, "max": 4}},
        }
    )
    assert tuning.max_parallel_jobs == tuning.max_jobs == 3
    assert tuning.strategy == "Bayesian"


def test_grid_search_with_categorical_ranges_only_is_fine():
    data = base_data()
    data["tuning"]["strategy"] = "Grid"
    data["tuning"]["ranges"] = {"boosting": {"type": "categorical", "values": ["gbdt", "dart"]}}
    assert validate_data(data).tuning.strategy == "Grid"


def test_categorical_range_value_limits():
    CategoricalRange(type="categorical", values=list(range(30)))
    with pytest.raises(ValidationError, match="at most 30 items"):
        CategoricalRange(type="categorical", values=list(range(31)))


@pytest.mark.parametrize("threshold", [0, 0.0, 0.5, 1, 1.0])
@pytest.mark.parametrize("metric", ["f1", "precision", "recall", "accuracy", "roc_auc"])
def test_gate_threshold_bounds_are_inclusive(metric, threshold):
    assert QualityGateSection(metric=metric, threshold=threshold).threshold == threshold


@pytest.mark.parametrize(
    ("threshold", "message"),
    [
        (-0.01, "is outside the range of f1"),
        (1.01, "is outside the range of f1"),
        (float("nan"), "finite number"),
        (float("inf"), "finite number"),
    ],
)
def test_gate_threshold_outside_range(threshold, message):
    with pytest.raises(ValidationError, match=message):
        QualityGateSection(metric="f1", threshold=threshold)


@pytest.mark.parametrize(
    ("uri", "normalised"),
    [
        ("s3://my-bucket", "s3://my-bucket"),
        ("s3://my-bucket/", "s3://my-bucket"),
        ("s3://my.bucket.1/a/b/", "s3://my.bucket.1/a/b"),
        ("s3://abc/any=key+chars,(ok)!", "s3://abc/any=key+chars,(ok)!"),
    ],
)
def test_valid_s3_uris_are_normalised(uri, normalised):
    assert StorageSection(write=uri).write == normalised


@pytest.mark.parametrize(
    "uri",
    [
        "my-bucket/prefix",  # no scheme
        "S3://my-bucket/prefix",  # scheme is case-sensitive
        "s3:/my-bucket",
        "s3://",
        "s3://ab",  # bucket names are at least 3 characters
        "s3://" + "a" * 64,  # and at most 63
        "s3://My-Bucket/x",
        "s3://my_bucket/x",
        "s3://-bucket/x",
        "s3://bucket-/x",
        "s3://my..bucket/x",
        "s3://bucket//x",
        "s3://bucket/a//b",
        "s3://bucket/a b",
        "s3://bucket/a\tb",
    ],
)
def test_invalid_s3_uris(uri):
    with pytest.raises(ValidationError, match="is not a valid S3 URI"):
        StorageSection(write=uri)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:role/SageMakerExecutionRole",
        "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-2024",
        "arn:aws-cn:iam::111122223333:role/r",
        "arn:aws-us-gov:iam::111122223333:role/r+=,.@-",
    ],
)
def test_valid_role_arns(arn):
    assert PipelineSection(name="p", role_arn=arn).role_arn == arn


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::1111:role/r",
        "arn:aws:iam::111122223333:user/r",
        "arn:aws:iam::111122223333:role/",
        "arn:aws:sts::111122223333:assumed-role/r/session",
        "SageMakerExecutionRole",
    ],
)
def test_invalid_role_arns(arn):
    with pytest.raises(ValidationError, match="is not a valid role arn"):
        PipelineSection(name="p", role_arn=arn)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:111122223333:function:deploy",
        "arn:aws:lambda:eu-central-1:111122223333:function:deploy_v2:prod",
        "arn:aws:lambda:us-east-1:111122223333:function:deploy:$LATEST",
        "arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:deploy",
    ],
)
def test_valid_lambda_arns(arn):
    assert DeploySection(lambda_arn=arn, endpoint_name="e").lambda_arn == arn


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:111122223333:fn:deploy",
        "arn:aws:lambda:us-east-1:1111:function:deploy",
        "arn:aws:lambda:useast1:111122223333:function:deploy",
        "arn:aws:lambda:us-east-1:111122223333:function:deploy.py",
        "arn:aws:lambda:us-east-1:111122223333:function:" + "f" * 65,
    ],
)
def test_invalid_lambda_arns(arn):
    with pytest.raises(ValidationError, match="is not a valid lambda arn"):
        DeploySection(lambda_arn=arn, endpoint_name="e")


def test_every_botocore_training_type_is_accepted_and_only_those(botocore_enums):
    for instance in sorted(botocore_enums["training"]):
        assert TrainingSection(instance_type=instance).instance_type == instance
    for instance in sorted(botocore_enums["inference"] - botocore_enums["training"]):
        with pytest.raises(ValidationError, match="is not a SageMaker training instance type"):
            TrainingSection(instance_type=instance)


def test_processing_types_follow_botocore(botocore_enums):
    for instance in sorted(botocore_enums["processing"]):
        assert PreprocessingSection(instance_type=instance).instance_type == instance
    training_only = botocore_enums["training"] - botocore_enums["processing"]
    assert training_only, "botocore changed: no training-only instance type left to test"
    for instance in sorted(training_only):
        with pytest.raises(ValidationError, match="is not a SageMaker processing instance type"):
            PreprocessingSection(instance_type=instance)


def test_instance_type_did_you_mean():
    finding = one_finding(
        edited("training:\n  instance_type: ml.m5.xlarge", "training:\n  instance_type: ml.m5.xlarg")
    )
    assert finding.path == "training.instance_type"
    assert finding.message.endswith("did you mean 'ml.m5.xlarge'?")


def test_instance_type_without_close_match_says_where_to_look():
    finding = one_finding(
        edited("training:\n  instance_type: ml.m5.xlarge", "training:\n  instance_type: big")
    )
    assert (
        finding.message == "'big' is not a SageMaker training instance type; see the SageMaker pricing page"
    )


def test_instance_type_valid_elsewhere_says_so():
    finding = one_finding(
        edited("training:\n  instance_type: ml.m5.xlarge", "training:\n  instance_type: ml.inf1.xlarge")
    )
    assert "inference" in finding.message
    assert "did you mean" not in finding.message


def test_bias_check_defaults():
    bias = BiasCheck(facet_name="Sex")
    assert (
        bias.label_values == [1] and bias.methods == ["DPPL"] and bias.probability_threshold is None
    )  # the served label
    assert BiasCheck(facet_name="Sex", methods="all").methods == "all"


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
