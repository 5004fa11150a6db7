"""``lgbm-pipeline compile SPEC --check -o DIR``: is the committed output in DIR what SPEC compiles to?

Fast path (every pre-commit run): the manifest's input fingerprint (``fingerprint.py``) matches the
spec, variables, step scripts and compiler now, and pipeline.json and every artifact file still have
the hashes recorded for them: up to date, answered without importing the spec models or the
SageMaker SDK. Otherwise the spec is compiled in memory and compared with DIR: identical output is
up to date (the fingerprint moved, e.g. a comment was edited; recompiling refreshes it), anything
else is stale and the semantic diff says what changed. Exit 0 up to date, 1 stale, 2 bad input.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from ..errors import CompileError, Finding, SpecError
from . import fingerprint

EXIT_OK, EXIT_STALE, EXIT_BAD_INPUT = 0, 1, 2
DEFINITION, MANIFEST = "pipeline.json", "manifest.json"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _files_intact(out: Path, manifest: dict[str, Any], definition_sha: str) -> bool:
    try:
        if hashlib.sha256((out / DEFINITION).read_bytes()).hexdigest() != definition_sha:
            return False
        return all(
            hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
            for entry in manifest.get("artifacts", [])
        )
    except (OSError, KeyError, TypeError):
        return False


def up_to_date_by_hash(
    spec_path: str | Path, out_dir: str | Path, variables: Mapping[str, str] | None
) -> bool:
    """The fast path: True when the recorded fingerprint and files match (no compile, no SDK)."""
    out = Path(out_dir)
    manifest = _read_json(out / MANIFEST)
    recorded = manifest.get("inputs") if isinstance(manifest, dict) else None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("definition_sha256"), str):
        return False
    now = fingerprint.current(spec_path, variables, recorded)
    if any(recorded.get(key) != value for key, value in now.items()):
        return False
    return _files_intact(out, manifest, recorded["definition_sha256"])


def _bad(file: str, message: str) -> SpecError:
    return SpecError([Finding(file, 1, 1, "", message)])


def check(
    spec_path: str | Path,
    out_dir: str | Path | None,
    variables: Mapping[str, str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    colour: bool | None = None,
) -> int:
    """Check the compiled output in ``out_dir`` against ``spec_path``; print the diff if stale."""
    out, err = out or sys.stdout, err or sys.stderr
    spec, rerun = str(spec_path), f"lgbm-pipeline compile {spec_path} -o {out_dir}"
    try:
        if out_dir is None:
            raise _bad(spec, "compile --check needs -o DIR: the directory holding the committed output")
        if not Path(spec_path).is_file():
            raise _bad(spec, "file not found; pass the spec the output in -o DIR was compiled from")
        if up_to_date_by_hash(spec_path, out_dir, variables):
            print(f"{out_dir}: up to date with {spec_path}", file=err)
            return EXIT_OK
        if not (Path(out_dir) / DEFINITION).is_file():
            print(f"{out_dir}: no {DEFINITION}; the output is missing: run {rerun}", file=err)
            return EXIT_STALE
        return _full_check(spec, Path(out_dir), variables, rerun, out, err, colour)
    except SpecError as exc:
        for finding in exc.findings:
            print(finding.format(), file=err)
        return EXIT_BAD_INPUT
    except CompileError as exc:
        print(f"{spec}:1:1: error: {exc}", file=err)
        return EXIT_BAD_INPUT


def _full_check(
    spec: str,
    out_dir: Path,
    variables: Mapping[str, str] | None,
    rerun: str,
    out: TextIO,
    err: TextIO,
    colour: bool | None,
) -> int:
    from ..emit import render_json
    from . import render, sides
    from .diff import compare

    new = sides.from_spec(spec, variables)
    old = sides.from_output(out_dir)
    same_definition = render_json(old.definition) == render_json(new.definition)
    missing = [uri for uri in new.blobs if old.read(uri) is None]
    if same_definition and not missing:
        print(
            f"{out_dir}: up to date with {spec} (its input fingerprint differs, e.g. after an edit of "
            f"a comment or of the compiler: run {rerun} to make the next check fast)",
            file=err,
        )
        return EXIT_OK
    diff = compare(old, new)
    if diff.changed:
        out.write(render.text(diff, colour=out.isatty() if colour is None else colour))
    elif not same_definition:
        print(
            f"{out_dir}/{DEFINITION} differs from a fresh compile only in formatting or step order", file=out
        )
    else:
        print(f"{out_dir}: artifacts missing or altered: {', '.join(sorted(missing))}", file=out)
    print(f"{out_dir} is stale: run {rerun}", file=err)
    return EXIT_STALE
