"""``lgbm-pipeline validate PATH``: a definition (``.json``), or a spec (``--deep``: compiled, then
checked like a definition, with findings placed at the spec's file:line:col).

Findings go to stdout in the chosen format, a one-line summary to stderr. Exit codes: 0 valid (info
findings allowed), 1 error findings (warnings alone do not fail), 2 unreadable input (E0001), or a
spec that does not validate or compile (printed as ``validate`` and ``compile`` print them).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ..errors import CompileError, SpecError
from .engine import UnreadableInput, lint_document, read_definition
from .output import render, summary
from .rules import RULES, LintFinding

EXIT_OK, EXIT_ERRORS, EXIT_BAD_INPUT = 0, 1, 2


def is_definition(path: str) -> bool:
    return Path(path).suffix.lower() == ".json"


def lint_spec(path: str, variables: Mapping[str, str] | None = None) -> list[LintFinding]:
    """Compile the spec (raises SpecError / CompileError as ``compile`` does), then lint the
    definition with its artifacts; findings carry the spec's file and, where known, line:col."""
    from ..compiler import compile_definition
    from ..spec import spec_from_document
    from ..spec.loader import load_document
    from .document import Document
    from .sources import locate

    source = load_document(path, variables)
    spec = spec_from_document(source, Path(path).parent)
    compiled = compile_definition(spec)
    # wheels (dependencies: bundled) are read only when written or uploaded: the linter needs none
    artifacts = {
        uri: artifact.data for uri, artifact in compiled.artifacts.items() if not uri.endswith(".whl")
    }
    doc = Document(compiled.definition, str(path), artifacts, spec.pipeline.name)
    return locate(lint_document(doc), source)


def lint_path(path: str, deep: bool = False, variables: Mapping[str, str] | None = None) -> list[LintFinding]:
    """Findings for a definition file, or (``deep``) a spec; raises UnreadableInput, SpecError or
    CompileError for input that cannot be checked."""
    if is_definition(path):
        from .positions import place

        doc = read_definition(path)
        return place(lint_document(doc), doc.text)
    if deep:
        return lint_spec(path, variables)
    from ..spec import load_spec

    load_spec(path, variables)
    return []


def _as_findings(err: SpecError | CompileError, path: str) -> list[LintFinding]:
    if isinstance(err, SpecError):
        return [
            LintFinding("E0002", f.message, path=f.path, file=f.file, line=f.line, col=f.col)
            for f in err.findings
        ]
    return [LintFinding("E0002", str(err), file=path)]


def validate(
    path: str,
    *,
    deep: bool = False,
    variables: Mapping[str, str] | None = None,
    fmt: str = "text",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run validate and print its findings; the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        findings = lint_path(path, deep, variables)
    except UnreadableInput as exc:
        out.write(render([exc.finding], fmt))
        print(f"{path}: unreadable", file=err)
        return EXIT_BAD_INPUT
    except (SpecError, CompileError) as exc:
        if fmt != "sarif":
            raise  # printed as validate and compile print them
        out.write(render(_as_findings(exc, path), fmt))
        return EXIT_BAD_INPUT
    out.write(render(findings, fmt))
    print(summary(path, findings), file=err)
    return EXIT_ERRORS if any(f.severity == "error" for f in findings) else EXIT_OK


def rules_table() -> str:
    """``--list-rules``: code, severity, name and description of every rule."""
    width = max(len(rule.name) for rule in RULES.values())
    return "".join(
        f"{rule.code}  {rule.severity:<7}  {rule.name:<{width}}  {rule.description}\n"
        for rule in RULES.values()
    )
