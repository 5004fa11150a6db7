"""A hash of everything a compile reads, recorded in manifest.json by ``compile -o`` so that
``compile --check`` can tell an unchanged output from hashes alone, without parsing the spec or
importing the SageMaker SDK.

The inputs: the spec file's bytes and the ``--var`` values (together they determine the rendered
spec; hashing the text rather than the rendered values keeps the check free of the spec loader,
which costs ~0.5 s to import, at the price of a full check after an edit of a comment); every step
script a compile may read (each bundled script and any spec value naming a file next to the spec,
resolved as ``compiler/artifacts.py:read_script`` resolves them: the spec's directory first) and the
wheel lock beside the spec (``dependencies: bundled``; it holds each wheel's sha256); the
versions of this package, the SageMaker SDK and botocore (``importlib.metadata``, no import); and a hash of
the compiler's own sources (``compiler/``, ``spec/``, ``emit.py``), so an editable install whose code
changed without a version bump is not taken for unchanged. Nothing machine-specific is recorded:
the manifest stays byte-identical across machines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent
COMPILER_SOURCES = ("compiler", "spec", "emit.py")
VERSIONS = ("lgbm-pipeline-compiler", "sagemaker", "botocore")
"""botocore: the spec checks read its partitions and instance-type enums."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundled_dir() -> Path:
    """Where the bundled step scripts live (``step_scripts/``, shipped as package data)."""
    from importlib.util import find_spec  # finds the package without importing it (nor importlib.resources)

    spec = find_spec("lgbm_pipeline_compiler.step_scripts")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("the bundled step scripts (lgbm_pipeline_compiler.step_scripts) are not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in VERSIONS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def sources_digest() -> str:
    """One hash over the compiler's sources (relative names and contents)."""
    lines = []
    for entry in COMPILER_SOURCES:
        path = PACKAGE / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            lines.append(f"{sha256(file.read_bytes())}  {file.relative_to(PACKAGE).as_posix()}\n")
    return sha256("".join(lines).encode())


def scripts(names: Iterable[str], spec_dir: Path) -> dict[str, dict[str, str]]:
    """Name → where it resolves (``spec`` dir or ``bundled``) and its sha256; ``absent`` for a
    name that resolves nowhere (so a file that appears later is seen)."""
    bundled = bundled_dir()
    out = {}
    for name in sorted(set(names)):
        out[name] = {"from": "absent"}
        for origin, path in (("spec", spec_dir / name), ("bundled", bundled / name)):
            if path.is_file():
                out[name] = {"from": origin, "sha256": sha256(path.read_bytes())}
                break
    return out


def _file_names(node: Any, spec_dir: Path) -> set[str]:
    """String values of a spec that name a file next to it (custom step scripts)."""
    if isinstance(node, dict):
        return set().union(*(_file_names(v, spec_dir) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_file_names(v, spec_dir) for v in node)) if node else set()
    if isinstance(node, str) and node and "://" not in node and len(node) < 256:
        try:
            return {node} if (spec_dir / node).is_file() else set()
        except (OSError, ValueError):
            return set()
    return set()


def _base(spec_path: str | Path, variables: Mapping[str, str] | None) -> dict[str, Any]:
    return {
        "spec_sha256": sha256(Path(spec_path).read_bytes()),
        "variables_sha256": sha256(json.dumps(dict(sorted((variables or {}).items()))).encode()),
        "versions": versions(),
        "compiler_sources_sha256": sources_digest(),
    }


def record(spec_path: str | Path, variables: Mapping[str, str] | None, spec: Any) -> dict[str, Any]:
    """The fingerprint of a compile of ``spec`` (the loaded PipelineSpec of ``spec_path``), for the
    manifest (``emit.write_output(..., inputs=...)``)."""
    from ..spec.dependencies import LOCK_FILE  # read beside the spec without a spec value naming it

    spec_dir = Path(spec_path).parent
    names = {p.name for p in bundled_dir().iterdir() if p.is_file()} | {LOCK_FILE}
    names |= _file_names(spec.model_dump(mode="json"), spec_dir)
    return {**_base(spec_path, variables), "scripts": scripts(names, spec_dir)}


def current(
    spec_path: str | Path, variables: Mapping[str, str] | None, recorded: Mapping[str, Any]
) -> dict[str, Any]:
    """The same fingerprint now, for the script names a recorded fingerprint lists."""
    names = recorded.get("scripts", {}) if isinstance(recorded.get("scripts"), dict) else {}
    return {**_base(spec_path, variables), "scripts": scripts(names, Path(spec_path).parent)}
