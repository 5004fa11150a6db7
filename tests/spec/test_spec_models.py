"""The spec models: the census spec's values, variables, and each section's own rules (cross-section
checks and messages: test_spec_cross_checks.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from botocore.loaders import Loader
from pydantic import ValidationError
from spec_helpers import (
    CENSUS_SPEC,
    REPO,
    base_data,
    edited,
    one_finding,
    validate_data,
)

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.spec import load_spec
from lgbm_pipeline_compiler.spec.clarify import BiasCheck
from lgbm_pipeline_compiler.spec.data import DataSection
from lgbm_pipeline_compiler.spec.deploy import DeploySection
from lgbm_pipeline_compiler.spec.gate import QualityGateSection
from lgbm_pipeline_compiler.spec.parameters import EXPOSABLE
from lgbm_pipeline_compiler.spec.pipeline import PipelineSection
from lgbm_pipeline_compiler.spec.preprocessing import PreprocessingSection
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
