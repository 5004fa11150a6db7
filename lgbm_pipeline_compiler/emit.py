"""Canonical JSON, the artifact manifest, and atomic writes of compile output.

Canonical means byte-identical across runs, processes and machines: sorted keys, 2-space indent,
UTF-8, one trailing newline; the definition itself carries no timestamps, uuids or job names.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the compiler (and the SDK behind it) is imported only by those who compile
    from .compiler import Compiled

DEFINITION = "pipeline.json"
MANIFEST = "manifest.json"
ARTIFACTS = "artifacts"


def render_json(data: Any) -> str:
    """The one canonical rendering of a definition (or any JSON document we emit)."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def manifest(compiled: Compiled, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """S3 URI → local file and sha256 of every artifact the definition references; with ``inputs``
    (a fingerprint of what the compile read, ``review/fingerprint.py``), also those and the sha256
    of the definition's canonical text, so ``compile --check`` can answer without compiling."""
    out: dict[str, Any] = {
        "artifacts": [
            {
                "s3_uri": uri,
                "path": f"{ARTIFACTS}/{artifact.digest}/{artifact.name}",
                "sha256": artifact.digest,
                "size": len(artifact.data),
            }
            for uri, artifact in sorted(compiled.artifacts.items())
        ]
    }
    if inputs is not None:
        text = render_json(compiled.definition).encode("utf-8")
        out["inputs"] = {**inputs, "definition_sha256": hashlib.sha256(text).hexdigest()}
    return out


def write_output(out_dir: str | Path, compiled: Compiled, inputs: Mapping[str, Any] | None = None) -> Path:
    """Write pipeline.json, manifest.json and artifacts/ atomically into ``out_dir`` (``inputs``: the
    compile's input fingerprint for the manifest, see :func:`manifest`).

    Everything is written to a sibling temporary directory first and swapped in with renames,
    so a failed compile leaves the previous output untouched.
    """
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        (staging / DEFINITION).write_text(render_json(compiled.definition), encoding="utf-8")
        (staging / MANIFEST).write_text(render_json(manifest(compiled, inputs)), encoding="utf-8")
        for artifact in compiled.artifacts.values():
            path = staging / ARTIFACTS / artifact.digest / artifact.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(artifact.data)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _swap_in(staging: Path, target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a directory")
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rmdir(old)
        os.rename(target, old)
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write one file via a temporary sibling and a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
