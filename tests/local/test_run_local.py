"""Local runs of compiled pipelines on the real Adult data: success, failure, resume, branches.

Success is asserted on the session's shared runs. The gate's other branch, the failing script and
the failing tuning each resume a private copy of the shared run without checks in which the step
that is to differ (and what depends on it) has not run yet: only those steps run.
"""

from __future__ import annotations

import json
import shutil
import socket
import urllib.request
from pathlib import Path
from threading import Thread

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local.api import run_spec
from lgbm_pipeline_compiler.local.records import RunStore
from lgbm_pipeline_compiler.local.registry import LocalRegistry
from lgbm_pipeline_compiler.local.runner import RunOptions

from .conftest import (
    FAST_TRIALS,
    SMALL_TRIALS,
    bundled,
    fast_spec_text,
    fork,
    no_clarify,
    replace_all,
)

PUBLIC_DATA = "s3://sagemaker-example-files-prod-{{ region }}/datasets/tabular/uci_adult"
"""Where the census spec reads Adult: AWS's example files, which local runs find bundled."""


def _run(spec: Path, work: Path, **kwargs):
    return run_spec(spec, RunOptions(work_dir=work, **kwargs))


def _statuses(execution) -> dict[str, str]:
    return {name: step.status for name, step in execution.steps.items()}


def test_fast_run_succeeds_registers_and_deploys(clarify_run):
    execution, work = clarify_run.execution, clarify_run.work
    assert execution.status == "Succeeded", execution.failure_reason
    assert set(_statuses(execution).values()) == {"Succeeded"}
    gate = execution.steps["F1Gate"]
    assert gate.properties == {"Outcome": True} and "→ if branch" in gate.note
    tune = execution.steps["Tune"].properties
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in tune["TrainingJobSummaries"]]
    assert len(values) == FAST_TRIALS and values == sorted(values, reverse=True)
    versions = LocalRegistry(work).versions("census-income-lgbm")
    assert [v["ModelPackageVersion"] for v in versions] == [1]
    assert execution.registered_model_package == versions[0]["ModelPackageArn"]
    deploy = execution.steps["Deploy"].properties
    assert deploy["statusCode"] == 200 and deploy["endpoint_name"] == "census-income-dev"


def test_endpoint_serves_probabilities_equal_to_the_booster(approved_run):
    import lightgbm as lgb
    import numpy as np

    from lgbm_pipeline_compiler.local.control import LocalSageMaker
    from lgbm_pipeline_compiler.local.serve import load_model, make_server
    from lgbm_pipeline_compiler.local.store import ObjectStore

    work = approved_run.work
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
            f"{url}/invocations",
            data=rows.encode(),
            headers={"Content-Type": "text/csv", "Accept": "text/csv"},
        )
        answer = urllib.request.urlopen(request).read().decode().strip().splitlines()
        served = np.array([float(line.split(",")[0]) for line in answer])
        booster = lgb.Booster(model_file=str(model.model_dir / "model.txt"))
        frame = model.handlers.to_frame(model.handlers.parse_input(rows, "text/csv"), model.model.schema)
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


def test_run_summary_json_and_runs_listing(clarify_run, capsys):
    execution, work = clarify_run.execution, clarify_run.work
    assert main(["runs", "--work-dir", str(work)]) == 0
    assert f"{execution.id}  census-income-lgbm-dev  Succeeded" in capsys.readouterr().out
    record = json.loads((work / "runs" / execution.id / "execution.json").read_text())
    assert [s["name"] for s in record["steps"]][:2] == ["Preprocess", "Tune"]
    assert (work / "runs" / execution.id / "pipeline.json").is_file()
    preprocess = Path(record["steps"][0]["log"]).read_text().splitlines()
    assert preprocess[0].startswith(
        "note: the job runs in a worker forked from a warm server of the warm pool"
    )
    assert preprocess[1].startswith("$ ") and "/preprocessing.py " in preprocess[1]


def test_gate_false_branch_skips_register_and_deploy(plain_run, tmp_path):
    """The gate is evaluated again on every run: the copy resumes with a threshold no model meets."""
    work = fork(plain_run, tmp_path)
    shutil.rmtree(work / "registry")  # the version the shared run registered: this run must add none
    options = {"parameters": {"F1Threshold": "0.99"}, "resume": plain_run.execution.id}
    execution = _run(plain_run.spec, work, **options)
    statuses = _statuses(execution)
    assert execution.status == "Succeeded"
    assert statuses["F1Gate"] == "Succeeded" and "→ else branch" in execution.steps["F1Gate"].note
    assert statuses["Register-RegisterModel"] == statuses["Deploy"] == "Skipped"
    assert LocalRegistry(work).versions("census-income-lgbm") == []


def test_failing_script_fails_its_step_and_stops_dependents_then_resume(plain_run, make_spec, tmp_path):
    broken = "import sys\nprint('evaluating...')\nsys.exit('evaluate: error: the test split is corrupt')\n"
    spec = make_spec(plain_run.spec_text, scripts={"evaluate.py": broken})
    work = fork(plain_run, tmp_path, rerun=("Evaluate",))
    failed = _run(spec, work, resume=plain_run.execution.id)
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
    resumed = _run(spec, work, resume=failed.id)
    assert resumed.id == failed.id and resumed.status == "Succeeded"
    assert resumed.steps["Preprocess"].cached and resumed.steps["Tune"].cached
    assert not resumed.steps["Evaluate"].cached and resumed.steps["Evaluate"].status == "Succeeded"
    assert RunStore(work).load(failed.id).status == "Succeeded"


def test_objective_regex_that_never_matches_fails_tuning_clearly(plain_run, make_spec, tmp_path):
    regex = {'regex: "validation-f1: ([0-9\\\\.]+)"': 'regex: "val-f1-score: ([0-9.]+)"'}
    spec = make_spec(replace_all(plain_run.spec_text, regex, "objective regex"))
    execution = _run(spec, fork(plain_run, tmp_path, rerun=("Tune",)), resume=plain_run.execution.id)
    assert execution.status == "Failed"
    reason = execution.steps["Tune"].failure_reason
    assert (
        f"all {SMALL_TRIALS} training jobs failed" in reason
        and "never matched regex 'val-f1-score: ([0-9.]+)'" in reason
    )


def test_missing_data_mapping_is_a_clear_error(capsys, tmp_path, monkeypatch):
    """An input that is neither mapped with --data, nor bundled, nor readable from S3 (here S3 is an
    endpoint that refuses connections) is reported before anything runs, naming its URI."""
    private = {f"read: {PUBLIC_DATA}": "read: s3://acme-census-data/uci_adult"}
    spec = tmp_path / "census.yaml"
    spec.write_text(no_clarify(fast_spec_text(**private)))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    for key, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    code = main(["run", str(spec), "--local", "--work-dir", str(tmp_path / "work")])
    err = capsys.readouterr().err
    uri = "s3://acme-census-data/uci_adult/adult.data"
    assert code == 2
    assert f"reads {uri}, which is not in the local object store" in err
    assert f"--data {uri}=PATH" in err and "Traceback" not in err


def test_unknown_parameter_is_a_clear_error(capsys, tmp_path):
    spec = tmp_path / "census.yaml"
    spec.write_text(no_clarify(fast_spec_text()))
    code = main(["run", str(spec), "--local", "--work-dir", str(tmp_path / "w"), "--param", "F1Treshold=0.5"])
    assert code == 2
    assert "unknown parameter(s) F1Treshold" in capsys.readouterr().err


def test_default_relative_work_dir_works(builtin_run):
    """As the README runs it: from the project dir, with the default `.lgbm-pipeline/` work dir."""
    project = builtin_run.project
    assert builtin_run.returncode == 0
    assert "Succeeded" in builtin_run.stderr
    assert (project / ".lgbm-pipeline" / "registry" / "census-income-lgbm" / "1.json").is_file()


def test_serve_unknown_endpoint_is_a_clear_error(tmp_path, capsys):
    code = main(["serve", "--endpoint", "nope", "--work-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and 'Could not find endpoint "nope"' in err and "Traceback" not in err
