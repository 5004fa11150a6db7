"""`dependencies:` — how jobs get step_scripts/requirements.txt (LightGBM), and the wheel lock.

- ``pypi`` (default): every job that needs LightGBM pip-installs it from PyPI when it starts, so
  it needs the internet (a NAT gateway in a VPC; never with network isolation).
- ``bundled``: `lgbm-pipeline wheels SPEC` (at deploy time, with internet) resolves the pinned
  requirements for the container's platform into ``wheels.lock.json`` beside the spec and the
  wheels themselves; compile ships them as content-addressed artifacts and every job, and the
  served model, installs them with ``--no-index``: no internet needed.
- ``image``: the images have the requirements preinstalled (`training.image_uri`, and
  `evaluation.image_uri` or the training image for evaluation); nothing is installed.

The lock is plain JSON (read here without pip or the SDK): the target platform, the
requirements' sha256, and each wheel's file name, tags, sha256 and size.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

DependencyMode = Literal["pypi", "bundled", "image"]
LOCK_FILE = "wheels.lock.json"
LOCK_VERSION = 1


@dataclass(frozen=True)
class Platform:
    """What a SageMaker scikit-learn container runs: CPython version, glibc and architecture."""

    python: str
    glibc: tuple[int, int]
    arch: str

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    @property
    def platforms(self) -> list[str]:
        """Platform tags the container's pip accepts, newest first (PEP 600 manylinux_2_X down to
        2_17, then the legacy aliases)."""
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_{self.arch}" for m in range(minor, 16, -1)]
        legacy = ("manylinux2014", "manylinux_2_12", "manylinux2010", "manylinux_2_5", "manylinux1")
        return tags + [f"{name}_{self.arch}" for name in legacy]


PLATFORMS: dict[str, Platform] = {
    # sagemaker-scikit-learn-container docker/1.2-1/base/Dockerfile.cpu: ubuntu 20.04 (glibc 2.31),
    # miniconda python 3.9, x86_64.
    "1.2-1": Platform(python="3.9", glibc=(2, 31), arch="x86_64"),
}


def read_requirements(spec_dir: str | Path) -> bytes:
    """The requirements.txt compile ships: beside the spec if there is one, else the bundled one."""
    local = Path(spec_dir) / "requirements.txt"
    if local.is_file():
        return local.read_bytes()
    return resources.files("lgbm_pipeline_compiler.step_scripts").joinpath("requirements.txt").read_bytes()


class LockError(ValueError):
    """The wheel lock is missing, unreadable or does not match the requirements."""


def requirements_sha256(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def wheel_set_sha256(wheels: list[dict[str, Any]]) -> str:
    """The wheel set's hash: of each wheel's sha256 and file name, sorted by name."""
    listing = "".join(f"{w['sha256']}  {w['file']}\n" for w in sorted(wheels, key=lambda w: w["file"]))
    return hashlib.sha256(listing.encode()).hexdigest()


@dataclass(frozen=True)
class WheelLock:
    path: Path
    data: dict[str, Any]

    @property
    def wheels(self) -> list[dict[str, Any]]:
        return list(self.data["wheels"])

    @property
    def wheel_dir(self) -> Path:
        return self.path.parent / self.data["wheel_dir"]

    @property
    def wheel_set(self) -> str:
        return wheel_set_sha256(self.wheels)


def read_lock(spec_dir: str | Path, requirements: bytes, framework_version: str) -> WheelLock:
    """The lock beside the spec, checked against the requirements and the container's platform."""
    path = Path(spec_dir) / LOCK_FILE
    fix = "run `lgbm-pipeline wheels SPEC` (with internet) and commit wheels.lock.json"
    if not path.is_file():
        raise LockError(f"dependencies: bundled needs {LOCK_FILE} beside the spec ({path}); {fix}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        _ = data["target"]["framework_version"], data["requirements_sha256"], data["wheel_dir"]
        wheels = data["wheels"]
        for wheel in wheels:
            _ = wheel["file"], wheel["sha256"], wheel["name"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise LockError(f"{path} is not a wheel lock ({err!r}); {fix}") from None
    if data.get("version") != LOCK_VERSION:
        raise LockError(f"{path} has lock version {data.get('version')!r}, not {LOCK_VERSION}; {fix}")
    if data["requirements_sha256"] != requirements_sha256(requirements):
        raise LockError(f"{path} was resolved from another requirements.txt (the pins changed); {fix}")
    if data["target"]["framework_version"] != framework_version:
        raise LockError(
            f"{path} holds wheels for framework_version {data['target']['framework_version']}, "
            f"but the spec uses {framework_version}; {fix}"
        )
    if not wheels:
        raise LockError(f"{path} lists no wheels; {fix}")
    dirs = Path(data["wheel_dir"])
    if (
        dirs.is_absolute()
        or ".." in dirs.parts
        or any("/" in w["file"] or w["file"].startswith(".") for w in wheels)
    ):
        raise LockError(f"{path}: wheel_dir and file names must be plain relative names; {fix}")
    return WheelLock(path, data)
