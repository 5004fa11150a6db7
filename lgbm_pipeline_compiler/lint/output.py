"""Findings as text (one line each), JSON, GitHub workflow annotations or SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from .rules import RULES, LintFinding

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_GITHUB_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}
_SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def render(findings: list[LintFinding], fmt: str) -> str:
    """The findings in ``fmt`` (one of FORMATS), ending with a newline unless empty text."""
    if fmt == "json":
        return json.dumps([f.as_dict() for f in findings], indent=2) + "\n"
    if fmt == "github":
        return "".join(_github(f) + "\n" for f in findings)
    if fmt == "sarif":
        return json.dumps(sarif(findings), indent=2) + "\n"
    return "".join(f.format() + "\n" for f in findings)


def summary(file: str, findings: list[LintFinding]) -> str:
    counts = {level: sum(f.severity == level for f in findings) for level in ("error", "warning", "info")}
    if not counts["error"] and not counts["warning"]:
        return f"{file}: ok" + (f" ({counts['info']} info)" if counts["info"] else "")
    return f"{file}: " + ", ".join(
        f"{n} {level}{'s' if n != 1 and level != 'info' else ''}" for level, n in counts.items() if n
    )


def _escape(text: str, properties: bool = False) -> str:
    """GitHub's workflow-command escaping (data: % CR LF; properties also : and ,)."""
    out = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return out.replace(":", "%3A").replace(",", "%2C") if properties else out


def _github(finding: LintFinding) -> str:
    props = [f"file={_escape(finding.file, True)}"]
    if finding.line:
        props += [f"line={finding.line}", f"col={finding.col}"]
    props.append(f"title={_escape(finding.code + ' ' + finding.rule.name, True)}")
    subject = f"[{finding.step or 'pipeline'}]" + (f" {finding.path}" if finding.path else "")
    hint = f" (hint: {finding.hint})" if finding.hint else ""
    body = _escape(f"{subject}: {finding.message}{hint}")
    return f"::{_GITHUB_LEVELS[finding.severity]} {','.join(props)}::{body}"


def _version() -> str:
    try:
        from importlib import metadata  # only SARIF needs it; ~0.1 s to import

        return metadata.version("lgbm-pipeline-compiler")
    except metadata.PackageNotFoundError:
        return "0"


def _logical_name(finding: LintFinding) -> str:
    base = f"Steps.{finding.step}" if finding.step else "pipeline"
    return f"{base}.{finding.path}" if finding.path else base


def sarif(findings: list[LintFinding]) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one run, every registry rule, one result per finding."""
    codes = list(RULES)
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.description},
            "defaultConfiguration": {"level": _SARIF_LEVELS[rule.severity]},
        }
        for rule in RULES.values()
    ]
    results = []
    for finding in findings:
        physical: dict[str, Any] = {"artifactLocation": {"uri": PurePath(finding.file).as_posix()}}
        if finding.line:
            physical["region"] = {"startLine": finding.line, "startColumn": max(finding.col, 1)}
        hint = f" Hint: {finding.hint}" if finding.hint else ""
        results.append(
            {
                "ruleId": finding.code,
                "ruleIndex": codes.index(finding.code),
                "level": _SARIF_LEVELS[finding.severity],
                "message": {
                    "text": f"{finding.message}.{hint}"
                    if not finding.message.endswith(".")
                    else finding.message + hint
                },
                "locations": [
                    {
                        "physicalLocation": physical,
                        "logicalLocations": [
                            {"fullyQualifiedName": _logical_name(finding), "kind": "property"}
                        ],
                    }
                ],
            }
        )
    driver = {"name": "lgbm-pipeline validate", "version": _version(), "rules": rules}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }
