"""A local model registry: versioned model packages per group, with approval status and metrics.

Layout: {work_dir}/registry/{group}/{version}.json — the resolved CreateModelPackage request plus
the ARN, version, status and time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..emit import render_json, write_text_atomic
from .records import now

STATUSES = ("Approved", "Rejected", "PendingManualApproval")


class RegistryError(LookupError):
    """An unknown group or version, or a bad approval status."""


class LocalRegistry:
    def __init__(self, work_dir: str | Path, region: str = "us-east-1", account: str = "000000000000"):
        self.root = Path(work_dir) / "registry"
        self.region, self.account = region, account

    def arn(self, group: str, version: int) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:model-package/{group}/{version}"

    def register(self, request: dict[str, Any]) -> dict[str, Any]:
        group = request["ModelPackageGroupName"]
        version = len(self.versions(group)) + 1
        package = {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": version,
            "ModelPackageArn": self.arn(group, version),
            "ModelApprovalStatus": request.get("ModelApprovalStatus", "PendingManualApproval"),
            "CreationTime": now(),
            "Request": request,
        }
        write_text_atomic(self.root / group / f"{version}.json", render_json(package))
        return package

    def versions(self, group: str) -> list[dict[str, Any]]:
        folder = self.root / group
        if not folder.is_dir():
            return []
        return sorted(
            (json.loads(p.read_text()) for p in folder.glob("*.json")), key=lambda p: p["ModelPackageVersion"]
        )

    def groups(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []

    def get(self, arn: str) -> dict[str, Any]:
        try:
            group, version = arn.split("model-package/", 1)[1].rsplit("/", 1)
            path = self.root / group / f"{int(version)}.json"
        except (IndexError, ValueError):
            raise RegistryError(f"not a versioned model package ARN: {arn!r}") from None
        if not path.is_file():
            raise RegistryError(f"no model package {arn} in the local registry ({self.root})")
        return json.loads(path.read_text())

    def set_status(self, arn: str, status: str) -> dict[str, Any]:
        if status not in STATUSES:
            raise RegistryError(f"approval status must be one of {', '.join(STATUSES)}")
        package = self.get(arn)
        package["ModelApprovalStatus"] = status
        path = self.root / package["ModelPackageGroupName"] / f"{package['ModelPackageVersion']}.json"
        write_text_atomic(path, render_json(package))
        return package

    def model_data_url(self, arn: str) -> str:
        return self.get(arn)["Request"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
