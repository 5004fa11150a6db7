"""Run every rule family over a definition; read definitions (and their artifacts) from files.

No SageMaker SDK import here: a definition is plain JSON. Only ``validate --deep`` on a spec
compiles it first (``lint_spec``), and that import happens there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import aws_schema, check_hyper, check_refs, check_shapes
from .document import Document
from .rules import LintFinding

FAMILIES = (check_shapes, check_refs, check_hyper)
MANIFEST = "manifest.json"


class UnreadableInput(Exception):
    """The input cannot be read as a definition (exit code 2); carries one E0001 finding."""

    def __init__(self, finding: LintFinding):
        self.finding = finding
        super().__init__(finding.message)


@dataclass
class Result:
    file: str
    findings: list[LintFinding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)


def _explains(other: tuple, schema_error: tuple, structural: bool) -> bool:
    """Whether a finding at ``other`` already accounts for a schema error at ``schema_error``: it
    is at the same place or around it, or (for a structural oneOf/anyOf/type error) inside it."""
    if schema_error[: len(other)] == other:
        return True
    return structural and other[: len(schema_error)] == schema_error


def lint_document(doc: Document) -> list[LintFinding]:
    """Every finding, in definition order; a schema error that another rule's finding already
    accounts for is left out."""
    findings = [finding for family in FAMILIES for finding in family.check(doc)]
    reported = [f.pointer for f in findings if f.severity != "info" and f.pointer]
    for finding, keyword in aws_schema.check_with_kinds(doc):
        structural = keyword in ("oneOf", "anyOf", "type")
        if finding.code == "E4001" and any(_explains(p, finding.pointer, structural) for p in reported):
            continue
        findings.append(finding)
    order = {ref.name: ref.index for ref in doc.steps}
    unique = list(dict.fromkeys(findings))
    return sorted(
        unique, key=lambda f: (order.get(f.step, -1) if f.step else -1, f.pointer_key(), f.code, f.message)
    )


def lint_definition(
    definition: Mapping[str, Any],
    file: str = "<definition>",
    artifacts: Mapping[str, bytes] | None = None,
    pipeline_name: str | None = None,
) -> list[LintFinding]:
    """Findings for a definition (plain data); ``artifacts`` maps S3 URIs to bytes when known."""
    doc = Document(dict(definition), file, dict(artifacts) if artifacts is not None else None, pipeline_name)
    return lint_document(doc)


def _unreadable(file: str, message: str) -> UnreadableInput:
    return UnreadableInput(LintFinding("E0001", message, file=file))


def read_definition(path: str | Path) -> Document:
    """A definition file, with the artifacts its compile manifest lists when one sits beside it."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _unreadable(file, "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _unreadable(file, f"cannot read the file: {err}") from None
    try:
        definition = json.loads(text)
    except ValueError as err:
        raise _unreadable(file, f"not JSON: {err}") from None
    if not isinstance(definition, dict):
        raise _unreadable(file, "a pipeline definition is a JSON object with Steps")
    return Document(definition, file, _manifest_artifacts(Path(path).parent, text), text=text)


def _manifest_artifacts(folder: Path, text: str) -> dict[str, bytes] | None:
    """The artifacts of ``lgbm-pipeline compile -o DIR`` (DIR/manifest.json) that the definition names."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        entries = manifest["artifacts"]
        return {
            e["s3_uri"]: (folder / e["path"]).read_bytes()
            for e in entries
            if isinstance(e, dict) and e.get("s3_uri") in text
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None
