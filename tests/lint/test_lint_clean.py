"""What SageMaker accepts, the linter accepts: no error or warning on the census definition, the
goldens, the census spec compiled (--deep), a compile output directory, and a pipeline written by
hand with the SDK; and each check still bites on that hand-written pipeline."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.lint.engine import lint_definition, lint_document, read_definition
from lgbm_pipeline_compiler.lint.run import lint_spec

REPO = Path(__file__).resolve().parents[2]
# with test_lint_minischema.py and test_lint_cli.py: one worker builds the SDK pipeline (the session fixture sdk_built)
pytestmark = pytest.mark.xdist_group("lint-sdk-pipeline")
DEFINITIONS = [REPO / "specs" / "census.json", *sorted((REPO / "tests" / "golden").glob("*/expected.json"))]


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def test_the_clean_set_is_every_golden():
    names = {p.parent.name for p in DEFINITIONS[1:]}
    assert names == {
        "minimal",
        "builtin_engine",
        "batch_transform",
        "registry_only",
        "bayesian_categorical",
        "production",
        "bundled",
        "data_quality",
        "data_quality_builtin",
        "distributed",
        "deploy_options",
        "serverless",
    }


@pytest.mark.parametrize(
    "path", DEFINITIONS, ids=lambda p: p.parent.name if p.name == "expected.json" else p.name
)
def test_compiled_definitions_are_clean(path):
    """A bare definition: only the info that the training code is not at hand."""
    findings = lint_document(read_definition(path))
    assert [f.format() for f in findings if f.severity != "info"] == []
    assert codes(findings) == ["I3003"]


def test_the_census_spec_compiled_is_clean_with_nothing_left_unchecked(monkeypatch):
    monkeypatch.chdir(REPO)
    assert lint_spec("specs/census.yaml") == []


def test_a_compile_output_directory_brings_its_artifacts(tmp_path, monkeypatch, capsys):
    """pipeline.json beside manifest.json: the training code is read, hyperparameters are checked."""
    monkeypatch.chdir(REPO)
    assert main(["compile", "specs/census.yaml", "-o", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    doc = read_definition(tmp_path / "out" / "pipeline.json")
    assert any(uri.endswith("sourcedir.tar.gz") for uri in doc.artifacts)
    assert lint_document(doc) == []
    assert main(["validate", str(tmp_path / "out" / "pipeline.json")]) == 0
    assert capsys.readouterr().out == ""


def test_the_sdk_pipeline_has_every_step_type_we_do_not_emit(sdk_built):
    definition, _ = sdk_built
    from lgbm_pipeline_compiler.lint.requests import walk_steps

    types = sorted({s["Type"] for s in walk_steps(definition["Steps"])})
    assert types == [
        "Condition",
        "EMR",
        "Fail",
        "Lambda",
        "Model",
        "Processing",
        "RegisterModel",
        "Training",
        "Transform",
    ]


def test_the_sdk_pipeline_is_clean(sdk_built):
    definition, artifacts = sdk_built
    assert lint_definition(definition, "sdk.json", artifacts) == []


def test_the_sdk_pipeline_without_its_artifacts_says_what_it_did_not_check(sdk_built):
    definition, _ = sdk_built
    findings = lint_definition(definition, "sdk.json")
    assert codes(findings) == ["I3003"]
    assert "s3://acme-ml-111122223333/code/train/sourcedir.tar.gz" in findings[0].message


def _find(definition: dict, name: str) -> dict:
    from lgbm_pipeline_compiler.lint.requests import walk_steps

    return next(s for s in walk_steps(definition["Steps"]) if s["Name"] == name)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: _find(d, "Train")["Arguments"]["HyperParameters"].__setitem__("num_leafs", "63"), "E3001"),
        (lambda d: _find(d, "Train")["Arguments"]["HyperParameters"].__setitem__("num_leaves", "63"), None),
        (lambda d: _find(d, "AucGate")["Arguments"]["Conditions"][0]["LeftValue"]["Std:JsonGet"].__setitem__("Path", "classification_metrics.precision.value"), "E2006"),
        (lambda d: _find(d, "Deploy")["Arguments"].__setitem__("model_package_arn", {"Get": "Steps.Register-RegisterModel.ModelPackageName"}), None),
        (lambda d: _find(d, "Deploy")["Arguments"].__setitem__("model_package_arn", {"Get": "Steps.Register-RegisterModel.PackageArn"}), "E2004"),
        (lambda d: _find(d, "Score")["Arguments"].__setitem__("ModelName", {"Get": "Steps.Model-CreateModel.ModelNam"}), "E2004"),
        (lambda d: _find(d, "Aggregate").__setitem__("DependsOn", ["Scor"]), "E2003"),
        (lambda d: _find(d, "TooWeak").__setitem__("Arguments", {"ErrorMessage": 5}), "E1012"),
        (lambda d: _find(d, "Aggregate")["Arguments"]["StepConfig"]["HadoopJarStep"].pop("Jar"), "E1001"),
        (lambda d: _find(d, "Train").__setitem__("DependsOn", ["AucGate"]), "E2009"),
    ],
    ids=["hyperparameter", "known-hyperparameter", "metric-not-reported", "register-property", "register-property-typo", "model-property", "depends-on", "fail-message", "emr-jar", "cycle"],
)  # fmt: skip
def test_each_check_bites_on_the_sdk_pipeline(sdk_built, mutate, expected):
    definition, artifacts = copy.deepcopy(sdk_built[0]), sdk_built[1]
    mutate(definition)
    found = codes(lint_definition(json.loads(json.dumps(definition)), "sdk.json", artifacts))
    assert found == ([expected] if expected else [])
