"""Rules E4001/I4002: AWS's published pipeline-definition JSON schema, less its known staleness.

The schema (github.com/jerrypeng7773/sagemaker-model-building-pipeline-definition-JSON-schema) has
no license, so it is never copied into this repository: it is read from
``../shared/reference/pipeline-definition.schema.json`` beside the repository, or from the file
``$LGBM_PIPELINE_DEFINITION_SCHEMA`` names. Absent, the check is skipped with info I4002.

The schema is older than what the SDK (2.257) emits and SageMaker accepts. ``DEVIATIONS`` is the
written, minimal list of where we depart from it, each with its reason; every other schema error
is reported. Each step is validated against its own type's definition (the schema's ``oneOf`` over
all step types would only say "not valid under any of the given schemas"), and the steps inside a
condition's branches one by one, after checking that the schema allows their type there. The
evaluator is ``minischema.py`` (jsonschema's answers, a fraction of its import time), or
``jsonschema`` for a schema that uses keywords minischema does not implement.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import minischema
from .document import Document, StepRef
from .rules import LintFinding
from .schema_deviations import DEVIATIONS, at

ENV = "LGBM_PIPELINE_DEFINITION_SCHEMA"
DEFAULT = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "pipeline-definition.schema.json"
)
STEP_DEFINITIONS = {
    "Condition": "ConditionStep",
    "Training": "TrainingStep",
    "Processing": "ProcessingStep",
    "Transform": "TransformStep",
    "Model": "CreateModelStep",
    "RegisterModel": "RegisterModelStep",
    "Lambda": "LambdaStep",
    "Callback": "CallbackStep",
    "Tuning": "TuningStep",
    "ClarifyCheck": "ClarifyCheckStep",
    "QualityCheck": "QualityCheckStep",
    "EMR": "EMRStep",
    "Fail": "FailStep",
    "AutoML": "AutoMLStep",
    "Endpoint": "EndpointStep",
    "EndpointConfig": "EndpointConfigStep",
}


def schema_path() -> Path:
    return Path(os.environ.get(ENV) or DEFAULT)


@functools.lru_cache(maxsize=4)
def _validators(path: str, stamp: float) -> tuple[Any, dict[str, Any], dict[str, list[str]]]:
    """(validator factory, patched schema, allowed step definitions per branch)."""
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    for deviation in DEVIATIONS:
        deviation.patch(schema)
    branches = {}
    condition_args = at(schema, "definitions", "ConditionStep", "properties", "Arguments", "properties")
    for branch in ("IfSteps", "ElseSteps"):
        items = condition_args[branch]["items"]
        branches[branch] = [choice["$ref"].rsplit("/", 1)[-1] for choice in items.get("oneOf", [])]
        condition_args[branch]["items"] = {}  # each branch step is validated by itself
    schema["properties"]["Steps"] = {"type": "array"}  # each step is validated by itself
    try:
        root = minischema.Validator(schema)
        make = functools.partial(minischema.Validator, root=schema)
    except minischema.Unsupported:  # a schema beyond the small evaluator: jsonschema itself
        from jsonschema import Draft7Validator

        root, make = Draft7Validator(schema), Draft7Validator

    @functools.cache
    def validator(definition: str | None) -> Any:
        if definition is None:
            return root
        return make({"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]})

    return validator, schema, branches


def _preview(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else f"{text[:50]}…"


def _message(error: Any) -> str:
    if error.validator in ("oneOf", "anyOf"):
        return f"{_preview(error.instance)} is none of the forms the schema allows here"
    if error.validator == "enum":
        return f"{_preview(error.instance)} is not one of {', '.join(map(str, error.validator_value))}"
    message = error.message
    return message if len(message) <= 160 else f"{message[:150]}…"


def _pointer(error: Any) -> tuple[str | int, ...]:
    """The error's place; for a missing or unexpected member, that member's own place."""
    where = tuple(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        return (*where, missing[0]) if len(missing) == 1 else where
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known and not error.schema.get("patternProperties")]
        return (*where, extra[0]) if len(extra) == 1 else where
    return where


def check(doc: Document) -> Iterator[LintFinding]:
    for finding, _ in check_with_kinds(doc):
        yield finding


def check_with_kinds(doc: Document) -> Iterator[tuple[LintFinding, str]]:
    """(finding, the JSON Schema keyword that failed: "required", "oneOf", ...) pairs."""
    path = schema_path()
    try:
        validator, _, branches = _validators(str(path), path.stat().st_mtime)
    except ImportError:  # only for a schema beyond minischema: jsonschema comes with the SDK
        yield (
            doc.finding(
                "I4002", "AWS's pipeline-definition schema was not checked: jsonschema is not installed"
            ),
            "",
        )
        return
    except (OSError, ValueError, LookupError) as err:  # LookupError: not the layout DEVIATIONS patch
        reason = (
            "absent" if isinstance(err, FileNotFoundError) else f"unreadable ({type(err).__name__}: {err})"
        )
        message = f"AWS's pipeline-definition schema was not checked: {path} is {reason}"
        yield doc.finding("I4002", message, f"set {ENV} to its path"), ""
        return
    for error in validator(None).iter_errors(doc.definition):
        yield doc.finding("E4001", _message(error), path=_pointer(error)), str(error.validator)
    for ref in doc.steps:
        yield from _step(doc, ref, validator, branches)


def _step(
    doc: Document, ref: StepRef, validator: Any, branches: dict[str, list[str]]
) -> Iterator[tuple[LintFinding, str]]:
    definition = STEP_DEFINITIONS.get(ref.type)
    if definition is None:
        return  # an unknown type is E1010
    if ref.condition:
        branch = str(ref.pointer[-2])
        if definition not in branches.get(branch, []):
            allowed = ", ".join(d.removesuffix("Step") for d in branches.get(branch, []))
            message = f"the schema allows no {ref.type} step in {branch} (only {allowed})"
            yield doc.finding("E4001", message, step=ref), "oneOf"
    for error in validator(definition).iter_errors(ref.step):
        yield doc.finding("E4001", _message(error), step=ref, path=_pointer(error)), str(error.validator)
