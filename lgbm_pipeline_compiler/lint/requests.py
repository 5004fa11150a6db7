"""Each step's request against botocore's SageMaker service model, as SageMaker validates it.

botocore's own ParamValidator checks required members, types and minimums only; SageMaker also
refuses values outside an enum, over a maximum length or count, or not matching a pattern, with a
``ValidationException``. This module checks all of them, so compile never emits, and the local
runner never runs, a request SageMaker would refuse. Pipeline expressions (``Get``, ``Std:Join``,
``Std:JsonGet``) become placeholders of the expected type: their values are known only at
execution, when the local runner checks the resolved request again.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "ClarifyCheck": "CreateProcessingJob",
    "QualityCheck": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "Tuning": "CreateHyperParameterTuningJob",
    "Model": "CreateModel",
    "Transform": "CreateTransformJob",
    "RegisterModel": "CreateModelPackage",
}
# Names SageMaker generates per execution; the SDK removes them from the definition.
ASSIGNED_AT_EXECUTION = {
    "CreateProcessingJob": {"ProcessingJobName": "pipelines-exec-step"},
    "CreateTrainingJob": {"TrainingJobName": "pipelines-exec-train"},
    "CreateHyperParameterTuningJob": {"HyperParameterTuningJobName": "pipelines-exec-tune"},
    "CreateModel": {"ModelName": "pipelines-exec-model"},
    "CreateTransformJob": {"TransformJobName": "pipelines-exec-transform"},
    "CreateModelPackage": {},
}
EXPRESSION_KEYS = frozenset({"Get", "Std:Join", "Std:JsonGet"})


class Placeholder(str):
    """A string standing for a pipeline expression: its value is known only at execution."""


PLACEHOLDERS: dict[str, Any] = {
    "string": Placeholder("s3://placeholder-bucket/key"),
    "integer": 1,
    "long": 1,
    "boolean": True,
    "float": 1.0,
    "double": 1.0,
}


@dataclass(frozen=True)
class RequestProblem:
    """One member of a request that SageMaker would refuse."""

    path: str
    """Where, as in SageMaker's messages: ``appSpecification.containerArguments.17.member``."""
    message: str
    value: Any = None
    """The refused value (None for a missing member)."""
    member: tuple[str | int, ...] = ()
    """Where in the request as keys and list indexes, e.g. ``("AppSpecification",
    "ContainerArguments", 16)``; for a missing or unknown member, that member's own location."""
    kind: str = "constraint"
    """What is wrong: one of ``KINDS``."""


# botocore's ParamValidator error types → RequestProblem.kind; enum, max and pattern are ours.
_VALIDATOR_KINDS = {
    "missing required field": "missing",
    "unknown field": "unknown",
    "invalid type": "type",
    "invalid type for document": "type",
    "unable to encode to json": "type",
    "invalid range": "min",
    "invalid length": "min",
    "more than one input": "union",
    "empty input": "union",
}
KINDS = ("missing", "unknown", "type", "min", "union", "enum", "max", "pattern")
_NAME_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


@functools.lru_cache(maxsize=1)
def service_model() -> Any:
    """botocore's whole SageMaker service model (loaded once per process; ~0.25 s). The checks
    themselves read the cached subset in ``lint/shapes.py``."""
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSION_KEYS


def with_placeholders(value: Any, shape: Any) -> Any:
    """A copy of ``value`` with every pipeline expression replaced by a value of ``shape``'s type."""
    if is_expression(value):
        return PLACEHOLDERS.get(shape.type_name, value)
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            k: with_placeholders(v, shape.members[k]) if k in shape.members else v for k, v in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [with_placeholders(v, shape.member) for v in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {k: with_placeholders(v, shape.value) for k, v in value.items()}
    return value


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _preview(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else f"{text[:60]}…({len(text)} characters)"


def _enum_constraint(value: str, allowed: list[str]) -> str:
    shown = ", ".join(allowed[:8]) + (f", … ({len(allowed)} values)" if len(allowed) > 8 else "")
    close = difflib.get_close_matches(value, allowed, n=1)
    return f"Member must satisfy enum value set: [{shown}]" + (
        f"; did you mean '{close[0]}'?" if close else ""
    )


def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: SageMaker checks it, we cannot
        return None


def _value_problems(value: Any, shape: Any, path: str, member: tuple = ()) -> list[RequestProblem]:
    """Enum, maximum length, count and value, and pattern constraints of one value (botocore's
    ParamValidator checks the minimums)."""
    meta, kind, out = shape.metadata, shape.type_name, []
    where = path or "request"

    def fail(constraint: str, what: str) -> None:
        out.append(
            RequestProblem(
                where,
                f"Value '{_preview(value)}' at '{where}' failed to satisfy constraint: {constraint}",
                value,
                member,
                what,
            )
        )

    if kind == "string" and isinstance(value, str) and not isinstance(value, Placeholder):
        if shape.enum and value not in shape.enum:
            fail(_enum_constraint(value, shape.enum), "enum")
        if "max" in meta and len(value) > meta["max"]:
            fail(f"Member must have length less than or equal to {meta['max']}", "max")
        compiled = _pattern(meta["pattern"]) if "pattern" in meta else None
        if compiled is not None and not compiled.fullmatch(value):
            fail(f"Member must satisfy regular expression pattern: {meta['pattern']}", "pattern")
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if not isinstance(value, bool) and "max" in meta and value > meta["max"]:
            fail(f"Member must have value less than or equal to {meta['max']}", "max")
    elif (
        kind in ("list", "map")
        and isinstance(value, (list, dict))
        and "max" in meta
        and len(value) > meta["max"]
    ):
        fail(f"Member must have length less than or equal to {meta['max']}", "max")
    return out


def _walk(value: Any, shape: Any, path: str, member: tuple = ()) -> list[RequestProblem]:
    out = _value_problems(value, shape, path, member)
    prefix = f"{path}." if path else ""
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                out += _walk(item, shape.members[key], f"{prefix}{_camel(key)}", (*member, key))
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value, start=1):
            out += _walk(item, shape.member, f"{prefix}{i}.member", (*member, i - 1))
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            if hasattr(shape, "key"):
                out += _walk(key, shape.key, f"{prefix}{key}.key", (*member, key))
            out += _walk(item, shape.value, f"{prefix}{key}.value", (*member, key))
    return out


def _validator_problems(request: Any, shape: Any) -> list[RequestProblem]:
    """botocore's ParamValidator: required members, types, unknown keys, minimums."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(request, shape)
    errors = getattr(report, "_errors", None)
    if not isinstance(errors, list) or not hasattr(report, "_format_error"):  # a botocore we do not know
        return [RequestProblem("request", line) for line in report.generate_report().splitlines() if line]
    out = []
    for error in errors:
        reason, name, details = error
        line = report._format_error(error)
        member: tuple[str | int, ...] = tuple(
            int(index) if index else key for key, index in _NAME_PART.findall(name or "")
        )
        if reason == "missing required field":
            member = (*member, details.get("required_name", ""))
        elif reason == "unknown field":
            member = (*member, details.get("unknown_param", ""))
        value = details.get("param", details.get("unknown_param"))
        out.append(RequestProblem("request", line, value, member, _VALIDATOR_KINDS.get(reason, "type")))
    return out


def check_value(value: Any, shape: Any) -> list[RequestProblem]:
    """What SageMaker would refuse in one value of ``shape`` (a name, a list, a structure)."""
    return _validator_problems(value, shape) + _walk(value, shape, "")


def check_request(step_type: str, arguments: dict[str, Any]) -> list[RequestProblem]:
    """What SageMaker would refuse in a step's request ([] when it would accept it, or when the
    step type has no SageMaker request: Condition, Fail, Lambda, ...)."""
    from .shapes import input_shape

    operation = OPERATIONS.get(step_type)
    if operation is None or not isinstance(arguments, dict):
        return []
    shape = input_shape(operation)
    request = with_placeholders({**ASSIGNED_AT_EXECUTION[operation], **arguments}, shape)
    return _validator_problems(request, shape) + sorted(_walk(request, shape, ""), key=lambda p: p.path)


def walk_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step of a definition, condition branches included, in definition order."""
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            yield from walk_steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))


def validation_message(problems: list[RequestProblem]) -> str:
    """SageMaker's wording for a refused request."""
    count = len(problems)
    details = "; ".join(p.message for p in problems)
    return f"ValidationException: {count} validation error{'s' if count > 1 else ''} detected: {details}"
