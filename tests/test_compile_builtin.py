"""`clarify.engine: builtin` compiles to processing steps that pass the same botocore-shape check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lgbm_pipeline_compiler import load_spec, render_json
from lgbm_pipeline_compiler.compiler import compile_definition

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def builtin_compiled():
    """The golden builtin-engine case (the census spec with clarify.engine builtin)."""
    path = REPO / "tests" / "golden" / "builtin_engine" / "spec.yaml"
    return compile_definition(load_spec(path)), path


def test_checks_become_processing_steps_running_clarify_check(builtin_compiled):
    compiled, _ = builtin_compiled
    steps = {s["Name"]: s for s in compiled.definition["Steps"]}
    for name, check in (("ModelBiasCheck", "bias"), ("ModelExplainabilityCheck", "explainability")):
        step = steps[name]
        assert step["Type"] == "Processing"
        app = step["Arguments"]["AppSpecification"]
        assert app["ContainerEntrypoint"][-1].endswith("/clarify_check.py")
        args = app["ContainerArguments"]
        assert args[args.index("--check") + 1] == check
        inputs = {i["InputName"] for i in step["Arguments"]["ProcessingInputs"]}
        assert {"model", "dataset", "analysis_config", "requirements", "code"} <= inputs
    skip = steps["ModelBiasCheck"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert skip[skip.index("--skip-check") + 1] == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.SkipModelBiasCheck"}]}
    }
    assert "ClarifyCheck" not in render_json(compiled.definition)


def test_registry_reads_the_builtin_outputs(builtin_compiled):
    compiled, _ = builtin_compiled
    gate = compiled.definition["Steps"][-1]
    register = gate["Arguments"]["IfSteps"][0]["Arguments"]
    bias = register["ModelMetrics"]["Bias"]["PostTrainingReport"]["S3Uri"]["Std:Join"]["Values"]
    assert bias == [
        {"Get": "Steps.ModelBiasCheck.ProcessingOutputConfig.Outputs['analysis_result'].S3Output.S3Uri"},
        "analysis.json",
    ]
    assert "ConfigFile" not in register["DriftCheckBaselines"]["Bias"]
    drift = register["DriftCheckBaselines"]["Bias"]["PostTrainingConstraints"]["S3Uri"]["Std:Join"]["Values"]
    assert drift[-1] == "drift_check_baseline.json"


def test_baseline_parameters_reach_the_check(builtin_compiled):
    compiled, _ = builtin_compiled
    params = {p["Name"]: p for p in compiled.definition["Parameters"]}
    default = params["SuppliedModelBiasConstraints"]["DefaultValue"]
    assert default.endswith("/no-baseline.json") and compiled.artifacts[default].data == b"{}\n"
    step = next(s for s in compiled.definition["Steps"] if s["Name"] == "ModelBiasCheck")
    baseline = next(i for i in step["Arguments"]["ProcessingInputs"] if i["InputName"] == "baseline")
    assert baseline["S3Input"]["S3Uri"] == {"Get": "Parameters.SuppliedModelBiasConstraints"}
    args = step["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--register-new-baseline") + 1] == {
        "Std:Join": {"On": "", "Values": [{"Get": "Parameters.RegisterNewModelBiasBaseline"}]}
    }


def _schema_input_and_arguments(job: dict) -> None:
    assert job["AppSpecification"]["ContainerArguments"][2:8] == [
        "--data-dir", "/opt/ml/processing/input/data",
        "--output-dir", "/opt/ml/processing/output",
        "--schema-dir", "/opt/ml/processing/input/schema",
    ]  # fmt: skip
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    assert (inputs["schema"]["LocalPath"], inputs["schema"]["S3Uri"]) == (
        "/opt/ml/processing/input/schema",
        {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri"},
    )
    assert inputs["train"]["S3Uri"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
    }


def test_the_data_quality_jobs_of_a_sharded_train_split_read_the_validation_schema(tmp_path):
    """training.distributed: train/ holds shards and no schema.json, so the data-quality jobs also
    get the validation split and --schema-dir: the builtin engine's job (the golden `distributed`
    case) and the SageMaker engine's feature extraction before its QualityCheck step."""
    golden = REPO / "tests" / "golden" / "distributed"
    steps = {s["Name"]: s for s in json.loads((golden / "expected.json").read_text())["Steps"]}
    assert steps["DataQualityCheck"]["Type"] == "Processing"
    builtin = steps["DataQualityCheck"]["Arguments"]
    assert builtin["AppSpecification"]["ContainerArguments"][:2] == ["--mode", "baseline"]
    _schema_input_and_arguments(builtin)
    spec = tmp_path / "spec.yaml"
    spec.write_text((golden / "spec.yaml").read_text().replace("  engine: builtin\n", "", 1))
    steps = {s["Name"]: s for s in compile_definition(load_spec(spec)).definition["Steps"]}
    assert steps["DataQualityCheck"]["Type"] == "QualityCheck"
    dataset = steps["DataQualityDataset"]["Arguments"]
    assert dataset["AppSpecification"]["ContainerArguments"][:2] == ["--mode", "dataset"]
    _schema_input_and_arguments(dataset)
