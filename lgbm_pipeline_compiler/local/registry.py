"""A local model registry: versioned model packages per group, with approval status and metrics.

Layout: {work_dir}/registry/{group}/{version}.json — the resolved CreateModelPackage request plus
the ARN, version, status and time. Every read-modify-write of a group (allocating a version,
changing a status) holds an exclusive ``fcntl.flock`` on ``{group}/.lock``, and every file is
written atomically (temporary sibling + rename), so parallel registrations from several processes
never lose a package or hand out one version twice, and a reader never sees a half-written file.
Group names (from a definition) and ARNs (from the command line) become paths only through
paths.inside: an ARN such as ``…:model-package/../../other/1`` is refused, never resolved.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..emit import render_json
from . import paths
from .records import now

STATUSES = ("Approved", "Rejected", "PendingManualApproval")
LOCK_NAME = ".lock"
_GROUP = r"(?P<group>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})"
_VERSIONED = re.compile(
    rf"(?:arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{{12}}:model-package/)?{_GROUP}/(?P<version>[1-9][0-9]{{0,8}})"
)
_GROUP_ARN = re.compile(rf"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{{12}}:model-package-group/{_GROUP}")
ARN_FIX = (
    "pass a model package ARN as `lgbm-pipeline registry list` prints it (…:model-package/GROUP/VERSION)"
)
GROUP_FIX = "name the model package group with letters, digits and hyphens (or its ARN)"


class RegistryError(LookupError):
    """An unknown group or version, or a bad approval status."""


def parse_versioned(name: str) -> tuple[str, int]:
    """(group, version) of a versioned model package ARN or ``group/version`` name: the whole
    value must be one, so nothing else in it can reach a path."""
    match = _VERSIONED.fullmatch(str(name))
    if not match:
        raise RegistryError(f"not a versioned model package ARN: {name!r}; {ARN_FIX}")
    return match.group("group"), int(match.group("version"))


def group_name(value: str) -> str:
    """A ModelPackageGroupName (a name or a group ARN) as the plain group name."""
    match = _GROUP_ARN.fullmatch(str(value))
    return paths.name(
        match.group("group") if match else str(value), what="model package group", fix=GROUP_FIX
    )


class LocalRegistry:
    def __init__(self, work_dir: str | Path, region: str = "us-east-1", account: str = "000000000000"):
        self.work_dir = Path(work_dir)
        self.root = self.work_dir / "registry"
        self.region, self.account = region, account

    def arn(self, group: str, version: int) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:model-package/{group}/{version}"

    @contextlib.contextmanager
    def _locked(self, group: str) -> Iterator[Path]:
        """Hold the group's lock (exclusive, across processes); yields the group folder."""
        folder = paths.ensure_dir(self.work_dir, self._folder(group))
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield folder
        finally:
            os.close(fd)  # drops the lock

    def _folder(self, group: str) -> Path:
        return paths.inside(
            self.work_dir, group_name(group), what="model package group", fix=GROUP_FIX, prefix=["registry"]
        )

    @staticmethod
    def _numbers(folder: Path) -> list[int]:
        return [int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()]

    def register(self, request: dict[str, Any]) -> dict[str, Any]:
        group = group_name(request["ModelPackageGroupName"])
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
            paths.write_atomic(self.work_dir, folder / f"{version}.json", render_json(package).encode())
        return package

    def versions(self, group: str) -> list[dict[str, Any]]:
        folder = self._folder(group)
        if not folder.is_dir():
            return []
        return sorted(
            (json.loads(paths.read_bytes(folder / f"{n}.json")) for n in self._numbers(folder)),
            key=lambda p: p["ModelPackageVersion"],
        )

    def groups(self) -> list[str]:
        if not self.root.is_dir() or self.root.is_symlink():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.is_symlink())

    def _file(self, arn: str) -> Path:
        group, version = parse_versioned(arn)
        return self._folder(group) / f"{version}.json"

    def get(self, arn: str) -> dict[str, Any]:
        path = self._file(arn)
        if not path.is_file():
            raise RegistryError(f"no model package {arn} in the local registry ({self.root})")
        return json.loads(paths.read_bytes(path))

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
            paths.write_atomic(self.work_dir, path, render_json(package).encode())
        return package

    def model_data_url(self, arn: str) -> str:
        return self.get(arn)["Request"]["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
