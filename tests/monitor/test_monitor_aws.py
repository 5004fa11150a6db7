"""`lgbm-pipeline monitor ENDPOINT --aws` against moto (in-process ``mock_aws``: no request leaves
the process): what a deployed pipeline holds in S3 and SageMaker, on a small model.

A LightGBM model on two features (Age, Sex) is trained here in a second; its archive, the
data-quality baseline of its training rows (step_scripts/data_quality.py), its global SHAP
baseline and its batch-transform predictions on the test rows go to S3 where a pipeline run puts
them, and the package is registered with moto's SageMaker (CreateModelPackage with
DriftCheckBaselines) behind an endpoint with data capture. The test rows are captured in
SageMaker's layout (``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl``, CSV requests of
50 rows and the model's answers) at 10:00, then a copy with ages + 20 years at 11:00.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber
from monitor.streams import member, read, record
from monitor.streams import monitor as run
from moto import mock_aws
from ship.shared_models import shared_models

from lgbm_pipeline_compiler.errors import EnvironmentFailure
from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.registry import LocalRegistry
from lgbm_pipeline_compiler.local.store import ObjectStore
from lgbm_pipeline_compiler.monitor import s3 as monitor_s3
from lgbm_pipeline_compiler.monitor.blobs import BlobError, LocalBlobs
from lgbm_pipeline_compiler.monitor.bundled import module

REGION = "us-east-1"
ARTIFACTS, CAPTURE_BUCKET = "acme-ml", "acme-capture"
CAPTURE = f"s3://{CAPTURE_BUCKET}/datacapture"
SCHEMA = {
    "features": ["Age", "Sex"],
    "categorical": {"Sex": ["Female", "Male"]},
    "numeric": ["Age"],
    "target": "Target",
}
THRESHOLD = 0.5
ROWS_PER_REQUEST = 50
OBJECTS = {
    "model": f"s3://{ARTIFACTS}/runs/r1/Train/output/model.tar.gz",
    "statistics": f"s3://{ARTIFACTS}/runs/r1/DataQualityBaseline/statistics.json",
    "constraints": f"s3://{ARTIFACTS}/runs/r1/DataQualityBaseline/constraints.json",
    "shap_config": f"s3://{ARTIFACTS}/artifacts/shap/analysis_config.json",
    "shap": f"s3://{ARTIFACTS}/runs/r1/ModelExplainabilityCheck/analysis.json",
    "evaluation": f"s3://{ARTIFACTS}/runs/r1/Evaluate/evaluation/evaluation.json",
    "predictions": f"s3://{ARTIFACTS}/runs/r1/Evaluate/predictions/test.csv.out",
}
CLEAN_KEY = "census/AllTraffic/2026/11/30/10/00-00-000-clean.jsonl"
SHIFTED_KEY = "census/AllTraffic/2026/11/30/11/00-00-000-shift.jsonl"
DECOY_KEY = "census-shadow/AllTraffic/2026/11/30/10/00-00-000-other.jsonl"  # another endpoint's


def _capture(model, frame: pd.DataFrame, hour: int, prefix: str) -> bytes:
    """The frame sent as CSV requests, with the model's answers, as SageMaker captures them."""
    step_common = module("step_common")
    lines = []
    for n, start in enumerate(range(0, len(frame), ROWS_PER_REQUEST)):
        rows = frame.iloc[start : start + ROWS_PER_REQUEST]
        probability = model.booster.predict(step_common.to_model_frame(rows, SCHEMA))
        answer = "".join(f"{float(p)!r},{int(p >= THRESHOLD)}\n" for p in probability)
        body = rows.to_csv(header=False, index=False).encode()
        lines.append(
            record(
                member("INPUT", "text/csv", body, "CSV"),
                member("OUTPUT", "text/csv", answer.encode(), "CSV"),
                f"{prefix}-{n}",
                f"2026-11-30T{hour:02d}:{n:02d}:00Z",
            )
        )
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module", autouse=True)
def _shared_botocore_models():
    """Each botocore service model parsed once, not once per session (ship.shared_models)."""
    with shared_models():
        yield


@pytest.fixture(scope="module")
def objects(tmp_path_factory) -> dict[str, bytes]:
    """Every object a pipeline run and the endpoint leave in S3, by name (OBJECTS; clean, shifted)."""
    import lightgbm as lgb

    dq, clarify_check, step_common = module("data_quality"), module("clarify_check"), module("step_common")
    rng = np.random.default_rng(7)
    n = 600
    frame = pd.DataFrame(
        {"Age": rng.integers(18, 80, n).astype(str), "Sex": rng.choice(["Female", "Male"], n)}
    )
    target = ((frame["Age"].astype(int) > 45) ^ (rng.random(n) < 0.1)).astype(int)
    train, test = frame.iloc[:400], frame.iloc[400:].reset_index(drop=True)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 10, "verbose": -1, "num_threads": 1},
        lgb.Dataset(step_common.to_model_frame(train, SCHEMA), label=target.iloc[:400]),
        num_boost_round=10,
    )
    folder = tmp_path_factory.mktemp("model")  # train.py's model dir, packed as SageMaker packs it
    booster.save_model(str(folder / "model.txt"))
    (folder / "schema.json").write_text(json.dumps(SCHEMA))
    (folder / "metadata.json").write_text(json.dumps({"threshold": THRESHOLD}))
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for name in ("model.txt", "schema.json", "metadata.json"):
            tar.add(folder / name, arcname=name)
    out = {"model": archive.getvalue()}
    model = step_common.load_model(folder)
    statistics = dq.compute_statistics(train, SCHEMA["features"])
    features = step_common.to_model_frame(test, SCHEMA)
    values, expected = clarify_check.tree_shap(booster, features)
    shap = clarify_check.explanations_section(
        SCHEMA["features"], clarify_check.aggregate_shap(values, "mean_abs"), expected, "label0"
    )
    probability = booster.predict(features)
    predictions = "".join(
        f"{t},{float(p)!r},{int(p >= THRESHOLD)}\n"
        for t, p in zip(target.iloc[400:], probability, strict=True)
    )
    shifted = test.assign(Age=(test["Age"].astype(int) + 20).astype(str))
    documents = {
        "statistics": statistics,
        "constraints": dq.suggest_constraints(statistics),
        "shap_config": {"headers": SCHEMA["features"], "methods": {"shap": {"agg_method": "mean_abs"}}},
        "shap": {"explanations": shap},
        "evaluation": {"binary_classification_metrics": {}},
    }
    out.update({name: json.dumps(doc).encode() for name, doc in documents.items()})
    out["predictions"] = predictions.encode()
    out["clean"] = _capture(model, test, 10, "clean")
    out["shifted"] = _capture(model, shifted, 11, "shift")
    return out


def _source(uri: str) -> dict:
    return {"ContentType": "application/json", "S3Uri": uri}


PACKAGE = {
    "ModelPackageGroupName": "census",
    "ModelApprovalStatus": "Approved",
    "InferenceSpecification": {
        "Containers": [
            {
                "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                "ModelDataUrl": OBJECTS["model"],
            }
        ],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    },
    "ModelMetrics": {"ModelQuality": {"Statistics": _source(OBJECTS["evaluation"])}},
    "DriftCheckBaselines": {
        "ModelDataQuality": {
            "Statistics": _source(OBJECTS["statistics"]),
            "Constraints": _source(OBJECTS["constraints"]),
        },
        "Explainability": {
            "ConfigFile": _source(OBJECTS["shap_config"]),
            "Constraints": _source(OBJECTS["shap"]),
        },
    },
}
VARIANT = {
    "VariantName": "AllTraffic",
    "ModelName": "census-v1",
    "InstanceType": "ml.m5.large",
    "InitialInstanceCount": 1,
}
DATA_CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": CAPTURE,
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"]},
}


def _isolate(monkeypatch, tmp_path: Path) -> None:
    """boto3's chain sees only what the test sets: no profile, config file, endpoint or IMDS."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_REGION",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="module")
def admin() -> SimpleNamespace:
    """The S3 and SageMaker clients the tests set moto up and look into it with, made once (a
    session and its clients cost ~80 ms to make; moto answers whichever mock is active)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return SimpleNamespace(s3=session.client("s3"), sagemaker=session.client("sagemaker"))


@pytest.fixture
def aws(monkeypatch, tmp_path, objects, admin) -> SimpleNamespace:
    """moto's S3 and SageMaker holding a deployed pipeline's objects, package and endpoint."""
    _isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = admin.s3
        for bucket in (ARTIFACTS, CAPTURE_BUCKET):
            s3.create_bucket(Bucket=bucket)
        for name, uri in OBJECTS.items():
            s3.put_object(Bucket=ARTIFACTS, Key=uri.split("/", 3)[3], Body=objects[name])
        sagemaker = admin.sagemaker
        sagemaker.create_model_package_group(ModelPackageGroupName="census")
        arn = sagemaker.create_model_package(**PACKAGE)["ModelPackageArn"]
        sagemaker.create_model(
            ModelName="census-v1",
            PrimaryContainer={"ModelPackageName": arn},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecution",
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="census-c1", ProductionVariants=[VARIANT], DataCaptureConfig=DATA_CAPTURE
        )
        sagemaker.create_endpoint(EndpointName="census", EndpointConfigName="census-c1")

        def capture(key: str, body: bytes) -> None:
            s3.put_object(Bucket=CAPTURE_BUCKET, Key=f"datacapture/{key}", Body=body)

        yield SimpleNamespace(s3=s3, sagemaker=sagemaker, arn=arn, capture=capture, out=tmp_path / "out")


def monitor(*args: str) -> SimpleNamespace:
    result = run(*args)
    assert "Traceback" not in result.stderr
    return result


def test_clean_traffic_has_no_violation(aws, objects, tmp_path):
    aws.capture(CLEAN_KEY, objects["clean"])
    aws.capture(DECOY_KEY, b"not a capture record\n")  # census-shadow/ is not under census/
    result = monitor(
        "census", "--aws", "--region", REGION, "--out", str(aws.out), "--work-dir", str(tmp_path)
    )
    assert result.code == 0, result.stderr
    assert read(aws.out, "constraint_violations.json") == {"violations": []}
    summary = read(aws.out, "monitor.json")
    assert (summary["model_package"], summary["variants"]) == (aws.arn, ["AllTraffic"])
    assert (summary["rows"], summary["capture_files"]) == (200, 1)
    assert (summary["first_inference"], summary["last_inference"]) == (
        "2026-11-30T10:00:00Z",
        "2026-11-30T10:03:00Z",
    )
    assert {name: c["status"] for name, c in summary["checks"].items()} == {
        "data quality": "passed",
        "prediction drift": "passed",
        "bias drift": "not computed",
        "feature attribution drift": "passed",
    }
    assert result.stderr.splitlines()[1] == (
        f"prediction drift: passed (200 captured vs 200 baseline predictions "
        f"(s3://{ARTIFACTS}/runs/r1/Evaluate/predictions))"
    )
    assert not (tmp_path / "s3").exists()  # nothing read from or written to a local store


def test_drifted_traffic_flags_the_drifted_feature(aws, objects):
    aws.capture(CLEAN_KEY, objects["clean"])
    aws.capture(SHIFTED_KEY, objects["shifted"])
    result = monitor("census", "--aws", "--since", "2026-11-30T11:00:00Z", "--out", str(aws.out))
    assert result.code == 1, result.stderr
    summary = read(aws.out, "monitor.json")
    assert (summary["rows"], summary["capture_files"]) == (200, 2)  # --since: the shifted stream only
    violations = read(aws.out, "constraint_violations.json")["violations"]
    drifted = {v["feature_name"] for v in violations if v.get("feature_name") in SCHEMA["features"]}
    assert drifted == {"Age"}
    age = next(v for v in violations if v.get("feature_name") == "Age")
    assert age["constraint_check_type"] == "baseline_drift_check"
    assert "  baseline_drift_check: Age: Baseline drift distance: " in result.stderr


def test_aws_and_local_read_the_same_objects_the_same_way(aws, objects, tmp_path):
    """The same objects in the local store and control plane give the same checks and violations."""
    aws.capture(CLEAN_KEY, objects["clean"])
    aws.capture(SHIFTED_KEY, objects["shifted"])
    store, work = ObjectStore(tmp_path / "work"), tmp_path / "work"
    for name, uri in OBJECTS.items():
        store.put_bytes(uri, objects[name])
    store.put_bytes(f"{CAPTURE}/{CLEAN_KEY}", objects["clean"])
    store.put_bytes(f"{CAPTURE}/{SHIFTED_KEY}", objects["shifted"])
    arn = LocalRegistry(work).register(PACKAGE)["ModelPackageArn"]
    control = LocalSageMaker(work)
    control.create_model(ModelName="census-v1", PrimaryContainer={"ModelPackageName": arn})
    control.create_endpoint_config(
        EndpointConfigName="census-c1", ProductionVariants=[VARIANT], DataCaptureConfig=DATA_CAPTURE
    )
    control.create_endpoint(EndpointName="census", EndpointConfigName="census-c1")
    since = ("--since", "2026-11-30T11:00:00Z")
    local = monitor("census", *since, "--work-dir", str(work), "--out", str(tmp_path / "local"))
    remote = monitor("census", *since, "--aws", "--out", str(aws.out))
    assert local.code == remote.code == 1
    assert local.stderr.replace(str(tmp_path / "local"), "OUT") == remote.stderr.replace(str(aws.out), "OUT")
    assert read(tmp_path / "local", "constraint_violations.json") == read(
        aws.out, "constraint_violations.json"
    )
    mine, theirs = read(tmp_path / "local", "monitor.json"), read(aws.out, "monitor.json")
    assert mine.pop("model_package") == arn and theirs.pop("model_package") == aws.arn
    assert mine == theirs


def _one_line(result: SimpleNamespace, code: int, start: str) -> None:
    assert result.code == code, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(start), result.stderr


def test_a_missing_endpoint_is_exit_2(aws, objects):
    result = monitor("nope", "--aws", "--out", str(aws.out))
    _one_line(result, 2, "error: monitor nope: Could not find endpoint")
    assert "nope" in result.stderr.split("endpoint", 1)[1]
    assert result.stderr.endswith(f" (in {REGION}: pass --region if the endpoint is in another region)\n")
    assert not aws.out.exists()


def test_a_missing_capture_bucket_is_exit_2(aws, objects):
    aws.s3.delete_bucket(Bucket=CAPTURE_BUCKET)
    result = monitor("census", "--aws", "--out", str(aws.out))
    _one_line(
        result,
        2,
        f"error: monitor census: the capture files: bucket {CAPTURE_BUCKET} does not exist "
        f"({CAPTURE}/census/)",
    )


def test_a_missing_baseline_object_is_exit_2(aws, objects):
    aws.capture(CLEAN_KEY, objects["clean"])
    key = OBJECTS["constraints"].split("/", 3)[3]
    aws.s3.delete_object(Bucket=ARTIFACTS, Key=key)
    result = monitor("census", "--aws", "--out", str(aws.out))
    _one_line(
        result,
        2,
        f"error: monitor census: the data-quality baseline constraints: no object at {OBJECTS['constraints']}\n",
    )


def test_no_captured_traffic_is_exit_2(aws, objects):
    result = monitor("census", "--aws", "--out", str(aws.out))
    _one_line(result, 2, "error: monitor census: no captured requests\n")


def test_missing_credentials_are_exit_3_naming_them(monkeypatch, tmp_path):
    _isolate(monkeypatch, tmp_path)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(config={"core": {"mock_credentials": False}}):  # intercepts, adds no credentials
        result = monitor("census", "--aws", "--out", str(tmp_path / "out"))
    _one_line(result, 3, "error: monitor census: sagemaker:DescribeEndpoint: no usable AWS credentials")
    assert "AWS_ACCESS_KEY_ID" in result.stderr


def test_no_region_is_exit_3_and_names_region(monkeypatch, tmp_path):
    _isolate(monkeypatch, tmp_path)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with mock_aws():
        result = monitor("census", "--aws", "--out", str(tmp_path / "out"))
    _one_line(result, 3, "error: monitor census: no AWS region: pass --region")


def test_region_without_aws_is_refused(tmp_path):
    result = monitor("census", "--region", REGION, "--work-dir", str(tmp_path))
    _one_line(result, 2, "error: --region applies to --aws")


def test_access_denied_is_exit_3_with_the_action_to_allow(monkeypatch, tmp_path):
    """A real AccessDeniedException's shape (moto does not enforce IAM): botocore's Stubber."""
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    message = (
        "User: arn:aws:sts::123456789012:assumed-role/Analyst/me is not authorized to perform: "
        "sagemaker:DescribeEndpoint on resource: arn:aws:sagemaker:us-east-1:123456789012:endpoint/census"
    )
    stub.add_client_error(
        "describe_endpoint", "AccessDeniedException", message, 400, expected_params={"EndpointName": "census"}
    )
    stub.activate()
    reads = monitor_s3.SageMakerReads(client)
    monkeypatch.setattr(monitor_s3, "connect", lambda region=None: (reads, None))
    result = monitor("census", "--aws", "--out", str(tmp_path / "out"))
    _one_line(result, 3, "error: monitor census: sagemaker:DescribeEndpoint on census was denied")
    assert result.stderr.rstrip().endswith("allow sagemaker:DescribeEndpoint for these credentials")
    stub.assert_no_pending_responses()


def test_s3_access_denied_is_an_environment_failure_naming_the_uri():
    client = boto3.client("s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_client_error(
        "get_object",
        "AccessDenied",
        "Access Denied",
        403,
        expected_params={"Bucket": ARTIFACTS, "Key": "a/b.json"},
    )
    stub.activate()
    with pytest.raises(EnvironmentFailure) as err:
        monitor_s3.S3Blobs(client).read_bytes(f"s3://{ARTIFACTS}/a/b.json")
    assert str(err.value) == (
        f"s3:GetObject on s3://{ARTIFACTS}/a/b.json was denied (AccessDenied: Access Denied); "
        "allow s3:GetObject for these credentials"
    )


def test_s3_listing_pages_and_keeps_to_the_folder_as_the_local_store_does(aws, tmp_path):
    keys = [f"datacapture/ep/A/2026/11/30/{h:02d}/f{i}.jsonl" for h in (9, 10) for i in range(3)]
    other = "datacapture/ep2/A/2026/11/30/10/x.jsonl"  # another endpoint: ep2/ is not under ep/
    local = ObjectStore(tmp_path)
    for key in [*reversed(keys), other]:
        aws.s3.put_object(Bucket=CAPTURE_BUCKET, Key=key, Body=b"x")
        local.put_bytes(f"s3://{CAPTURE_BUCKET}/{key}", b"x")
    aws.s3.put_object(Bucket=CAPTURE_BUCKET, Key="datacapture/ep/A/folder/", Body=b"")  # a console "folder"
    calls = []
    event = "provide-client-params.s3.ListObjectsV2"
    aws.s3.meta.events.register(event, lambda params, **kw: calls.append(dict(params)), "count-lists")
    blobs = monitor_s3.S3Blobs(aws.s3, page_size=2)
    expected = [f"s3://{CAPTURE_BUCKET}/{k}" for k in keys]
    assert blobs.list(f"s3://{CAPTURE_BUCKET}/datacapture/ep") == expected
    aws.s3.meta.events.unregister(event, unique_id="count-lists")  # the module's client: no leftovers
    assert len(calls) == 4 and {c["Prefix"] for c in calls} == {"datacapture/ep/"}  # 7 keys, 2 a page
    assert LocalBlobs(local).list(f"s3://{CAPTURE_BUCKET}/datacapture/ep") == expected
    for source in (blobs, LocalBlobs(local)):
        assert source.list(f"s3://{CAPTURE_BUCKET}/datacapture/none/") == []
        assert source.read_bytes(expected[0]) == b"x"
        with pytest.raises(BlobError, match=r"^not an S3 URI: 'acme/x'$"):
            source.read_bytes("acme/x")
    with pytest.raises(BlobError, match=r"^bucket acme-gone does not exist \(s3://acme-gone/x\)$"):
        blobs.read_bytes("s3://acme-gone/x")
    with pytest.raises(BlobError, match=rf"^no object at s3://{CAPTURE_BUCKET}/nothing$"):
        blobs.read_bytes(f"s3://{CAPTURE_BUCKET}/nothing")
