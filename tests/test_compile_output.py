"""Compile output: artifacts and manifest, atomic -o writes, optional sections, parameters, API."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from step_jobs import ADULT_COLUMNS

from lgbm_pipeline_compiler import build_pipeline, compile_spec, load_spec, render_json
from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.compiler import compile_definition

REPO = Path(__file__).resolve().parent.parent
CENSUS = REPO / "specs" / "census.yaml"


def _spec_copy(tmp_path: Path, edit=None) -> Path:
    text = CENSUS.read_text()
    if edit:
        text = edit(text)
    path = tmp_path / "census.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def census_out(tmp_path_factory) -> tuple[Path, str]:
    """`compile specs/census.yaml -o DIR` once for the module: (DIR, what it printed on stdout)."""
    out = tmp_path_factory.mktemp("census-out") / "build"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["compile", str(CENSUS), "-o", str(out)]) == 0
    return out, printed.getvalue()


def test_output_dir_has_definition_manifest_and_artifacts(census_out):
    out, printed = census_out
    definition = (out / "pipeline.json").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    names = sorted(Path(a["path"]).name for a in manifest["artifacts"])
    shared = ["bias_metrics.py", "clarify_baseline.py", "step_common.py"]  # one bundle: the "lib" prefix
    assert names == sorted(
        [
            "preprocessing.py",
            "preprocessing.json",
            "sourcedir.tar.gz",
            "evaluate.py",
            "requirements.txt",
            "data_quality_check.py",
            "data_quality.py",  # the data_quality bundle beside the shared modules
            *shared,
        ]
        + ["analysis_config.json"] * 4
    )
    for entry in manifest["artifacts"]:
        data = (out / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        folder, name = entry["s3_uri"].rsplit("/", 1)
        if name in shared:  # referenced by its content-addressed prefix
            assert folder.endswith("/lib") and f'"{folder}"' in definition
        elif name == "data_quality.py":  # likewise, its own bundle
            assert folder.endswith("/data_quality") and f'"{folder}"' in definition
        else:
            assert folder.rsplit("/", 1)[1] == entry["sha256"] and entry["s3_uri"] in definition
    assert printed == ""


def test_failed_compile_leaves_previous_output_untouched(census_out, tmp_path, capsys):
    out = tmp_path / "build"
    shutil.copytree(census_out[0], out)  # a compile's output, as the previous run left it
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = _spec_copy(tmp_path, lambda t: t.replace("max_parallel_jobs: 2", "max_parallel_jobs: 50"))
    assert main(["compile", str(broken), "-o", str(out)]) == 2
    assert "max_parallel_jobs (50) is greater than max_jobs (20)" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".build")] == []


def test_source_tarball_is_byte_stable_and_holds_the_serving_code(census_compiled):
    import io
    import tarfile

    tarball = next(a for u, a in census_compiled.artifacts.items() if u.endswith("sourcedir.tar.gz"))
    with tarfile.open(fileobj=io.BytesIO(tarball.data)) as tar:
        assert sorted(tar.getnames()) == [
            "cluster.py",
            "inference.py",
            "requirements.txt",
            "step_common.py",
            "train.py",
        ]
        assert {m.mtime for m in tar.getmembers()} == {0}


def test_changing_a_step_script_changes_the_definition(tmp_path, census_compiled):
    spec_path = _spec_copy(tmp_path)
    bundled = REPO / "step_scripts" / "train.py"
    shutil.copy(bundled, tmp_path / "train.py")
    same = compile_definition(load_spec(spec_path))
    assert render_json(same.definition) == render_json(census_compiled.definition)
    (tmp_path / "train.py").write_text(bundled.read_text() + "\n# a change\n")
    changed = compile_definition(load_spec(spec_path))
    assert render_json(changed.definition) != render_json(census_compiled.definition)
    old = {u for u in census_compiled.artifacts if u.endswith("sourcedir.tar.gz")}
    new = {u for u in changed.artifacts if u.endswith("sourcedir.tar.gz")}
    assert old and new and old != new


def test_exposed_parameters_have_the_spec_defaults(census_compiled):
    params = {p["Name"]: p for p in census_compiled.definition["Parameters"]}
    assert params["F1Threshold"] == {"Name": "F1Threshold", "Type": "Float", "DefaultValue": 0.68}
    assert params["ProcessingInstanceCount"]["DefaultValue"] == 1
    assert params["SkipModelBiasCheck"] == {
        "Name": "SkipModelBiasCheck",
        "Type": "Boolean",
        "DefaultValue": False,
    }
    assert params["SuppliedModelBiasConstraints"]["DefaultValue"] == ""
    gate = census_compiled.definition["Steps"][-1]["Arguments"]["Conditions"][0]
    assert gate["RightValue"] == {"Get": "Parameters.F1Threshold"}
    assert gate["LeftValue"]["Std:JsonGet"]["Path"] == "classification_metrics.f1.value"


def test_preprocessing_reads_its_options_from_a_config_artifact(census_compiled):
    step = census_compiled.definition["Steps"][0]["Arguments"]
    args = step["AppSpecification"]["ContainerArguments"]
    assert args == [
        "--input-dir", "/opt/ml/processing/input/data",
        "--output-dir", "/opt/ml/processing/output",
        "--config", "/opt/ml/processing/input/config/preprocessing.json",
    ]  # fmt: skip
    inputs = {i["InputName"]: i["S3Input"] for i in step["ProcessingInputs"]}
    assert [(inputs[n]["S3Uri"].rsplit("/", 1)[1], inputs[n]["LocalPath"]) for n in ("data-1", "data-2")] == [
        ("adult.data", "/opt/ml/processing/input/data/1"),
        ("adult.test", "/opt/ml/processing/input/data/2"),
    ]
    config = json.loads(census_compiled.artifacts[inputs["config"]["S3Uri"]].data)
    assert config == {
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
        "explain_rows": 2000,
    }  # fmt: skip


def test_tuning_step_carries_ranges_and_objective(census_compiled):
    config = census_compiled.definition["Steps"][1]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Random"
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2}
    ranges = {r["Name"]: r for kind in config["ParameterRanges"].values() for r in kind}
    assert ranges["learning_rate"] == {
        "Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "0.5", "ScalingType": "Logarithmic"
    }  # fmt: skip
    assert ranges["n_estimators"]["MinValue"] == "10" and ranges["n_estimators"]["MaxValue"] == "400"
    metrics = census_compiled.definition["Steps"][1]["Arguments"]["TrainingJobDefinition"][
        "AlgorithmSpecification"
    ]
    assert metrics["MetricDefinitions"] == [{"Name": "validation:f1", "Regex": "validation-f1: ([0-9\\.]+)"}]


def test_variables_switch_environment(tmp_path):
    prod = compile_spec(load_spec(CENSUS, {"env": "prod", "bucket": "acme-ml"}))
    text = json.dumps(prod)
    assert "s3://acme-ml/census-income/prod/" in text and "census-income-dev" not in text


def test_build_pipeline_returns_an_extensible_sdk_pipeline(census_spec):
    from sagemaker.workflow.fail_step import FailStep

    pipeline = build_pipeline(census_spec)
    assert pipeline.name == "census-income-lgbm-dev"
    pipeline.steps.append(FailStep(name="Extra", error_message="added by a user"))
    assert json.loads(pipeline.definition())["Steps"][-1]["Name"] == "Extra"


def test_compile_rejects_a_missing_script_clearly(tmp_path, capsys):
    spec = _spec_copy(tmp_path, lambda t: t.replace("script: preprocessing.py", "script: nothere.py"))
    assert main(["compile", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "step script 'nothere.py' not found" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("command", "committed"),
    [(["schema"], "schema/pipeline-spec.schema.json"), (["schema", "--markdown"], "docs/spec-reference.md")],
)
def test_committed_schema_and_reference_are_current(command, committed, capsys):
    """Regenerate with `lgbm-pipeline schema -o ...` / `lgbm-pipeline schema --markdown -o ...`."""
    assert main(command) == 0
    assert capsys.readouterr().out == (REPO / committed).read_text()
