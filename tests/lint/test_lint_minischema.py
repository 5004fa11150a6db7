"""lint/minischema.py gives jsonschema's answers on AWS's schema (with our deviations applied): the
same errors, at the same places, with the same messages, for every definition the tests lint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.lint import aws_schema, minischema
from lgbm_pipeline_compiler.lint.document import Document

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = sorted(
    [
        REPO / "specs" / "census.json",
        *(REPO / "tests" / "golden").glob("*/expected.json"),
        *(REPO / "tests" / "lint" / "corpus").glob("*.json"),
    ]
)
pytestmark = [
    pytest.mark.skipif(not aws_schema.DEFAULT.is_file(), reason="AWS's schema is not beside the repository"),
    # with test_lint_clean.py and test_lint_cli.py: one worker builds the SDK pipeline (the session fixture sdk_built)
    pytest.mark.xdist_group("lint-sdk-pipeline"),
]


@pytest.fixture(scope="module")
def jsonschema():  # noqa: ANN201 - the module, imported when a test needs it (not at collection)
    return pytest.importorskip("jsonschema")


def _schema() -> dict:
    path = aws_schema.schema_path()
    return aws_schema._validators(str(path), path.stat().st_mtime)[1]


def _errors(validator, instance) -> list[tuple]:
    return sorted(
        (tuple(map(str, e.absolute_path)), e.validator, e.message) for e in validator.iter_errors(instance)
    )


def _both(jsonschema, schema: dict, definition: str | None):  # noqa: ANN001, ANN202
    target = (
        schema
        if definition is None
        else {"$ref": f"#/definitions/{definition}", "definitions": schema["definitions"]}
    )
    return minischema.Validator(target, root=schema), jsonschema.Draft7Validator(target)


def _compare(jsonschema, definition: dict, schema: dict) -> None:  # noqa: ANN001
    ours, theirs = _both(jsonschema, schema, None)
    assert _errors(ours, definition) == _errors(theirs, definition)
    for ref in Document(definition, "x").steps:
        name = aws_schema.STEP_DEFINITIONS.get(ref.type)
        if name:
            ours, theirs = _both(jsonschema, schema, name)
            assert _errors(ours, ref.step) == _errors(theirs, ref.step), ref.name


@pytest.mark.parametrize(
    "path", DEFINITIONS, ids=lambda p: p.stem if p.name != "expected.json" else p.parent.name
)
def test_same_errors_as_jsonschema(jsonschema, path):
    _compare(jsonschema, json.loads(path.read_text()), _schema())


def test_same_errors_on_the_sdk_pipeline(jsonschema, sdk_built):
    _compare(jsonschema, sdk_built[0], _schema())


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"type": "integer"}, 1.0),
        ({"type": "integer"}, True),
        ({"type": ["string", "null"]}, None),
        ({"enum": [1]}, True),
        ({"minItems": 1}, []),
        ({"maxItems": 0}, [1]),
        ({"minLength": 2}, "x"),
        ({"maxLength": 1}, "xy"),
        ({"pattern": "^a"}, "ba"),
        ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, "a"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 1.5),
        ({"allOf": [{"type": "string"}, {"minLength": 3}]}, "ab"),
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": 1, "b": 2, "c": 3}),
        ({"patternProperties": {"^x": {"type": "string"}}, "additionalProperties": False}, {"xa": 1, "y": 2}),
        ({"additionalProperties": {"type": "string"}}, {"a": 1}),
        ({"required": ["a", "b"]}, {}),
        ({"items": {"type": "string"}}, ["a", 2]),
        ({"$ref": "#/definitions/s", "type": "integer", "definitions": {"s": {"type": "string"}}}, "a"),
    ],
)
def test_keywords_like_jsonschema(jsonschema, schema, instance):
    assert _errors(minischema.Validator(schema), instance) == _errors(
        jsonschema.Draft7Validator(schema), instance
    )


def test_a_schema_with_other_keywords_is_left_to_jsonschema():
    with pytest.raises(minischema.Unsupported, match="minimum"):
        minischema.Validator({"properties": {"a": {"minimum": 1}}})
    minischema.Validator({"properties": {"minimum": {"type": "integer"}}})  # a property named so is fine
