"""A pipeline definition as the checks see it: its steps (condition branches included) with their
locations, its parameters, every expression in it, and the artifacts it references when known.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .rules import LintFinding, dotted

Pointer = tuple[str | int, ...]
EXPRESSION_KEYS = ("Get", "Std:Join", "Std:JsonGet")


@dataclass(frozen=True)
class StepRef:
    """One step of the definition and where it is."""

    index: int
    """Position in walk order (top-level steps, each condition's branches after it)."""
    step: dict[str, Any]
    pointer: Pointer
    """Where the step is: ``("Steps", 6, "Arguments", "IfSteps", 0)``."""
    condition: str = ""
    """The condition step whose branch holds this step ("" at the top level)."""

    @property
    def name(self) -> str:
        name = self.step.get("Name")
        return name if isinstance(name, str) else f"Steps[{self.index}]"

    @property
    def type(self) -> str:
        kind = self.step.get("Type")
        return kind if isinstance(kind, str) else ""

    @property
    def arguments(self) -> dict[str, Any]:
        arguments = self.step.get("Arguments")
        return arguments if isinstance(arguments, dict) else {}


@dataclass(frozen=True)
class Expression:
    """One expression found in the definition: ``{"Get": ...}``, ``{"Std:Join": ...}`` or
    ``{"Std:JsonGet": ...}``, and where it is (``step`` is None outside the steps)."""

    kind: str
    body: Any
    step: StepRef | None
    path: Pointer
    """Inside the step (or from the root when ``step`` is None)."""


@dataclass
class Document:
    definition: dict[str, Any]
    file: str
    artifacts: dict[str, bytes] | None = None
    """S3 URI → bytes of the artifacts the definition references (None: not available)."""
    pipeline_name: str | None = None
    text: str = ""
    """The file's text, when read from one (for line:col of findings)."""
    steps: list[StepRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        top = self.definition.get("Steps")
        self.steps = list(_walk(top, ("Steps",), "")) if isinstance(top, list) else []

    @property
    def by_name(self) -> dict[str, StepRef]:
        out: dict[str, StepRef] = {}
        for ref in self.steps:
            out.setdefault(ref.name, ref)
        return out

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        params = self.definition.get("Parameters")
        if not isinstance(params, list):
            return {}
        return {p["Name"]: p for p in params if isinstance(p, dict) and isinstance(p.get("Name"), str)}

    def finding(
        self,
        code: str,
        message: str,
        hint: str = "",
        step: StepRef | None = None,
        path: Pointer = (),
        **extra: Any,
    ) -> LintFinding:
        pointer = (step.pointer if step else ()) + tuple(path)
        return LintFinding(
            code,
            message,
            hint,
            step=step.name if step else "",
            path=dotted(path),
            file=self.file,
            pointer=pointer,
            **extra,
        )

    def expressions(self) -> Iterator[Expression]:
        """Every expression, in definition order; nested ones (a Get inside a Std:Join) too."""
        for key, value in self.definition.items():
            if key != "Steps":
                yield from _expressions(value, None, (key,))
        for ref in self.steps:
            for key, value in ref.step.items():
                if key == "Arguments" and ref.type == "Condition" and isinstance(value, dict):
                    for arg, item in value.items():
                        if arg not in ("IfSteps", "ElseSteps"):
                            yield from _expressions(item, ref, (key, arg))
                else:
                    yield from _expressions(value, ref, (key,))


def _walk(
    steps: list[Any], pointer: Pointer, condition: str, start: list[int] | None = None
) -> Iterator[StepRef]:
    counter = start if start is not None else [0]
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        ref = StepRef(counter[0], step, (*pointer, i), condition)
        counter[0] += 1
        yield ref
        arguments = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(arguments, dict):
            for branch in ("IfSteps", "ElseSteps"):
                if isinstance(arguments.get(branch), list):
                    yield from _walk(
                        arguments[branch], (*ref.pointer, "Arguments", branch), ref.name, counter
                    )


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSION_KEYS


def _expressions(value: Any, step: StepRef | None, path: Pointer) -> Iterator[Expression]:
    if is_expression(value):
        kind, body = next(iter(value.items()))
        yield Expression(kind, body, step, path)
        if isinstance(body, dict):
            for key, item in body.items():
                yield from _expressions(item, step, (*path, kind, key))
        elif isinstance(body, list):
            for i, item in enumerate(body):
                yield from _expressions(item, step, (*path, kind, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _expressions(item, step, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _expressions(item, step, (*path, i))
