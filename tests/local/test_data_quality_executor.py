"""The local QualityCheck executor: the DataQualityCheck step of the data_quality golden, run with
data_quality.py on a small dataset, under QualityCheckStep's baseline lifecycle (first run, the
latest Approved package's baseline, supplied baselines, skip check, violations failing the step)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lgbm_pipeline_compiler import load_spec
from lgbm_pipeline_compiler.compiler import compile_definition
from lgbm_pipeline_compiler.local.context import StepContext, StepFailed
from lgbm_pipeline_compiler.local.executors import EXECUTORS, processing, quality
from lgbm_pipeline_compiler.local.expressions import Resolver
from lgbm_pipeline_compiler.local.store import ObjectStore

from .conftest import job_context

REPO = Path(__file__).resolve().parents[2]
GROUP = "census-income-lgbm"
DATASET_PREFIX = "s3://b/runs/r1/DataQualityDataset"
OUTPUT = "s3://lgbm-pipelines-111122223333/census-income/dev/runs/r1/DataQualityCheck/baseline"


@pytest.fixture(scope="module")
def check_step() -> dict:
    definition = compile_definition(
        load_spec(REPO / "tests" / "golden" / "data_quality" / "spec.yaml")
    ).definition
    return next(s for s in definition["Steps"] if s["Type"] == "QualityCheck")


def frame(shift: int = 0, rows: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "Age": rng.integers(17, 90, size=rows) + shift,
            "Sex": rng.choice(["Female", "Male"], size=rows, p=[0.33, 0.67]),
            "Hours per week": rng.integers(1, 99, size=rows),
        }
    )


def context(tmp_path: Path, step: dict, data: pd.DataFrame, **parameters) -> StepContext:
    work_dir = tmp_path / "work"
    store = ObjectStore(work_dir)
    store.put_bytes(f"{DATASET_PREFIX}/baseline.csv", data.to_csv(index=False).encode())
    values = {
        "SkipDataQualityCheck": False,
        "RegisterNewDataQualityBaseline": False,
        "SuppliedDataQualityStatistics": "",
        "SuppliedDataQualityConstraints": "",
        "DataQualityInstanceType": "ml.m5.xlarge",
        **parameters,
    }
    outputs = {"Outputs": {"baseline_dataset": {"S3Output": {"S3Uri": DATASET_PREFIX}}}}
    resolver = Resolver(
        values,
        {"PipelineExecutionId": "r1"},
        {"DataQualityDataset": {"ProcessingOutputConfig": outputs}},
        None,
    )
    return job_context(work_dir, step, resolve=resolver, store=store, cores=1, registry=True)


def approve(ctx: StepContext, statistics: str, constraints: str) -> None:
    source = {"ContentType": "application/json"}
    quality = {"Statistics": {**source, "S3Uri": statistics}, "Constraints": {**source, "S3Uri": constraints}}
    request = {"ModelPackageGroupName": GROUP, "ModelApprovalStatus": "Approved"}
    ctx.services["registry"].register({**request, "DriftCheckBaselines": {"ModelDataQuality": quality}})


def test_a_first_run_computes_the_baseline(tmp_path, check_step):
    ctx = context(
        tmp_path, check_step, frame(), SkipDataQualityCheck=True, RegisterNewDataQualityBaseline=True
    )
    properties = EXECUTORS["QualityCheck"](ctx)
    assert properties["CalculatedBaselineStatistics"] == f"{OUTPUT}/statistics.json"
    assert properties["CalculatedBaselineConstraints"] == f"{OUTPUT}/constraints.json"
    assert properties["BaselineUsedForDriftCheckStatistics"] == f"{OUTPUT}/statistics.json"
    assert properties["BaselineUsedForDriftCheckConstraints"] == f"{OUTPUT}/constraints.json"
    statistics = json.loads(ctx.store.read_bytes(f"{OUTPUT}/statistics.json"))
    assert statistics["dataset"] == {"item_count": 3000}
    assert [(f["name"], f["inferred_type"]) for f in statistics["features"]] == [
        ("Age", "Integral"),
        ("Sex", "String"),
        ("Hours per week", "Integral"),
    ]
    constraints = json.loads(ctx.store.read_bytes(f"{OUTPUT}/constraints.json"))
    assert constraints["features"][1]["string_constraints"] == {"domains": ["Female", "Male"]}
    assert "a first run" in ctx.log.getvalue()


def test_without_a_baseline_only_a_first_run_succeeds(tmp_path, check_step):
    ctx = context(tmp_path, check_step, frame(), SkipDataQualityCheck=True)
    with pytest.raises(StepFailed) as failed:
        EXECUTORS["QualityCheck"](ctx)
    assert str(failed.value) == (
        f"no DATA_QUALITY baseline: none supplied (SuppliedBaselineConstraints) and no Approved package in model "
        f"package group {GROUP} has one. QualityCheckStep needs the previous baseline unless SkipCheck and "
        "RegisterNewBaseline are both true; for a first run set SkipDataQualityCheck=true and "
        "RegisterNewDataQualityBaseline=true (locally: lgbm-pipeline run --local --first-run)"
    )


def _first_baseline(tmp_path: Path, check_step: dict) -> tuple[str, str]:
    first = context(
        tmp_path / "first",
        check_step,
        frame(),
        SkipDataQualityCheck=True,
        RegisterNewDataQualityBaseline=True,
    )
    EXECUTORS["QualityCheck"](first)
    return (
        json.loads(first.store.read_bytes(f"{OUTPUT}/statistics.json")),
        json.loads(first.store.read_bytes(f"{OUTPUT}/constraints.json")),
    )


def _put(ctx: StepContext, uri: str, document: dict) -> str:
    ctx.store.put_bytes(uri, json.dumps(document).encode())
    return uri


def test_the_latest_approved_baseline_is_checked_and_drift_fails_the_step(tmp_path, check_step):
    statistics, constraints = _first_baseline(tmp_path, check_step)
    same = context(tmp_path / "same", check_step, frame())
    approve(
        same,
        _put(same, "s3://b/v1/statistics.json", statistics),
        _put(same, "s3://b/v1/constraints.json", constraints),
    )
    properties = EXECUTORS["QualityCheck"](same)
    assert properties["BaselineUsedForDriftCheckStatistics"] == "s3://b/v1/statistics.json"
    assert properties["BaselineUsedForDriftCheckConstraints"] == "s3://b/v1/constraints.json"
    assert json.loads(same.store.read_bytes(f"{OUTPUT}/constraint_violations.json")) == {"violations": []}
    assert f"(latest Approved package in model package group {GROUP})" in same.log.getvalue()

    older = context(tmp_path / "older", check_step, frame(shift=20))
    approve(
        older,
        _put(older, "s3://b/v1/statistics.json", statistics),
        _put(older, "s3://b/v1/constraints.json", constraints),
    )
    with pytest.raises(
        StepFailed, match=r"^data quality check failed: Age: baseline_drift_check: Baseline drift distance: "
    ):
        EXECUTORS["QualityCheck"](older)
    violations = json.loads(older.store.read_bytes(f"{OUTPUT}/constraint_violations.json"))["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("Age", "baseline_drift_check")
    ]


def test_skip_check_records_violations_and_a_supplied_baseline_wins(tmp_path, check_step):
    statistics, constraints = _first_baseline(tmp_path, check_step)
    constraints["features"][1]["string_constraints"]["domains"] = ["Female"]  # Male is now unknown
    ctx = context(
        tmp_path / "skip",
        check_step,
        frame(),
        SkipDataQualityCheck=True,
        SuppliedDataQualityStatistics="s3://b/supplied/statistics.json",
        SuppliedDataQualityConstraints="s3://b/supplied/constraints.json",
    )
    _put(ctx, "s3://b/supplied/statistics.json", statistics)
    _put(ctx, "s3://b/supplied/constraints.json", constraints)
    properties = EXECUTORS["QualityCheck"](ctx)  # no registry lookup: nothing is approved
    assert properties["BaselineUsedForDriftCheckConstraints"] == "s3://b/supplied/constraints.json"
    violations = json.loads(ctx.store.read_bytes(f"{OUTPUT}/constraint_violations.json"))["violations"]
    assert [(v["feature_name"], v["constraint_check_type"]) for v in violations] == [
        ("Sex", "categorical_values_check")
    ]
    assert "(supplied)" in ctx.log.getvalue()


def test_a_headerless_dataset_gets_sparks_column_names(tmp_path, check_step):
    step = json.loads(json.dumps(check_step))
    step["Arguments"]["Environment"]["dataset_format"] = json.dumps({"csv": {"header": False}})
    ctx = context(
        tmp_path, step, frame(rows=50), SkipDataQualityCheck=True, RegisterNewDataQualityBaseline=True
    )
    ctx.store.put_bytes(
        f"{DATASET_PREFIX}/baseline.csv", frame(rows=50).to_csv(index=False, header=False).encode()
    )
    EXECUTORS["QualityCheck"](ctx)
    statistics = json.loads(ctx.store.read_bytes(f"{OUTPUT}/statistics.json"))
    assert [f["name"] for f in statistics["features"]] == ["_c0", "_c1", "_c2"]


# -- the builtin engine's job: its lookup, done locally by quality.approved_baseline_arguments ------

PLACEHOLDER = "s3://b/artifacts/0123/no-baseline.json"


def builtin_arguments(skip: str = "false", register: str = "false") -> list[str]:
    """data_quality_check.py's arguments as the compiler writes them with a registry and exposed
    supplied baselines (defaulting to the placeholder)."""
    return ["--mode", "baseline", "--skip-check", skip, "--register-new-baseline", register,
            "--fail-on-violation", "true", "--model-package-group", GROUP,
            "--baseline-statistics", quality.BASELINE_DIRS["Statistics"],
            "--baseline-constraints", quality.BASELINE_DIRS["Constraints"]]  # fmt: skip


@pytest.fixture
def builtin_ctx(tmp_path, check_step) -> StepContext:
    ctx = context(tmp_path, {"Name": "DataQualityCheck", "Type": "Processing"}, frame())
    ctx.store.put_bytes(PLACEHOLDER, b"{}\n")
    for folder in quality.BASELINE_DIRS.values():
        processing.stage_inputs(ctx, [{"S3Input": {"S3Uri": PLACEHOLDER, "LocalPath": folder}}])
    return ctx


def test_the_builtin_jobs_lookup_stages_the_latest_approved_baseline(builtin_ctx):
    ctx = builtin_ctx
    approve(
        ctx, _put(ctx, "s3://b/v1/s.json", {"v": 1}), _put(ctx, "s3://b/v1/c.json", {"features": [], "v": 1})
    )
    approve(
        ctx, _put(ctx, "s3://b/v2/s.json", {"v": 2}), _put(ctx, "s3://b/v2/c.json", {"features": [], "v": 2})
    )
    arguments = quality.approved_baseline_arguments(ctx, builtin_arguments())
    assert arguments == [a for a in builtin_arguments() if a not in ("--model-package-group", GROUP)]
    for kind, name, expected in (("Statistics", "statistics.json", {"v": 2}), ("Constraints", "constraints.json", {"features": [], "v": 2})):  # fmt: skip
        folder = Path(ctx.container_path(quality.BASELINE_DIRS[kind]))
        assert [p.name for p in folder.iterdir()] == [name]  # the placeholder is gone
        assert json.loads((folder / name).read_text()) == expected
    assert (
        f"checking against the baseline s3://b/v2/c.json (latest Approved package in {GROUP})"
        in ctx.log.getvalue()
    )


def test_the_builtin_jobs_lookup_fails_without_a_baseline_unless_a_first_run(builtin_ctx):
    first = quality.approved_baseline_arguments(builtin_ctx, builtin_arguments("true", "true"))
    assert first == [
        a for a in builtin_arguments("true", "true") if a not in ("--model-package-group", GROUP)
    ]
    with pytest.raises(StepFailed) as failed:
        quality.approved_baseline_arguments(builtin_ctx, builtin_arguments(skip="true"))
    assert str(failed.value) == quality.bundled_check().no_baseline_message(GROUP)
    assert str(failed.value).startswith(
        f"no data quality baseline: none supplied (--baseline-constraints) and no Approved package in model "
        f"package group {GROUP} has one (DriftCheckBaselines.ModelDataQuality)."
    )


class _Pages:
    """list_model_packages / describe_model_package as boto3 answers them, two to a page."""

    def __init__(self, packages: list[dict]):
        self.packages = packages

    def list_model_packages(self, **request):
        start = int(request.get("NextToken", 0))
        page = {"ModelPackageSummaryList": [{"ModelPackageArn": str(i)} for i in range(start, min(start + 2, len(self.packages)))]}  # fmt: skip
        return {**page, "NextToken": str(start + 2)} if start + 2 < len(self.packages) else page

    def describe_model_package(self, ModelPackageName):  # noqa: N803 - boto3's keyword
        return self.packages[int(ModelPackageName)]


def test_the_jobs_lookup_takes_the_newest_package_with_a_data_quality_baseline():
    quality_of = lambda n: {"DriftCheckBaselines": {"ModelDataQuality": {"Statistics": {"S3Uri": f"s3://b/{n}/s"}, "Constraints": {"S3Uri": f"s3://b/{n}/c"}}}}  # noqa: E731  # fmt: skip
    bias_only = {"DriftCheckBaselines": {"Bias": {"PostTrainingConstraints": {"S3Uri": "s3://b/bias"}}}}
    check = quality.bundled_check()
    assert check.latest_approved_baseline(_Pages([{}, bias_only, quality_of(3), quality_of(4)]), GROUP) == {
        "statistics": "s3://b/3/s",
        "constraints": "s3://b/3/c",
    }
    assert check.latest_approved_baseline(_Pages([{}, bias_only, {}]), GROUP) is None


# -- the builtin engine's job run by the processing executor: the lookup is done locally -----------

TRAIN_PREFIX = "s3://b/runs/r1/Preprocess/train"
BUILTIN_OUTPUT = "s3://lgbm-pipelines-111122223333/census-income/dev/runs/r1/DataQualityCheck/baseline"


def builtin_job(tmp_path: Path, compiled, **parameters) -> StepContext:
    """The data_quality_builtin golden's DataQualityCheck processing step, with its artifacts and a
    training split (header, target first, schema.json) in a fresh store."""
    work_dir = tmp_path / "work"
    store = ObjectStore(work_dir)
    for uri, artifact in compiled.artifacts.items():
        store.put_bytes(uri, artifact.data)
    data = frame(rows=400)
    store.put_bytes(f"{TRAIN_PREFIX}/train.csv", data.assign(Target=0)[["Target", *data.columns]].to_csv(index=False).encode())  # fmt: skip
    schema = {"target": "Target", "features": list(data.columns), "categorical": ["Sex"]}
    store.put_bytes(f"{TRAIN_PREFIX}/schema.json", json.dumps(schema).encode())
    defaults = {p["Name"]: p.get("DefaultValue") for p in compiled.definition["Parameters"]}
    outputs = {"Outputs": {"train": {"S3Output": {"S3Uri": TRAIN_PREFIX}}}}
    resolver = Resolver(
        {**defaults, **parameters},
        {"PipelineExecutionId": "r1"},
        {"Preprocess": {"ProcessingOutputConfig": outputs}},
        None,
    )
    step = next(s for s in compiled.definition["Steps"] if s["Name"] == "DataQualityCheck")
    assert step["Type"] == "Processing"
    return job_context(work_dir, step, resolve=resolver, store=store, cores=1, registry=True)


def test_the_builtin_job_gets_the_approved_baseline_locally_and_never_calls_aws(tmp_path, monkeypatch):
    # Any AWS call from the job would go to a closed port and fail the step ("cannot look up ...").
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    compiled = compile_definition(load_spec(REPO / "tests" / "golden" / "data_quality_builtin" / "spec.yaml"))
    first = builtin_job(
        tmp_path / "first", compiled, SkipDataQualityCheck=True, RegisterNewDataQualityBaseline=True
    )
    EXECUTORS["Processing"](first)
    statistics = json.loads(first.store.read_bytes(f"{BUILTIN_OUTPUT}/statistics.json"))
    constraints = json.loads(first.store.read_bytes(f"{BUILTIN_OUTPUT}/constraints.json"))

    ctx = builtin_job(tmp_path / "second", compiled)  # SkipCheck false: the previous baseline is needed
    approve(ctx, _put(ctx, "s3://b/v1/statistics.json", statistics), _put(ctx, "s3://b/v1/constraints.json", constraints))  # fmt: skip
    properties = EXECUTORS["Processing"](ctx)
    assert properties["ProcessingJobStatus"] == "Completed"
    log = ctx.log.getvalue()
    (command,) = [line for line in log.splitlines() if line.startswith("$ ")]  # the job's command line
    assert "--model-package-group" not in command
    assert command.endswith(
        "--baseline-statistics " + ctx.container_path(quality.BASELINE_DIRS["Statistics"])
        + " --baseline-constraints " + ctx.container_path(quality.BASELINE_DIRS["Constraints"])
    )  # fmt: skip
    assert log.startswith(f"checking against the baseline s3://b/v1/constraints.json (latest Approved package in {GROUP})\n")  # fmt: skip
    assert "cannot look up" not in log
    read = lambda name: json.loads(ctx.store.read_bytes(f"{BUILTIN_OUTPUT}/{name}"))  # noqa: E731
    assert read("constraint_violations.json") == {"violations": []}
    assert read("drift_check_constraints.json") == constraints  # the approved package's, not recalculated
    assert read("drift_check_statistics.json") == statistics
