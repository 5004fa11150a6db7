"""The one registry of rules: code, severity (the code's letter), name and description; and the
finding a rule reports.

Codes, cfn-lint style: ``E`` errors (exit 1), ``W`` warnings, ``I`` information. The hundreds say
the family: 0 input, 1 API shapes, 2 references and names, 3 hyperparameters, 4 AWS's published
schema. ``lgbm-pipeline validate --list-rules`` prints this table; ``docs/lint-rules.md`` documents
it (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = {"E": "error", "W": "warning", "I": "info"}


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    description: str

    @property
    def severity(self) -> str:
        return SEVERITIES[self.code[0]]


_RULES = [
    Rule("E0001", "unreadable-input", "The file cannot be read, or is not a JSON object (exit code 2)."),
    Rule(
        "E0002",
        "invalid-spec",
        "The spec does not validate (`validate --deep --format sarif` on a broken spec).",
    ),
    Rule(
        "E1001",
        "missing-member",
        "A request member SageMaker requires is missing (botocore's request shape).",
    ),
    Rule("E1002", "unknown-member", "A request has a member its botocore request shape does not have."),
    Rule("E1003", "wrong-type", "A request member has the wrong type for its botocore shape."),
    Rule("E1004", "enum", "A request value is not one of the values its botocore shape allows."),
    Rule(
        "E1005",
        "over-maximum",
        "A request value is longer, larger or has more members than SageMaker allows.",
    ),
    Rule("E1006", "under-minimum", "A request value is shorter or smaller than SageMaker allows."),
    Rule("E1007", "pattern", "A request value does not match the pattern SageMaker checks it against."),
    Rule("E1008", "tagged-union", "A request union member sets none, or more than one, of its choices."),
    Rule("E1010", "unknown-step-type", "A step's Type is not one SageMaker Pipelines runs."),
    Rule(
        "E1011",
        "step-field-missing",
        "A step lacks a field its type requires (Name, Arguments, FunctionArn, ...).",
    ),
    Rule(
        "E1012",
        "step-field-invalid",
        "A step's own field has the wrong type or value (Lambda, EMR, Fail, Condition, checks).",
    ),
    Rule(
        "W1013",
        "step-field-unknown",
        "A step has a field its type does not have (ignored, or refused, by SageMaker).",
    ),
    Rule(
        "E1014",
        "parameter-invalid",
        "A pipeline parameter has no name, a duplicate name, an unknown type or a default of another type.",
    ),
    Rule("E2001", "unknown-parameter", "A Get names a pipeline parameter the definition does not declare."),
    Rule("E2002", "unknown-variable", "A Get names an execution variable or root SageMaker does not have."),
    Rule("E2003", "unknown-step", "A Get, JsonGet or DependsOn names a step the definition does not have."),
    Rule(
        "E2004",
        "unknown-property",
        "A Get reads a property the step's type does not have (botocore's Describe* output shapes).",
    ),
    Rule("E2005", "unknown-property-file", "A JsonGet reads a property file the step does not declare."),
    Rule("E2006", "json-path-not-in-report", "A JsonGet path is not in the report the step writes."),
    Rule(
        "I2007",
        "json-path-not-checked",
        "A JsonGet path was not checked: the report's structure is not known statically.",
    ),
    Rule(
        "E2008",
        "property-file-invalid",
        "A property file names an output the step does not have, or is declared twice.",
    ),
    Rule("E2009", "cycle", "Steps depend on each other in a cycle (DependsOn and property references)."),
    Rule("E2010", "duplicate-step", "Two steps have the same name."),
    Rule(
        "E2011",
        "name-limit",
        "A name does not fit SageMaker's limits (pipeline, step, parameter names, job-name prefixes).",
    ),
    Rule("E2012", "self-reference", "A step depends on, or reads a property of, itself."),
    Rule(
        "E3001", "unknown-hyperparameter", "A static hyperparameter is not one the training script accepts."
    ),
    Rule(
        "E3002",
        "unknown-tuning-range",
        "A tuning range names a hyperparameter the training script does not accept.",
    ),
    Rule(
        "I3003",
        "hyperparameters-not-checked",
        "Hyperparameter names were not checked (no artifact, or no declared table).",
    ),
    Rule(
        "E3004",
        "hyperparameter-out-of-range",
        "A static value or tuning range lies outside the bounds the script's table declares.",
    ),
    Rule(
        "E4001",
        "aws-schema",
        "AWS's published pipeline-definition schema refuses the definition (known deviations excepted).",
    ),
    Rule(
        "I4002",
        "aws-schema-not-checked",
        "AWS's published schema was not checked (the file is absent or unreadable).",
    ),
]
RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}


@dataclass(frozen=True)
class LintFinding:
    """One finding: a rule's code, where (step, JSON path; file:line:col when known), what, how to fix."""

    code: str
    message: str
    hint: str = ""
    step: str = ""
    """The step's name ("" for the pipeline itself)."""
    path: str = ""
    """Dotted JSON path inside the step (``Arguments.ProcessingInputs[1].S3Input``), or from the
    definition's root for a pipeline-level finding."""
    file: str = ""
    line: int = 0
    col: int = 0
    pointer: tuple[str | int, ...] = ()
    """The absolute location in the definition (keys and list indexes)."""
    value: Any = field(default=None, compare=False)
    """The offending value, when there is one (where it came from in a spec is looked up by it)."""
    spec_keys: tuple[tuple[str | int, ...], ...] = field(default=(), compare=False)
    """Spec locations this finding comes from, when a rule knows them."""

    def __post_init__(self) -> None:
        if self.code not in RULES:
            raise ValueError(f"no rule {self.code!r} in the registry")

    @property
    def severity(self) -> str:
        return RULES[self.code].severity

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    def pointer_key(self) -> tuple[tuple[int, int | str], ...]:
        """``pointer`` as a sort key (list indexes before keys)."""
        return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in self.pointer)

    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file

    def format(self) -> str:
        """One line: ``FILE[:LINE:COL]: CODE [STEP] PATH: MESSAGE (hint: HINT)``."""
        subject = f"[{self.step or 'pipeline'}]" + (f" {self.path}" if self.path else "")
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.where()}: {self.code} {subject}: {self.message}{hint}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "rule": self.rule.name,
            "file": self.file,
            "line": self.line or None,
            "col": self.col or None,
            "step": self.step or None,
            "path": self.path,
            "message": self.message,
            "hint": self.hint or None,
        }


def dotted(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """``("Arguments", "ProcessingInputs", 1, "S3Input")`` → ``Arguments.ProcessingInputs[1].S3Input``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out
