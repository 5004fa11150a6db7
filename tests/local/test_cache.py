"""Step caching in the local runner (issue 16), with SageMaker's semantics: the documented cache-key
attributes per step type, the most recent successful run of the same pipeline within ExpireAfter,
hits shown; and end to end, a repeated census run reuses preprocessing and tuning (and its compiled
definition, when nothing a compile reads changed), and a changed step script reruns exactly the
steps that depend on it."""

from __future__ import annotations

import contextlib
import hashlib
import io
import time
from pathlib import Path

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.emit import render_json
from lgbm_pipeline_compiler.local.cache import StepCache, cache_key, expire_seconds
from lgbm_pipeline_compiler.local.records import FAILED, SUCCEEDED, Execution, RunStore, StepRecord

from .conftest import bundled, fork

PROCESSING = {
    "Name": "Preprocess",
    "Type": "Processing",
    "CacheConfig": {"Enabled": True, "ExpireAfter": "PT1H"},
    "Arguments": {
        "AppSpecification": {"ImageUri": "img", "ContainerEntrypoint": ["python3", "/opt/ml/code/p.py"]},
        "Environment": {"A": "1"},
        "ProcessingInputs": [{"InputName": "code", "S3Input": {"S3Uri": "s3://b/code/p.py"}}],
        "ProcessingOutputConfig": {
            "Outputs": [{"S3Output": {"S3Uri": {"Get": "Execution.PipelineExecutionId"}}}]
        },
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge"}},
    },
}


def resolve(execution_id: str):
    def go(value):
        if isinstance(value, dict):
            if value == {"Get": "Execution.PipelineExecutionId"}:
                return execution_id
            return {k: go(v) for k, v in value.items()}
        if isinstance(value, list):
            return [go(v) for v in value]
        return value

    return go


def changed(path: tuple, value) -> dict:
    import copy

    step = copy.deepcopy(PROCESSING)
    node = step
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return step


def test_durations_are_read_as_sagemaker_writes_them():
    assert expire_seconds("P30D") == 30 * 86400
    assert expire_seconds("PT12H") == 12 * 3600
    assert expire_seconds("P1DT6H30M") == 86400 + 6 * 3600 + 30 * 60
    assert expire_seconds("P1Y2M1W") == 365 * 86400 + 60 * 86400 + 7 * 86400
    assert expire_seconds("30d") is None and expire_seconds("P") is None and expire_seconds("") is None


def test_the_key_is_the_documented_attributes_resolved():
    key = cache_key(PROCESSING, resolve("run-1"))
    assert key == cache_key(PROCESSING, resolve("run-2"))  # outputs carry the execution id: not in the key
    assert key == cache_key(changed(("Arguments", "ProcessingResources"), {}), resolve("run-1"))
    for path, value in (
        (("Arguments", "Environment"), {"A": "2"}),
        (("Arguments", "ProcessingInputs", 0, "S3Input", "S3Uri"), "s3://b/code/p2.py"),
        (("Arguments", "AppSpecification", "ImageUri"), "other"),
    ):
        assert cache_key(changed(path, value), resolve("run-1")) != key, path
    tuning = {
        "Type": "Tuning",
        "Arguments": {
            "TrainingJobDefinition": {
                "StaticHyperParameters": {"a": "1"},
                "OutputDataConfig": {"S3OutputPath": "s3://x"},
            }
        },
    }
    moved = {
        "Type": "Tuning",
        "Arguments": {
            "TrainingJobDefinition": {
                "StaticHyperParameters": {"a": "1"},
                "OutputDataConfig": {"S3OutputPath": "s3://y"},
            }
        },
    }
    assert cache_key(tuning, resolve("r")) == cache_key(moved, resolve("r"))
    assert cache_key({"Type": "Condition", "Arguments": {}}, resolve("r")) is None


def _run(store: RunStore, run_id: str, status: str, step_status: str, ended: float, key: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ended))
    record = StepRecord(
        name="Preprocess", type="Processing", status=step_status, end=stamp, properties={"run": run_id}
    )
    store.save(
        Execution(
            id=run_id,
            pipeline_name="p",
            status=status,
            parameters={},
            started=stamp,
            steps={"Preprocess": record},
        )
    )
    StepCache(store, "p", run_id).remember(run_id, {"Preprocess": key})


def test_only_the_newest_successful_unexpired_run_of_the_same_pipeline_is_reused(tmp_path):
    store = RunStore(tmp_path)
    key = cache_key(PROCESSING, resolve("now"))
    now = time.time()
    _run(store, "old", SUCCEEDED, SUCCEEDED, now - 7200, key)  # older than PT1H
    _run(store, "failed-run", FAILED, SUCCEEDED, now - 60, key)  # the pipeline failed: never reused
    _run(store, "good", SUCCEEDED, SUCCEEDED, now - 600, key)
    _run(store, "newer", SUCCEEDED, SUCCEEDED, now - 300, key)
    _run(store, "other-key", SUCCEEDED, SUCCEEDED, now - 30, "0" * 64)
    hit = StepCache(store, "p", "current").lookup(PROCESSING, key)
    assert hit is not None and hit.run_id == "newer" and hit.record.properties == {"run": "newer"}
    assert StepCache(store, "another-pipeline", "current").lookup(PROCESSING, key) is None
    assert StepCache(store, "p", "current").lookup(changed(("CacheConfig", "Enabled"), False), key) is None
    short = changed(("CacheConfig", "ExpireAfter"), "PT1M")
    assert StepCache(store, "p", "current").lookup(short, key) is None


def run_census(spec: Path, work: Path) -> tuple[Execution, str]:
    before = {e.id for e in RunStore(work).list()}
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", str(spec), "--local", "--work-dir", str(work)])
    assert code == 0, out.getvalue()[-3000:] + err.getvalue()[-3000:]
    # the run this call made (not the newest by start time, which has a resolution of one second)
    (new,) = [e for e in RunStore(work).list() if e.id not in before]
    return new, err.getvalue()  # progress lines go to stderr


def notes(execution: Execution) -> dict[str, str | None]:
    """Each step's cache note: what an assertion on reuse shows when it fails."""
    return {name: r.note for name, r in execution.steps.items()}


def reused(execution: Execution) -> set[str]:
    return {name for name, r in execution.steps.items() if r.cached}


def test_a_repeated_run_reuses_steps_and_a_changed_script_reruns_its_dependents(
    plain_run, tmp_path, monkeypatch
):
    """The first run is the session's `plain_run` (step caching on); the others run in a copy of its
    work dir, from a copy of its spec (a compile reads the spec's bytes and the scripts beside it,
    never its path)."""
    import lgbm_pipeline_compiler.compiler as compiler

    compiles: list[str] = []
    real = compiler.compile_definition
    monkeypatch.setattr(
        compiler, "compile_definition", lambda spec: compiles.append(spec.pipeline.name) or real(spec)
    )
    folder = tmp_path / "spec"
    folder.mkdir()
    spec = folder / "census.yaml"
    spec.write_text(plain_run.spec_text)
    assert "\ncache:\n  enabled: true\n" in plain_run.spec_text
    work = fork(plain_run, tmp_path)
    first = plain_run.execution
    assert first.status == SUCCEEDED and reused(first) == set()

    second, out = run_census(spec, work)
    assert len(compiles) == 0  # nothing the compile reads changed: work/compiled/ is reused
    assert reused(second) == {"Preprocess", "Tune", "Evaluate"}, notes(
        second
    )  # the transform's model is new each run
    for name in ("Preprocess", "Tune", "Evaluate"):
        record = second.steps[name]
        assert record.note.startswith(f"cache hit: reused from run {first.id}")
        assert record.properties == first.steps[name].properties
        assert f"↺ {name} reused — cache hit: reused from run {first.id}" in out
    assert second.steps["BatchTransform"].status == SUCCEEDED and not second.steps["BatchTransform"].cached

    (folder / "evaluate.py").write_text(bundled("evaluate.py") + "\n# changed: evaluation only\n")
    third, _ = run_census(spec, work)
    assert len(compiles) == 1  # a script beside the spec now replaces the bundled one
    assert reused(third) == {"Preprocess", "Tune"}, notes(third)
    assert third.steps["Evaluate"].status == SUCCEEDED

    (folder / "train.py").write_text(bundled("train.py") + "\n# changed: training only\n")
    fourth, _ = run_census(spec, work)
    assert len(compiles) == 2
    assert reused(fourth) == {"Preprocess"}, notes(fourth)
    assert fourth.steps["Tune"].status == SUCCEEDED and fourth.steps["Evaluate"].status == SUCCEEDED


QUALITY_CHECK = {
    "Name": "DataQualityCheck",
    "Type": "QualityCheck",
    "CheckType": "DATA_QUALITY",
    "SkipCheck": False,
    "RegisterNewBaseline": False,
    "ModelPackageGroupName": "g",
    "SuppliedBaselineStatistics": "s3://b/statistics.json",
    "SuppliedBaselineConstraints": "s3://b/constraints.json",
    "CacheConfig": {"Enabled": True, "ExpireAfter": "PT1H"},
    "Arguments": {
        "AppSpecification": {"ImageUri": "model-monitor"},
        "Environment": {"dataset_format": '{"csv": {"header": true}}'},
        "ProcessingInputs": [{"InputName": "baseline_dataset_input", "S3Input": {"S3Uri": "s3://b/baseline.csv"}}],
        "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": {"Get": "Execution.PipelineExecutionId"}}}]},
    },
}  # fmt: skip


def test_a_quality_check_is_cached_like_a_clarify_check_with_its_supplied_statistics():
    import copy

    key = cache_key(QUALITY_CHECK, resolve("run-1"))
    assert key is not None and len(key) == 64
    assert cache_key(QUALITY_CHECK, resolve("run-2")) == key  # the output location is not in the key
    for field, value in (
        ("SuppliedBaselineStatistics", "s3://b/other-statistics.json"),
        ("SuppliedBaselineConstraints", "s3://b/other-constraints.json"),
        ("SkipCheck", True),
        ("RegisterNewBaseline", True),
        ("ModelPackageGroupName", "h"),
    ):
        assert cache_key({**QUALITY_CHECK, field: value}, resolve("run-1")) != key, field
    other_input = copy.deepcopy(QUALITY_CHECK)
    other_input["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] = "s3://b/other.csv"
    assert cache_key(other_input, resolve("run-1")) != key
    # A ClarifyCheck's key has no SuppliedBaselineStatistics: the same as before QualityCheck was cached.
    clarify = {k: v for k, v in QUALITY_CHECK.items() if k != "SuppliedBaselineStatistics"}
    clarify["Type"] = "ClarifyCheck"
    job = {k: v for k, v in clarify["Arguments"].items() if k != "ProcessingOutputConfig"}
    fields = ("CheckType", "ModelName", "SkipCheck", "RegisterNewBaseline", "ModelPackageGroupName", "SuppliedBaselineConstraints")  # fmt: skip
    chosen = {"Arguments": job, **{k: clarify.get(k) for k in fields}}
    expected = hashlib.sha256(render_json(["ClarifyCheck", chosen]).encode()).hexdigest()
    assert cache_key(clarify, resolve("run-1")) == expected
