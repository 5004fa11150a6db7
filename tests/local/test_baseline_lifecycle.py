"""The Clarify baseline lifecycle on Adult, for each engine, as ClarifyCheckStep runs it in SageMaker:

1. the default parameters with no baseline (none supplied, no Approved package, an empty registry)
   fail at the check steps: SkipCheck/RegisterNewBaseline are false;
2. ``--first-run`` sets both switches: the run succeeds and registers the calculated baselines
   with the model package;
3. ``lgbm-pipeline registry approve ARN`` approves it;
4. the next run with the default parameters, a new execution, checks against the Approved
   package's baselines and passes (the same data and model, so nothing drifts);
5. supplied constraints the model violates (a tiny DI/DPPL) fail the bias check naming the metric,
   the baseline and the value.

Run 2 is the session's shared first run of each engine (`clarify_run`, `builtin_run`: the census
spec with the fast tuning budget and step caching on, as a team running this lifecycle would have
it). The others are made from private copies of it (conftest.fork), so each pays only for its
checks: run 1 resumes a copy whose checks (and what depends on them) have not run and whose
registry is empty, with the default parameters; run 4 is a new execution in a copy where the
package is approved, and reuses run 2's preprocessing, tuning and evaluation from the step cache
(their cache keys are unchanged; the checks' SkipCheck and RegisterNewBaseline are in theirs);
run 5 resumes a copy of run 4 in which the bias check has not run.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from lgbm_pipeline_compiler.cli import main as cli
from lgbm_pipeline_compiler.local.api import run_spec
from lgbm_pipeline_compiler.local.registry import LocalRegistry
from lgbm_pipeline_compiler.local.runner import RunOptions
from lgbm_pipeline_compiler.local.store import ObjectStore

from .conftest import fork

GROUP = "census-income-lgbm"
CHECKS = ("ModelBiasCheck", "ModelExplainabilityCheck")
SUPPLIED = "s3://acme-baselines/census/strict-bias-constraints.json"
SHARED = {"sagemaker-clarify": "clarify_run", "builtin": "builtin_run"}


def strict_bias_constraints() -> bytes:
    """DPPL 0.01 and DI 0.99 for Sex=Female: the census model is far above both."""
    metrics = [
        {"name": "DI", "description": "Disparate Impact (DI)", "value": 0.99},
        {
            "name": "DPPL",
            "description": "Difference in positive proportions in predicted labels",
            "value": 0.01,
        },
    ]
    section = {"label": "Target", "label_value_or_threshold": "1", "facets": {"Sex": [{"value_or_threshold": "Female", "metrics": metrics}]}}  # fmt: skip
    return json.dumps({"version": "1.0", "post_training_bias_metrics": section}).encode()


@pytest.fixture(scope="module", params=sorted(SHARED))
def lifecycle(request, tmp_path_factory, clarify_run, builtin_run) -> SimpleNamespace:
    engine = request.param
    first = {"clarify_run": clarify_run, "builtin_run": builtin_run}[SHARED[engine]]
    root = tmp_path_factory.mktemp(engine)
    seconds: dict[str, float] = {}

    def run(label: str, where: Path, **options) -> object:
        started = time.perf_counter()
        execution = run_spec(first.spec, RunOptions(work_dir=where, **options))
        seconds[label] = round(time.perf_counter() - started, 1)
        return execution

    # 1: what a fresh work dir has of the first run: nothing registered, no check run
    work1 = fork(first, root / "1", rerun=(*CHECKS, "DataQualityCheck"))
    shutil.rmtree(work1 / "registry")
    fresh = run("1 default, empty registry (resumes a copy of 2)", work1, resume=first.execution.id)
    versions = LocalRegistry(first.work).versions(GROUP)
    work = fork(first, root / "approved")
    approved = cli(["registry", "approve", first.execution.registered_model_package or "none", "--work-dir", str(work)])  # fmt: skip
    following = run("4 default, new execution", work)
    copy = fork(SimpleNamespace(work=work, execution=following), root / "5", rerun=("ModelBiasCheck",))
    ObjectStore(copy).put_bytes(SUPPLIED, strict_bias_constraints())
    violated = run(
        "5 supplied constraints (resumes a copy of 4)",
        copy,
        parameters={"SuppliedModelBiasConstraints": SUPPLIED},
        resume=following.id,
    )
    print(f"\n{engine}: seconds per run {seconds}")
    return SimpleNamespace(
        engine=engine,
        work=work,
        work1=work1,
        work5=copy,
        fresh=fresh,
        first=first.execution,
        versions=versions,
        approved=approved,
        following=following,
        violated=violated,
        seconds=seconds,
    )


def log(work: Path, execution, step: str) -> str:
    return (work / "runs" / execution.id / "logs" / f"{step}.log").read_text()


def test_1_default_parameters_in_a_fresh_work_dir_fail_at_the_checks(lifecycle):
    run = lifecycle.fresh
    assert run.status == "Failed"
    assert run.steps["Evaluate"].status == "Succeeded"
    assert LocalRegistry(lifecycle.work1).versions(GROUP) == []  # as in a fresh work dir
    for name, check, parameter in (("ModelBiasCheck", "bias", "ModelBias"), ("ModelExplainabilityCheck", "explainability", "ModelExplainability")):  # fmt: skip
        reason = run.steps[name].failure_reason
        assert run.steps[name].status == "Failed", name
        assert f"no Approved package in model package group {GROUP} has one" in reason, reason
        assert "lgbm-pipeline run --local --first-run" in reason
        if lifecycle.engine == "builtin":  # the job's own words (clarify_baseline.no_baseline_message)
            assert reason.startswith(f"no {check} baseline: ")
            assert f"clarify.{check}.baseline.skip_check / register_new_baseline" in reason
        else:  # the ClarifyCheck step's, naming the pipeline parameters
            assert f"Skip{parameter}Check=true and RegisterNew{parameter}Baseline=true" in reason
    assert run.steps["Register-RegisterModel"].status == "NotExecuted"
    assert run.registered_model_package is None


def test_2_first_run_succeeds_and_registers_the_baselines(lifecycle):
    run = lifecycle.first
    assert run.status == "Succeeded", run.failure_reason
    assert (
        run.parameters["SkipModelBiasCheck"] is True
        and run.parameters["RegisterNewModelBiasBaseline"] is True
    )
    assert [v["ModelPackageArn"] for v in lifecycle.versions] == [run.registered_model_package]
    package = lifecycle.versions[0]
    assert package["ModelApprovalStatus"] == "PendingManualApproval"
    baselines = package["Request"]["DriftCheckBaselines"]
    for uri, section in (
        (baselines["Bias"]["PostTrainingConstraints"]["S3Uri"], "post_training_bias_metrics"),
        (baselines["Explainability"]["Constraints"]["S3Uri"], "explanations"),
    ):
        assert section in json.loads(ObjectStore(lifecycle.work).read_bytes(uri)), uri


def test_3_registry_approve_approves_the_package(lifecycle):
    assert lifecycle.approved == 0
    package = LocalRegistry(lifecycle.work).get(lifecycle.first.registered_model_package)
    assert package["ModelApprovalStatus"] == "Approved"


def test_4_the_next_default_run_checks_against_the_approved_baselines(lifecycle):
    run = lifecycle.following
    assert run.status == "Succeeded", run.failure_reason
    assert run.id != lifecycle.first.id
    cached = {name for name, step in run.steps.items() if step.cached}
    assert {"Preprocess", "Tune", "Evaluate"} <= cached, cached  # run 2's, reused
    assert not cached & {*CHECKS, "DataQualityCheck"}, cached  # their switches are in the keys
    for name in cached:
        assert run.steps[name].note.startswith(f"cache hit: reused from run {lifecycle.first.id}")
    baselines = lifecycle.versions[0]["Request"]["DriftCheckBaselines"]
    for name, uri in zip(CHECKS, (baselines["Bias"]["PostTrainingConstraints"]["S3Uri"], baselines["Explainability"]["Constraints"]["S3Uri"]), strict=True):  # fmt: skip
        text = log(lifecycle.work, run, name)
        assert (
            f"checking against the baseline {uri} (latest Approved package in model package group {GROUP}"
            in text
        )
        assert "clarify_check: PASSED: Compared with baseline" in text and "0 violation(s)" in text
    # the check ran against the Approved baseline, so that is the one the new package carries
    newest = LocalRegistry(lifecycle.work).versions(GROUP)[-1]
    assert (
        newest["ModelPackageArn"] == run.registered_model_package != lifecycle.first.registered_model_package
    )
    store, before = ObjectStore(lifecycle.work), lifecycle.versions[0]["Request"]["DriftCheckBaselines"]
    after = newest["Request"]["DriftCheckBaselines"]
    for section, member in (("Bias", "PostTrainingConstraints"), ("Explainability", "Constraints")):
        assert json.loads(store.read_bytes(after[section][member]["S3Uri"])) == json.loads(
            store.read_bytes(before[section][member]["S3Uri"])
        )


def test_5_violated_supplied_constraints_fail_the_bias_check(lifecycle):
    run = lifecycle.violated
    assert run.status == "Failed"
    step = run.steps["ModelBiasCheck"]
    assert step.status == "Failed"
    assert "bias check failed: DI for Sex=Female is " in step.failure_reason, step.failure_reason
    assert "farther from 1 than the baseline 0.9900 (2 violations" in step.failure_reason
    text = log(lifecycle.work5, run, "ModelBiasCheck")
    assert "clarify_check: FAILED: Compared with baseline" in text and "2 violation(s)" in text
    if lifecycle.engine == "sagemaker-clarify":
        assert f"checking against the baseline {SUPPLIED} (supplied)" in text
    assert run.steps["ModelExplainabilityCheck"].status == "Succeeded"  # still the Approved baseline
    assert run.steps["Register-RegisterModel"].status == "NotExecuted"
