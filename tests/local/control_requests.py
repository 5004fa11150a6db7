"""Requests as the pipeline's steps make them, for the control-plane tests: a CreateModelPackage
request as the RegisterModel step resolves it, and the ARNs the local registry gives."""

from __future__ import annotations

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


def arn_of(version: int, group: str = GROUP) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{group}/{version}"
