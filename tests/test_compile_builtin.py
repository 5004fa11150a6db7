"""`clarify.engine: builtin` compiles to processing steps that pass the same botocore-shape check."""

from __future__ import annotations

from pathlib import Path

import pytest

from lgbm_pipeline_compiler import load_spec, render_json
from lgbm_pipeline_compiler.compiler import compile_definition

from .test_compile_shapes import all_steps, request_for, validate

REPO = Path(__file__).resolve().parent.parent


def builtin_text() -> str:
    """The census spec (with its baseline parameters) on the builtin engine."""
    census = (REPO / "specs" / "census.yaml").read_text()
    return census.replace("clarify:\n", "clarify:\n  engine: builtin\n", 1)


@pytest.fixture(scope="module")
def builtin_compiled(tmp_path_factory):
    path = tmp_path_factory.mktemp("builtin") / "census.yaml"
    path.write_text(builtin_text())
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


def test_builtin_steps_match_botocore_shapes(builtin_compiled, sagemaker_model):
    compiled, _ = builtin_compiled
    for step in all_steps(compiled.definition["Steps"]):
        if step["Type"] in ("Processing", "Tuning", "Model", "RegisterModel"):
            operation, request = request_for(step, sagemaker_model)
            validate(operation, request, sagemaker_model)


def test_builtin_compile_is_byte_stable(builtin_compiled):
    compiled, path = builtin_compiled
    again = compile_definition(load_spec(path))
    assert render_json(again.definition) == render_json(compiled.definition)
    assert again.artifacts.keys() == compiled.artifacts.keys()


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


@pytest.fixture(scope="module")
def sagemaker_model():
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")
