"""ClarifyCheckStep's baseline rule in clarify_check.py: the supplied constraints, else the latest
Approved package's DriftCheckBaselines in the model package group (looked up with boto3 from inside
the job), else the job fails unless SkipCheck and RegisterNewBaseline are both true. The lookup
runs against a fake client (the exact requests) and, end to end, the script against moto's server;
also the SHAP progress lines and the rows the report says were explained."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from clarify_helpers import analysis_config

GROUP = "census-income-lgbm"
BIAS_ONLY = {"post_training_bias": {"methods": ["DPPL", "DI"]}}
BIAS_URI = "s3://baselines/v1/bias.json"
EXPLAIN_URI = "s3://baselines/v1/explain.json"


def package(arn: str, **baselines: dict) -> dict:
    return (
        {"ModelPackageArn": arn, "DriftCheckBaselines": baselines} if baselines else {"ModelPackageArn": arn}
    )


class FakeSageMaker:
    """ListModelPackages pages (newest first, as asked) and DescribeModelPackage answers, recorded."""

    def __init__(self, pages: list[list[dict]]):
        self.pages, self.calls = pages, []
        self.described = {p["ModelPackageArn"]: p for page in pages for p in page}

    def list_model_packages(self, **request):
        self.calls.append(("list", request))
        index = int(request.get("NextToken", 0))
        page = {
            "ModelPackageSummaryList": [{"ModelPackageArn": p["ModelPackageArn"]} for p in self.pages[index]]
        }
        if index + 1 < len(self.pages):
            page["NextToken"] = str(index + 1)
        return page

    def describe_model_package(self, **request):
        self.calls.append(("describe", request))
        return self.described[request["ModelPackageName"]]


def bias(uri: str) -> dict:
    return {"PostTrainingConstraints": {"ContentType": "application/json", "S3Uri": uri}}


def explainability(uri: str) -> dict:
    return {"Constraints": {"ContentType": "application/json", "S3Uri": uri}}


# ------------------------------------------------------------------------------------ the lookup


def test_lookup_asks_for_approved_packages_newest_first_and_pages_on(cb):
    client = FakeSageMaker(
        [
            [package("arn:g/5", Explainability=explainability(EXPLAIN_URI)), package("arn:g/4")],
            [package("arn:g/3", Bias=bias(BIAS_URI), Explainability=explainability("s3://old/e.json"))],
        ]
    )
    assert cb.latest_approved_baseline(client, GROUP, "bias") == BIAS_URI
    request = {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
    }
    assert client.calls == [
        ("list", request),
        ("describe", {"ModelPackageName": "arn:g/5"}),
        ("describe", {"ModelPackageName": "arn:g/4"}),
        ("list", {**request, "NextToken": "1"}),
        ("describe", {"ModelPackageName": "arn:g/3"}),
    ]
    # the newest package with an explainability baseline wins; nothing is read past it
    client.calls.clear()
    assert cb.latest_approved_baseline(client, GROUP, "explainability") == EXPLAIN_URI
    assert [c[0] for c in client.calls] == ["list", "describe"]


def test_lookup_without_any_baseline_is_none(cb):
    assert cb.latest_approved_baseline(FakeSageMaker([[]]), GROUP, "bias") is None
    assert cb.latest_approved_baseline(FakeSageMaker([[package("arn:g/1")]]), GROUP, "explainability") is None


def test_no_baseline_message_names_check_group_and_first_run_switches(cb):
    message = cb.no_baseline_message("explainability", GROUP)
    assert "\n" not in message
    for text in (
        "no explainability baseline",
        f"model package group {GROUP}",
        "DriftCheckBaselines.Explainability.Constraints",
        "for a first run set SkipCheck and RegisterNewBaseline true",
        "clarify.explainability.baseline.skip_check / register_new_baseline or their pipeline parameters",
        "lgbm-pipeline run --local --first-run",
    ):
        assert text in message, text


def settings(**overrides) -> SimpleNamespace:
    values = {
        "baseline_constraints": None,
        "model_package_group": GROUP,
        "check": "bias",
        "skip_check": False,
        "register_new_baseline": False,
    }
    return SimpleNamespace(**{**values, **overrides})


class FakeS3:
    def __init__(self, objects: dict[str, bytes]):
        self.objects = objects

    def get_object(self, Bucket: str, Key: str):  # noqa: N803 - boto3's keyword names
        return {"Body": SimpleNamespace(read=lambda: self.objects[f"s3://{Bucket}/{Key}"])}


def no_clients():
    raise AssertionError("no lookup expected")


def test_resolve_prefers_the_supplied_baseline_and_makes_no_lookup_on_a_first_run(cb, tmp_path):
    (tmp_path / "constraints.json").write_text(json.dumps({"version": "1.0"}))
    found = cb.resolve_baseline(settings(baseline_constraints=str(tmp_path)), no_clients)
    assert found == ({"version": "1.0"}, str(tmp_path), "")
    (tmp_path / "constraints.json").write_text("{}\n")  # the compiler's "no baseline" artifact
    first_run = settings(baseline_constraints=str(tmp_path), skip_check=True, register_new_baseline=True)
    assert cb.resolve_baseline(first_run, no_clients) == (None, None, "")
    assert cb.resolve_baseline(settings(model_package_group=None), no_clients) == (None, None, "")


def test_resolve_reads_the_latest_approved_baseline(cb, capsys):
    client = FakeSageMaker([[package("arn:g/2", Bias=bias(BIAS_URI))]])
    s3 = FakeS3({BIAS_URI: json.dumps({"version": "1.0", "post_training_bias_metrics": {}}).encode()})
    # skip check alone still needs the previous baseline (RegisterNewBaseline false)
    found = cb.resolve_baseline(settings(skip_check=True), lambda: (client, s3))
    assert found == ({"version": "1.0", "post_training_bias_metrics": {}}, BIAS_URI, "")
    assert (
        f"checking against the baseline {BIAS_URI} (latest Approved package in {GROUP})"
        in capsys.readouterr().out
    )


def test_resolve_without_a_baseline_fails_with_the_message(cb):
    with pytest.raises(cb.InputError) as error:
        cb.resolve_baseline(settings(register_new_baseline=True), lambda: (FakeSageMaker([[]]), FakeS3({})))
    assert str(error.value) == cb.no_baseline_message("bias", GROUP)
    with pytest.raises(cb.InputError, match="needs --check bias or explainability"):
        cb.resolve_baseline(settings(check="all"), lambda: (FakeSageMaker([[]]), FakeS3({})))


def test_resolve_turns_an_aws_refusal_into_one_line_naming_the_permissions(cb):
    class Denied(FakeSageMaker):
        def list_model_packages(self, **request):
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}
            raise ClientError(error, "ListModelPackages")

    with pytest.raises(cb.InputError) as error:
        cb.resolve_baseline(settings(), lambda: (Denied([[]]), FakeS3({})))
    message = str(error.value)
    assert "AccessDeniedException" in message and f"model package group {GROUP}" in message
    assert "sagemaker:ListModelPackages, sagemaker:DescribeModelPackage and s3:GetObject" in message


# ------------------------------------------------------------- the job against AWS (moto's server)


@pytest.fixture
def aws(moto_env):
    """boto3 (here and in the job's subprocess) pointed at moto; a fresh group and bucket per test."""
    name = f"census-{uuid.uuid4().hex[:12]}"
    sagemaker, s3 = boto3.client("sagemaker"), boto3.client("s3")
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    s3.create_bucket(Bucket=name)
    return SimpleNamespace(sagemaker=sagemaker, s3=s3, group=name, bucket=name)


def register(aws, status: str, **baselines: dict) -> str:
    inference = {
        "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/lgbm:1"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    extra = {"DriftCheckBaselines": baselines} if baselines else {}
    return aws.sagemaker.create_model_package(
        ModelPackageGroupName=aws.group, ModelApprovalStatus=status, InferenceSpecification=inference, **extra
    )["ModelPackageArn"]


def test_job_checks_against_the_latest_approved_baseline_in_aws(clarify_job, first_run, aws):
    uri = f"s3://{aws.bucket}/v1/bias.json"
    aws.s3.put_object(Bucket=aws.bucket, Key="v1/bias.json", Body=json.dumps(first_run.analysis).encode())
    register(aws, "Approved", Bias=bias(uri))
    register(aws, "Approved")  # newer, without a baseline: skipped
    register(aws, "PendingManualApproval", Bias=bias(f"s3://{aws.bucket}/pending.json"))  # not approved
    result = clarify_job.run("bias", analysis_config(methods=BIAS_ONLY), "--model-package-group", aws.group)
    assert result.returncode == 0, result.stderr
    assert f"checking against the baseline {uri} (latest Approved package in {aws.group})" in result.stdout
    assert "PASSED" in result.stdout and f"Compared with baseline '{uri}'" in result.stdout
    drift = json.loads((clarify_job.output / "drift_check_baseline.json").read_text())
    assert drift == first_run.analysis  # checked against it, not re-registered


def test_job_without_an_approved_baseline_fails_with_one_line(clarify_job, aws):
    register(aws, "PendingManualApproval", Bias=bias(BIAS_URI))
    result = clarify_job.run("bias", analysis_config(methods=BIAS_ONLY), "--model-package-group", aws.group)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [f"clarify_check: error: {no_baseline(aws.group)}"], result.stderr
    assert not (clarify_job.output / "analysis.json").exists()  # failed before the work


def no_baseline(group: str) -> str:
    return (
        f"no bias baseline: none supplied (--baseline-constraints) and no Approved package in model package "
        f"group {group} has one (DriftCheckBaselines.Bias.PostTrainingConstraints). ClarifyCheckStep needs "
        "the previous baseline unless SkipCheck and RegisterNewBaseline are both true; for a first run set "
        "SkipCheck and RegisterNewBaseline true (spec: clarify.bias.baseline.skip_check / "
        "register_new_baseline or their pipeline parameters; locally: lgbm-pipeline run --local --first-run)"
    )


def test_first_run_job_makes_no_aws_call(clarify_job, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: any call would fail
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    extra = ("--model-package-group", GROUP, "--skip-check", "true", "--register-new-baseline", "true")
    result = clarify_job.run("bias", analysis_config(methods=BIAS_ONLY), *extra)
    assert result.returncode == 0, result.stderr
    assert "NO BASELINE" in result.stdout


# ---------------------------------------------------------------------- SHAP progress, report rows


def test_shap_progress_lines_in_the_job_log(first_run):
    lines = [line for line in first_run.result.stdout.splitlines() if line.endswith(" rows/s")]
    assert [line.split(" rows (")[0] for line in lines] == [
        "clarify_check: SHAP 1,000/1,500",  # chunks of 1000 rows: each is more than 10%
        "clarify_check: SHAP 1,500/1,500",
    ]


def test_shap_progress_every_tenth_and_values_exact(cc, adult_inputs, monkeypatch, capsys):
    features = adult_inputs.features.iloc[:90]
    monkeypatch.setattr(cc, "SHAP_CHUNK_ROWS", 3)  # 30 chunks
    values, expected = cc.tree_shap(adult_inputs.booster, features, progress=True)
    whole = adult_inputs.booster.predict(features, pred_contrib=True)  # one call, every row
    assert (values == whole[:, :-1]).all() and expected == whole[0, -1]
    done = [
        int(line.split()[2].split("/")[0].replace(",", "")) for line in capsys.readouterr().out.splitlines()
    ]
    assert done == [9 * i for i in range(1, 11)]  # every 10% (9 rows = 3 chunks), the last at 100%


def test_report_states_the_rows_explained(first_run):
    assert "1500 rows explained" in (first_run.output / "report.html").read_text()
    assert "1500 rows explained" in (first_run.output / "report.md").read_text()


def test_rows_read_and_written_per_file_in_the_job_log(first_run):
    out = first_run.result.stdout.splitlines()
    assert "clarify_check: read data 1/1 files (100%); clarify.csv: 1,500 rows" in out
    assert "clarify_check: wrote explanations_shap/out.csv: 1,500 rows" in out
