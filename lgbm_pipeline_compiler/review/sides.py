"""One side of a diff: a spec (compiled in memory), a compiled output directory, a definition JSON,
or any of those as committed at a git ref.

A side knows its definition, how to read the bytes of the artifacts it references (the manifest's
files, or the compiled artifacts of a spec), and, for a spec, the spec's values for attribution.
Bad input raises SpecError with one located finding.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Finding, Loc, SpecError

if TYPE_CHECKING:
    from ..spec.loader import SourceDoc

DEFINITION, MANIFEST = "pipeline.json", "manifest.json"
SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass
class SpecSource:
    """A spec side's values: what attribution compares (``PipelineSpec.model_dump``)."""

    file: str
    values: dict[str, Any]
    parameters: dict[str, str]
    """Pipeline parameter name → the dotted spec path it exposes."""
    doc: SourceDoc | None = None
    """The parsed spec with every node's line:col."""

    def positions(self, loc: Loc) -> tuple[int, int] | None:
        if self.doc is None:
            return None
        return self.doc.key_marks.get(loc) or self.doc.marks.get(loc)

    def locate(self, step: str, value: Any) -> Loc | None:
        """The spec key holding a definition value of ``step``, as ``validate --deep`` places a
        finding on that value (``lint/sources.py``); None when the value is not found or ambiguous."""
        if self.doc is None:
            return None
        from ..lint.rules import LintFinding
        from ..lint.sources import position

        # position() looks a finding's value up in the spec; the finding itself is never shown.
        where = position(LintFinding("I3003", "", step=step, value=value), self.doc)
        if where is None:
            return None
        at = [loc for loc, mark in self.doc.marks.items() if mark == where]
        at += [loc for loc, mark in self.doc.key_marks.items() if mark == where]
        return max(at, key=len) if at else None


@dataclass
class Side:
    label: str
    definition: dict[str, Any]
    blobs: dict[str, Callable[[], bytes | None]] = field(default_factory=dict)
    """Artifact S3 URI → a reader of its bytes."""
    spec: SpecSource | None = None
    fallback: Callable[[str, str], bytes | None] = lambda sha, name: None
    """Bytes of an artifact not in ``blobs``, found elsewhere by name and verified by its hash."""

    def read(self, uri: str, sha: str | None = None, name: str | None = None) -> bytes | None:
        reader = self.blobs.get(uri)
        data = reader() if reader else None
        if data is None and sha and name:
            data = self.fallback(sha, name)
        return data

    def members(self, prefix: str) -> dict[str, bytes] | None:
        """The files of a bundle (a content-addressed prefix), by name; None when unknown."""
        uris = [uri for uri in self.blobs if uri.startswith(prefix + "/")]
        if not uris:
            return None
        out = {uri[len(prefix) + 1 :]: self.read(uri) for uri in sorted(uris)}
        return None if any(v is None for v in out.values()) else out  # type: ignore[misc]


def _bad(file: str, message: str, line: int = 1, col: int = 1) -> SpecError:
    return SpecError([Finding(file, line, col, "", message)])


def parse_definition(text: str, file: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise _bad(
            file, f"invalid JSON: {err.msg}; pass a pipeline definition", err.lineno, err.colno
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("Steps"), list):
        raise _bad(
            file, "not a pipeline definition (no Steps list); pass a spec, pipeline.json or its directory"
        )
    return data


def _verified(data: bytes | None, sha: str) -> bytes | None:
    return data if data is not None and hashlib.sha256(data).hexdigest() == sha else None


def _bundled_script(sha: str, name: str) -> bytes | None:
    """A step script shipped with this package whose bytes have the wanted hash."""
    from importlib import resources

    path = resources.files("lgbm_pipeline_compiler.step_scripts").joinpath(name)
    return _verified(path.read_bytes(), sha) if path.is_file() else None


def _manifest_blobs(manifest: dict[str, Any], read: Callable[[str], bytes | None]) -> dict[str, Any]:
    blobs: dict[str, Callable[[], bytes | None]] = {}
    for entry in manifest.get("artifacts", []):
        path, sha = entry.get("path"), entry.get("sha256")
        if isinstance(entry.get("s3_uri"), str) and isinstance(path, str) and isinstance(sha, str):
            blobs[entry["s3_uri"]] = lambda path=path, sha=sha: _verified(read(path), sha)
    return blobs


def from_spec(path: str, variables: Mapping[str, str] | None = None) -> Side:
    """Compile a spec in memory (the one place review/ reaches the SDK, through the compiler)."""
    from ..compiler import compile_definition
    from ..spec import load_spec
    from ..spec.loader import load_document

    spec = load_spec(path, variables)
    compiled = compile_definition(spec)
    blobs = {uri: (lambda data=artifact.data: data) for uri, artifact in compiled.artifacts.items()}
    doc = load_document(path, variables)  # line:col of every key (load_spec keeps none)
    source = SpecSource(path, spec.model_dump(mode="json"), dict(spec.parameters), doc)
    return Side(path, compiled.definition, blobs, source, _bundled_script)


def from_output(path: str | Path) -> Side:
    """A compiled output directory (pipeline.json, manifest.json, artifacts/) or a definition JSON
    file (with the manifest beside it, when there is one)."""
    target = Path(path)
    if target.is_dir():
        folder, definition = target, target / DEFINITION
    else:
        folder, definition = target.parent, target
    try:
        text = definition.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _bad(str(definition), "file not found; compile the spec with -o DIR first") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _bad(str(definition), f"cannot read: {err}") from None
    side = Side(str(path), parse_definition(text, str(definition)), fallback=_bundled_script)
    manifest = folder / MANIFEST
    if manifest.is_file() and (target.is_dir() or definition.name == DEFINITION):
        side.blobs = _manifest_blobs(
            _read_manifest(manifest.read_text(encoding="utf-8"), str(manifest)), _file_reader(folder)
        )
    return side


def _file_reader(folder: Path) -> Callable[[str], bytes | None]:
    def read(rel: str) -> bytes | None:
        try:
            return (folder / rel).read_bytes()
        except OSError:
            return None

    return read


def _read_manifest(text: str, file: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise _bad(
            file, f"invalid JSON: {err.msg}; recompile to rewrite the manifest", err.lineno, err.colno
        ) from None
    if not isinstance(data, dict):
        raise _bad(file, "not an artifact manifest (expected an object with 'artifacts')")
    return data


def git_show(ref: str, path: str, cwd: str | Path = ".") -> bytes | None:
    """A file's bytes at a git ref (None if the ref has no such file)."""
    proc = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=cwd, capture_output=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _repo_path(path: Path) -> tuple[Path, str]:
    """The repository root holding ``path`` and the path relative to it (as git names it)."""
    folder = path if path.is_dir() else path.parent
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise _bad(str(path), "--base needs a path inside a git repository")
    root = Path(proc.stdout.strip())
    return root, path.resolve().relative_to(root.resolve()).as_posix()


def at_ref(ref: str, path: str) -> Side:
    """The compiled output at ``path`` (a directory or a definition JSON) as committed at ``ref``."""
    target = Path(path)
    root, rel = _repo_path(target)
    check = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if check.returncode != 0:
        raise _bad(str(path), f"--base {ref}: no such git ref; fetch it (git fetch origin) or name a commit")
    is_dir = target.is_dir() or git_show(ref, f"{rel}/{DEFINITION}", root) is not None
    folder = rel if is_dir else str(Path(rel).parent.as_posix())
    definition_rel = f"{rel}/{DEFINITION}" if is_dir else rel
    data = git_show(ref, definition_rel, root)
    label = f"{ref}:{definition_rel}"
    if data is None:
        raise _bad(
            str(path), f"{label} does not exist; commit the compiled output at {ref} or diff two files"
        )
    side = Side(label, parse_definition(data.decode("utf-8", errors="replace"), label))
    prefix = "" if folder in ("", ".") else folder + "/"
    manifest = git_show(ref, f"{prefix}{MANIFEST}", root) if is_dir or Path(rel).name == DEFINITION else None
    if manifest is not None:
        side.blobs = _manifest_blobs(
            _read_manifest(manifest.decode("utf-8", errors="replace"), f"{ref}:{prefix}{MANIFEST}"),
            lambda rel_path: git_show(ref, prefix + rel_path, root),
        )
    side.fallback = _git_script(ref, root)
    return side


def _git_script(ref: str, root: Path) -> Callable[[str, str], bytes | None]:
    """Step scripts as the repository had them at ``ref`` (this package's own step_scripts/),
    then as shipped now; each verified by its hash."""
    from importlib import resources

    bundled = Path(str(resources.files("lgbm_pipeline_compiler.step_scripts")))
    try:
        rel = bundled.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = None

    def find(sha: str, name: str) -> bytes | None:
        data = _verified(git_show(ref, f"{rel}/{name}", root), sha) if rel else None
        return data if data is not None else _bundled_script(sha, name)

    return find


def load(path: str, variables: Mapping[str, str] | None = None) -> Side:
    """A side from a path: a spec (``.yaml``), a compiled output directory, or a definition JSON."""
    if Path(path).suffix.lower() in SPEC_SUFFIXES:
        return from_spec(path, variables)
    if not Path(path).exists():
        raise _bad(
            path, "file not found; pass a spec (.yaml), a compiled output directory or a pipeline.json"
        )
    return from_output(path)
