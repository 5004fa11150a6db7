"""A local model registry: versioned model packages per group, with approval status and metrics.

Layout: {work_dir}/registry/{group}/{version}.json — the resolved CreateModelPackage request plus
the ARN, version, status and time. Every read-modify-write of a group (allocating a version,
changing a status) holds an exclusive ``fcntl.flock`` on ``{group}/.lock``, and every file is
written atomically (temporary sibling + rename), so parallel registrations from several processes
never lose a package or hand out one version twice, and a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..emit import render_json, write_text_atomic
from .records import now

STATUSES = ("Approved", "Rejected", "PendingManualApproval")
LOCK_NAME = ".lock"
_VERSIONED = re.compile(
    r"(?:^|model-package/)(?P<group>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/(?P<version>[0-9]{1,9})$"
)


class RegistryError(LookupError):
    """An unknown group or version, or a bad approval status."""


def parse_versioned(name: str) -> tuple[str, int]:
    """(group, version) of a versioned model package ARN or ``group/version`` name."""
    match = _VERSIONED.search(str(name))
    if not match or (":" in str(name) and "model-package/" not in str(name)):
        raise RegistryError(f"not a versioned model package ARN: {name!r}")
    return match.group("group"), int(match.group("version"))


class LocalRegistry:
    def __init__(self, work_dir: str | Path, region: str = "us-east-1", account: str = "000000000000"):
        self.root = Path(work_dir) / "registry"
        self.region, self.account = region, account

    def arn(self, group: str, version: int) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:model-package/{group}/{version}"

    @contextlib.contextmanager
    def _locked(self, group: str) -> Iterator[Path]:
        """Hold the group's lock (exclusive, across processes); yields the group folder."""
        folder = self.root / group
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / LOCK_NAME, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield folder
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _numbers(folder: Path) -> list[int]:
        return [int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()]

    def register(self, request: dict[str, Any]) -> dict[str, Any]:
        group = request["ModelPackageGroupName"]
        with self._locked(group) as folder:
            version = max(self._numbers(folder), default=0) + 1
            package = {
                "ModelPackageGroupName": group,
                "ModelPackageVersion": version,
                "ModelPackageArn": self.arn(group, version),
                "ModelApprovalStatus": request.get("ModelApprovalStatus", "PendingManualApproval"),
                "CreationTime": now(),
                "Request": request,
            }
            write_text_atomic(folder / f"{version}.json", render_json(package))
        return package

    def versions(self, group: str) -> list[dict[str, Any]]:
        folder = self.root / group
        if not folder.is_dir():
            return []
        return sorted(
            (json.loads((folder / f"{n}.json").read_text()) for n in self._numbers(folder)),
            key=lambda p: p["ModelPackageVersion"],
        )

    def groups(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []

    def _file(self, arn: str) -> Path:
        group, version = parse_versioned(arn)
        return self.root / group / f"{version}.json"

    def get(self, arn: str) -> dict[str, Any]:
        path = self._file(arn)
        if not path.is_file():
            raise RegistryError(f"no model package {arn} in the local registry ({self.root})")
        return json.loads(path.read_text())

    def set_status(self, arn: str, status: str, description: str | None = None) -> dict[str, Any]:
        if status not in STATUSES:
            raise RegistryError(f"approval status must be one of {', '.join(STATUSES)}")
        self.get(arn)  # an unknown package is an error before anything is created
        path = self._file(arn)
        with self._locked(path.parent.name):
            package = self.get(arn)
            package["ModelApprovalStatus"] = status
            package["LastModifiedTime"] = now()
            if description is not None:
                package["ApprovalDescription"] = description
            write_text_atomic(path, render_json(package))
        return package

    def model_data_url(self, arn: str) -> str:
        return self.get(arn)["Request"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
