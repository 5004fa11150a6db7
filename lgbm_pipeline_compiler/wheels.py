"""`lgbm-pipeline wheels SPEC`: resolve step_scripts/requirements.txt into wheels for the
container's platform and write ``wheels.lock.json`` beside the spec (`dependencies: bundled`).

Run it where there is internet (deploy time); compile stays offline and reads only the lock. It
runs ``pip download --only-binary=:all: --no-deps`` for the container's CPython version, ABI and
manylinux platforms (spec/dependencies.py PLATFORMS: the scikit-learn 1.2-1 images run CPython 3.9
on glibc 2.31, x86_64), with the machine's pip configuration ignored, then checks each file's tags
against that platform itself and records its name, version, tags, sha256, size and Requires-Dist.
Dependencies are not downloaded: the container has numpy, scipy, pandas and scikit-learn, and the
job's ``pip install --no-index`` still checks them against what the image has.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

from .errors import CompileError
from .spec.dependencies import (
    LOCK_FILE,
    LOCK_VERSION,
    PLATFORMS,
    Platform,
    read_requirements,
    requirements_sha256,
    wheel_set_sha256,
)

_WHEEL = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)


def wheel_tags(filename: str) -> list[str]:
    """The tags a wheel's file name declares, compressed tag sets expanded (PEP 425)."""
    match = _WHEEL.match(filename)
    if not match:
        raise CompileError(f"{filename} is not a wheel file name (name-version-python-abi-platform.whl)")
    return [
        f"{py}-{abi}-{plat}"
        for py in match["py"].split(".")
        for abi in match["abi"].split(".")
        for plat in match["plat"].split(".")
    ]


def accepted(platform: Platform) -> set[str]:
    """Every tag CPython ``platform.python`` on the container's glibc and architecture installs."""
    minor = int(platform.python.split(".")[1])
    cp = platform.abi
    plats = [*platform.platforms, "any"]
    tags = {f"{cp}-{cp}-{p}" for p in plats} | {f"{cp}-none-{p}" for p in plats}
    tags |= {f"cp3{m}-abi3-{p}" for m in range(2, minor + 1) for p in plats}
    tags |= {f"{py}-none-{p}" for py in ("py3", f"py3{minor}") for p in plats}
    tags |= {f"py3{m}-none-any" for m in range(0, minor)}
    return tags


def check_tags(filename: str, platform: Platform) -> list[str]:
    """The wheel's tags, or a CompileError when none runs on the container."""
    tags = wheel_tags(filename)
    if not set(tags) & accepted(platform):
        raise CompileError(
            f"{filename} does not install on CPython {platform.python} / {platform.platforms[0]} "
            f"(its tags: {', '.join(tags)})"
        )
    return tags


def wheel_metadata(path: Path) -> dict[str, Any]:
    """Name, version and Requires-Dist from a wheel's METADATA."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        if len(names) != 1:
            raise CompileError(f"{path.name} has no single .dist-info/METADATA: not a wheel")
        meta = HeaderParser().parsestr(archive.read(names[0]).decode("utf-8", "replace"))
    return {"name": meta["Name"], "version": meta["Version"], "requires": meta.get_all("Requires-Dist") or []}


def pip_download(
    requirements: Path, dest: Path, platform: Platform, pip_args: Sequence[str]
) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "pip", "download", "--isolated", "--disable-pip-version-check",
        "--dest", str(dest), "--only-binary=:all:", "--no-deps",
        "--python-version", platform.python, "--implementation", "cp", "--abi", platform.abi,
        *(arg for p in platform.platforms for arg in ("--platform", p)),
        "-r", str(requirements), *pip_args,
    ]  # fmt: skip
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def resolve(
    spec_dir: Path, framework_version: str, dest: Path, pip_args: Sequence[str] = ()
) -> dict[str, Any]:
    """Download the wheels into ``dest`` and return the lock (not yet written)."""
    platform = PLATFORMS.get(framework_version)
    if platform is None:
        raise CompileError(
            f"no verified platform for scikit-learn container {framework_version} (known: {', '.join(PLATFORMS)})"
        )
    requirements = read_requirements(spec_dir)
    root = spec_dir.resolve()
    if not dest.resolve().is_relative_to(root):
        raise CompileError(
            f"--dest {dest} must be inside the spec's directory ({spec_dir}): the lock names it relatively"
        )
    with tempfile.TemporaryDirectory(prefix="lgbm-wheels-") as tmp:
        req_file = Path(tmp) / "requirements.txt"
        req_file.write_bytes(requirements)
        download = Path(tmp) / "download"
        done = pip_download(req_file, download, platform, pip_args)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-6:])
            raise CompileError(
                f"pip could not resolve the requirements for CPython {platform.python}:\n{tail}"
            )
        wheels = []
        dest.mkdir(parents=True, exist_ok=True)
        for path in sorted(download.iterdir()):
            data = path.read_bytes()
            entry = {
                "file": path.name,
                "tags": check_tags(path.name, platform),
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                **wheel_metadata(path),
            }
            (dest / path.name).write_bytes(data)
            wheels.append(entry)
    return {
        "version": LOCK_VERSION,
        "comment": "written by `lgbm-pipeline wheels`; compile ships these wheels (`dependencies: bundled`)",
        "requirements_sha256": requirements_sha256(requirements),
        "target": {
            "framework_version": framework_version,
            "python_version": platform.python,
            "abi": platform.abi,
            "platforms": platform.platforms,
        },
        "wheel_dir": dest.resolve().relative_to(root).as_posix(),
        "wheel_set_sha256": wheel_set_sha256(wheels),
        "wheels": wheels,
    }


def write_lock(
    spec_path: str | Path,
    variables: dict[str, str] | None = None,
    dest: str | Path | None = None,
    find_links: Sequence[str] = (),
    no_index: bool = False,
) -> dict[str, Any]:
    """Resolve the spec's requirements into wheels and write wheels.lock.json beside the spec."""
    from .emit import render_json, write_text_atomic
    from .spec import load_spec

    spec = load_spec(spec_path, variables)
    folder = Path(spec_path).parent
    pip_args = [*(["--no-index"] if no_index else []), *(f"--find-links={d}" for d in find_links)]
    lock = resolve(
        folder, spec.training.framework_version, Path(dest) if dest else folder / "wheels", pip_args
    )
    write_text_atomic(folder / LOCK_FILE, render_json(lock))
    return lock
