"""The local registry and control plane refuse what SageMaker refuses, as boto3 reports it.

Each refusal is compared with moto 5 where moto models the call, and with a real botocore client
(ParamValidator, Stubber) where it does not: moto's create_model accepts any ModelPackageName,
unknown or unapproved, and any duplicate name.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.local.registry import LocalRegistry

ACCOUNT = "123456789012"
GROUP = "census-models"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/census-sagemaker-execution"
INFERENCE = {
    "Containers": [
        {
            "Image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
            "ModelDataUrl": "s3://bucket/runs/x/model.tar.gz",
        }
    ],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def package_request(status: str = "PendingManualApproval", group: str = GROUP) -> dict:
    """A CreateModelPackage request as the RegisterModel step resolves it."""
    return {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": status,
        "InferenceSpecification": INFERENCE,
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": "s3://bucket/evaluation.json"}
            }
        },
        "DriftCheckBaselines": {
            "Bias": {
                "PostTrainingConstraints": {"ContentType": "application/json", "S3Uri": "s3://bucket/a.json"}
            }
        },
    }


def _register_many(work_dir: str, count: int, start, queue) -> None:
    start.wait()  # all processes register at once
    registry = LocalRegistry(work_dir, "us-east-1", ACCOUNT)
    for _ in range(count):
        queue.put(registry.register(package_request())["ModelPackageVersion"])


def test_parallel_registrations_never_lose_or_duplicate_a_version(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    start, queue = context.Barrier(8), context.Queue()
    workers = [
        context.Process(target=_register_many, args=(str(tmp_path), 1, start, queue)) for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    versions = sorted(queue.get(timeout=5) for _ in range(8))
    assert versions == list(range(1, 9))
    files = sorted(p.name for p in (tmp_path / "registry" / GROUP).glob("*.json"))
    assert files == sorted(f"{v}.json" for v in range(1, 9))
    registry = LocalRegistry(tmp_path)
    assert [p["ModelPackageVersion"] for p in registry.versions(GROUP)] == list(range(1, 9))
    assert {p["ModelPackageArn"] for p in registry.versions(GROUP)} == {
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/{v}" for v in range(1, 9)
    }


def test_parallel_registrations_in_bursts(tmp_path: Path):
    """Four processes registering five packages each: 20 versions, none lost, none twice."""
    context = multiprocessing.get_context("fork")
    start, queue = context.Barrier(4), context.Queue()
    workers = [
        context.Process(target=_register_many, args=(str(tmp_path), 5, start, queue)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(queue.get(timeout=5) for _ in range(20)) == list(range(1, 21))
    assert len(list((tmp_path / "registry" / GROUP).glob("*.json"))) == 20


def test_status_of_an_unknown_package_creates_nothing(tmp_path: Path):
    registry = LocalRegistry(tmp_path)
    with pytest.raises(LookupError, match="no model package"):
        registry.set_status(f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/nope/1", "Approved")
    assert registry.groups() == []
