"""Local runs of compiled pipelines on the real Adult data: success, failure, resume, branches."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from threading import Thread

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local.api import run_spec
from lgbm_pipeline_compiler.local.records import RunStore
from lgbm_pipeline_compiler.local.registry import LocalRegistry
from lgbm_pipeline_compiler.local.runner import RunOptions

from .conftest import INPUT_URI, bundled, fast_spec_text, strip_section


def _run(spec: Path, work: Path, adult: Path, **kwargs):
    return run_spec(spec, RunOptions(work_dir=work, data={INPUT_URI: str(adult)}, **kwargs))


def _statuses(execution) -> dict[str, str]:
    return {name: step.status for name, step in execution.steps.items()}


def _no_clarify(text: str) -> str:
    return strip_section(text, "clarify")


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory, adult):
    folder = tmp_path_factory.mktemp("fast")
    spec = folder / "census.yaml"
    spec.write_text(_no_clarify(fast_spec_text()))
    work = folder / "work"
    return _run(spec, work, adult), work


def test_fast_run_succeeds_registers_and_deploys(fast_run):
    execution, work = fast_run
    assert execution.status == "Succeeded", execution.failure_reason
    assert set(_statuses(execution).values()) == {"Succeeded"}
    gate = execution.steps["F1Gate"]
    assert gate.properties == {"Outcome": True} and "→ if branch" in gate.note
    tune = execution.steps["Tune"].properties
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in tune["TrainingJobSummaries"]]
    assert len(values) == 4 and values == sorted(values, reverse=True)
    versions = LocalRegistry(work).versions("census-income-lgbm")
    assert [v["ModelPackageVersion"] for v in versions] == [1]
    assert execution.registered_model_package == versions[0]["ModelPackageArn"]
    deploy = execution.steps["Deploy"].properties
    assert deploy["statusCode"] == 200 and deploy["endpoint_name"] == "census-income-dev"


def test_endpoint_serves_probabilities_equal_to_the_booster(fast_run, adult):
    import lightgbm as lgb
    import numpy as np

    from lgbm_pipeline_compiler.local.control import LocalSageMaker
    from lgbm_pipeline_compiler.local.serve import load_model, make_server
    from lgbm_pipeline_compiler.local.store import ObjectStore

    _, work = fast_run
    arn = LocalSageMaker(work).endpoint_model_package("census-income-dev")
    model = load_model(ObjectStore(work), LocalRegistry(work).model_data_url(arn))
    server = make_server(model, port=0)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert urllib.request.urlopen(f"{url}/ping").status == 200
        rows = "39,State-gov,Bachelors,13,Never-married,Adm-clerical,Not-in-family,White,Male,2174,0,40,United-States\n"
        rows += "52,Self-emp-inc,HS-grad,9,Married-civ-spouse,Exec-managerial,Wife,White,Female,15024,0,40,United-States\n"
        request = urllib.request.Request(
            f"{url}/invocations", data=rows.encode(), headers={"Content-Type": "text/csv"}
        )
        answer = urllib.request.urlopen(request).read().decode().strip().splitlines()
        served = np.array([float(line.split(",")[0]) for line in answer])
        booster = lgb.Booster(model_file=str(model.model_dir / "model.txt"))
        frame = model.handlers.to_frame(model.handlers.input_fn(rows, "text/csv"), model.model.schema)
        expected = booster.predict(model.handlers.to_model_frame(frame, model.model.schema))
        np.testing.assert_allclose(served, expected, rtol=0, atol=1e-9)
        assert 0 < served[0] < served[1] < 1
        bad = urllib.request.Request(
            f"{url}/invocations", data=b"1,2\n", headers={"Content-Type": "text/csv"}
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(bad)
        assert err.value.code == 400
    finally:
        server.shutdown()
        server.server_close()


def test_run_summary_json_and_runs_listing(fast_run, capsys):
    execution, work = fast_run
    assert main(["runs", "--work-dir", str(work)]) == 0
    assert f"{execution.id}  census-income-lgbm-dev  Succeeded" in capsys.readouterr().out
    record = json.loads((work / "runs" / execution.id / "execution.json").read_text())
    assert [s["name"] for s in record["steps"]][:2] == ["Preprocess", "Tune"]
    assert (work / "runs" / execution.id / "pipeline.json").is_file()
    assert Path(record["steps"][0]["log"]).read_text().startswith("$ ")


def test_gate_false_branch_skips_register_and_deploy(make_spec, tmp_path, adult):
    spec = make_spec(_no_clarify(fast_spec_text()))
    execution = _run(spec, tmp_path / "work", adult, parameters={"F1Threshold": "0.99"})
    statuses = _statuses(execution)
    assert execution.status == "Succeeded"
    assert statuses["F1Gate"] == "Succeeded" and "→ else branch" in execution.steps["F1Gate"].note
    assert statuses["Register-RegisterModel"] == statuses["Deploy"] == "Skipped"
    assert LocalRegistry(tmp_path / "work").versions("census-income-lgbm") == []


def test_failing_script_fails_its_step_and_stops_dependents_then_resume(make_spec, tmp_path, adult):
    broken = "import sys\nprint('evaluating...')\nsys.exit('evaluate: error: the test split is corrupt')\n"
    spec = make_spec(_no_clarify(fast_spec_text()), scripts={"evaluate.py": broken})
    work = tmp_path / "work"
    failed = _run(spec, work, adult)
    statuses = _statuses(failed)
    assert failed.status == "Failed"
    assert statuses["Preprocess"] == statuses["Tune"] == "Succeeded"
    assert statuses["Evaluate"] == "Failed"
    assert statuses["F1Gate"] == statuses["Register-RegisterModel"] == statuses["Deploy"] == "NotExecuted"
    reason = failed.steps["Evaluate"].failure_reason
    assert "the test split is corrupt" in reason and "evaluating..." in reason
    assert "step Evaluate failed" in failed.failure_reason
    assert Path(failed.steps["Evaluate"].log).is_file()

    (spec.parent / "evaluate.py").write_text(bundled("evaluate.py"))
    resumed = _run(spec, work, adult, resume=failed.id)
    assert resumed.id == failed.id and resumed.status == "Succeeded"
    assert resumed.steps["Preprocess"].cached and resumed.steps["Tune"].cached
    assert not resumed.steps["Evaluate"].cached and resumed.steps["Evaluate"].status == "Succeeded"
    assert RunStore(work).load(failed.id).status == "Succeeded"


def test_objective_regex_that_never_matches_fails_tuning_clearly(make_spec, tmp_path, adult):
    text = fast_spec_text(**{'regex: "validation-f1: ([0-9\\\\.]+)"': 'regex: "val-f1-score: ([0-9.]+)"'})
    execution = _run(make_spec(_no_clarify(text)), tmp_path / "work", adult)
    assert execution.status == "Failed"
    reason = execution.steps["Tune"].failure_reason
    assert (
        "all 4 training jobs failed" in reason and "never matched regex 'val-f1-score: ([0-9.]+)'" in reason
    )


def test_missing_data_mapping_is_a_clear_error(capsys, tmp_path):
    spec = tmp_path / "census.yaml"
    spec.write_text(_no_clarify(fast_spec_text()))
    code = main(["run", str(spec), "--local", "--work-dir", str(tmp_path / "work")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"reads {INPUT_URI}, which is not in the local object store" in err
    assert f"--data {INPUT_URI}=PATH" in err and "Traceback" not in err


def test_unknown_parameter_is_a_clear_error(capsys, tmp_path, adult):
    spec = tmp_path / "census.yaml"
    spec.write_text(_no_clarify(fast_spec_text()))
    code = main(["run", str(spec), "--local", "--work-dir", str(tmp_path / "w"), "--param", "F1Treshold=0.5",
                 "--data", f"{INPUT_URI}={adult}"])  # fmt: skip
    assert code == 2
    assert "unknown parameter(s) F1Treshold" in capsys.readouterr().err


def test_default_relative_work_dir_works(make_spec, tmp_path, adult, monkeypatch, capsys):
    """As the README runs it: from the project dir, with the default `.lgbm-pipeline/` work dir."""
    spec = make_spec(_no_clarify(fast_spec_text()))
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    assert main(["run", str(spec), "--local", "--data", f"{INPUT_URI}={adult}"]) == 0
    assert "Succeeded" in capsys.readouterr().err
    assert (project / ".lgbm-pipeline" / "registry" / "census-income-lgbm" / "1.json").is_file()


def test_serve_unknown_endpoint_is_a_clear_error(tmp_path, capsys):
    code = main(["serve", "--endpoint", "nope", "--work-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and 'Could not find endpoint "nope"' in err and "Traceback" not in err
