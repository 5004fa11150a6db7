"""A small JSON Schema (draft 7) evaluator for the keywords AWS's pipeline-definition schema uses.

Importing ``jsonschema`` (its format checkers, ``referencing``) and resolving every ``$ref`` through
it costs about as much as all the other checks together; `validate` on a definition must stay
fast. This evaluator covers exactly the keywords that schema uses, with jsonschema's semantics and
messages; a schema using any other validation keyword raises ``Unsupported`` and the caller uses
``jsonschema`` itself. The tests hold it to jsonschema's answers on every definition they lint.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SUPPORTED = {
    "$ref", "type", "enum", "properties", "patternProperties", "additionalProperties", "required",
    "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "oneOf", "anyOf", "allOf",
}  # fmt: skip
# Validation keywords of draft 7 that this evaluator does not implement (others are annotations).
UNSUPPORTED = {
    "const", "contains", "dependencies", "else", "exclusiveMaximum", "exclusiveMinimum", "if",
    "maxProperties", "maximum", "minProperties", "minimum", "multipleOf", "not", "propertyNames",
    "then", "uniqueItems", "additionalItems",
}  # fmt: skip
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Unsupported(ValueError):
    """The schema uses a validation keyword this evaluator does not implement."""


@dataclass(frozen=True)
class SchemaError:
    """One error, as jsonschema's ValidationError describes it (the attributes we read)."""

    validator: str
    validator_value: Any
    instance: Any
    schema: dict[str, Any]
    message: str
    absolute_path: tuple[str | int, ...] = field(default=())


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's equality: booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


class Validator:
    """``Validator(schema).iter_errors(instance)``, for a schema whose ``$ref`` are ``#/...``."""

    def __init__(self, schema: dict[str, Any], root: dict[str, Any] | None = None):
        """``root`` (default: ``schema``) is what ``$ref`` resolves against; it is checked for
        unsupported keywords only when it is ``schema`` itself (build the root's validator first)."""
        self.schema = schema
        self.root = root if root is not None else schema
        if root is None:
            check_supported(schema)

    def _resolve(self, ref: str) -> dict[str, Any]:
        if not ref.startswith("#/"):
            raise Unsupported(f"$ref {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def is_valid(self, instance: Any, schema: dict[str, Any]) -> bool:
        return next(self._errors(instance, schema, ()), None) is None

    def iter_errors(self, instance: Any) -> Iterator[SchemaError]:
        return self._errors(instance, self.schema, ())

    def _errors(self, instance: Any, schema: Any, path: tuple) -> Iterator[SchemaError]:
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:  # draft 7: a $ref's siblings are ignored
            yield from self._errors(instance, self._resolve(schema["$ref"]), path)
            return
        for keyword, value in schema.items():
            check = _KEYWORDS.get(keyword)
            if check is None:
                continue
            for message, where, sub in check(self, value, instance, schema, path):
                if message is None:  # a nested error, already complete
                    yield sub
                else:
                    yield SchemaError(keyword, value, instance, schema, message, where)


def check_supported(schema: Any) -> None:
    """Raise Unsupported when a (sub)schema uses a validation keyword not implemented here."""
    if isinstance(schema, dict):
        used = UNSUPPORTED.intersection(schema)
        if used:
            raise Unsupported(", ".join(sorted(used)))
        for key, value in schema.items():
            if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
                for sub in value.values():
                    check_supported(sub)
            elif key not in ("enum", "required"):
                check_supported(value)
    elif isinstance(schema, list):
        for item in schema:
            check_supported(item)


def _type(v: Validator, types: Any, instance: Any, schema: dict, path: tuple) -> Iterator:
    names = types if isinstance(types, list) else [types]
    if not any(_TYPES[name](instance) for name in names):
        yield f"{instance!r} is not of type {', '.join(repr(t) for t in names)}", path, None


def _enum(v: Validator, enums: list, instance: Any, schema: dict, path: tuple) -> Iterator:
    if all(not _equal(each, instance) for each in enums):
        yield f"{instance!r} is not one of {enums!r}", path, None


def _properties(v: Validator, properties: dict, instance: Any, schema: dict, path: tuple) -> Iterator:
    if isinstance(instance, dict):
        for name, sub in properties.items():
            if name in instance:
                yield from ((None, None, e) for e in v._errors(instance[name], sub, (*path, name)))


def _pattern_properties(v: Validator, patterns: dict, instance: Any, schema: dict, path: tuple) -> Iterator:
    if isinstance(instance, dict):
        for pattern, sub in patterns.items():
            for key, item in instance.items():
                if re.search(pattern, key):
                    yield from ((None, None, e) for e in v._errors(item, sub, (*path, key)))


def _additional(v: Validator, extra: Any, instance: Any, schema: dict, path: tuple) -> Iterator:
    if not isinstance(instance, dict):
        return
    known = schema.get("properties", {})
    patterns = "|".join(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in known and not (patterns and re.search(patterns, k))]
    if isinstance(extra, dict):
        for key in extras:
            yield from ((None, None, e) for e in v._errors(instance[key], extra, (*path, key)))
    elif extra is False and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            regexes = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield f"{joined} {verb} not match any of the regexes: {regexes}", path, None
        else:
            verb = "was" if len(extras) == 1 else "were"
            names = ", ".join(repr(each) for each in sorted(extras, key=str))
            yield f"Additional properties are not allowed ({names} {verb} unexpected)", path, None


def _required(v: Validator, required: list, instance: Any, schema: dict, path: tuple) -> Iterator:
    if isinstance(instance, dict):
        for name in required:
            if name not in instance:
                yield f"{name!r} is a required property", path, None


def _items(v: Validator, items: Any, instance: Any, schema: dict, path: tuple) -> Iterator:
    if isinstance(instance, list) and isinstance(items, dict):
        for i, item in enumerate(instance):
            yield from ((None, None, e) for e in v._errors(item, items, (*path, i)))


def _bound(kind: type, low: bool) -> Any:
    def check(v: Validator, bound: int, instance: Any, schema: dict, path: tuple) -> Iterator:
        if isinstance(instance, kind) and (len(instance) < bound if low else len(instance) > bound):
            if low:
                message = "should be non-empty" if bound == 1 else "is too short"
            else:
                message = "is expected to be empty" if bound == 0 else "is too long"
            yield f"{instance!r} {message}", path, None

    return check


def _pattern(v: Validator, pattern: str, instance: Any, schema: dict, path: tuple) -> Iterator:
    if isinstance(instance, str) and not re.search(pattern, instance):
        yield f"{instance!r} does not match {pattern!r}", path, None


def _one_of(v: Validator, choices: list, instance: Any, schema: dict, path: tuple) -> Iterator:
    valid = [choice for choice in choices if v.is_valid(instance, choice)]
    if not valid:
        yield f"{instance!r} is not valid under any of the given schemas", path, None
    elif len(valid) > 1:  # jsonschema names the later valid choices, then the first
        shown = ", ".join(repr(c) for c in [*valid[1:], valid[0]])
        yield f"{instance!r} is valid under each of {shown}", path, None


def _any_of(v: Validator, choices: list, instance: Any, schema: dict, path: tuple) -> Iterator:
    if not any(v.is_valid(instance, choice) for choice in choices):
        yield f"{instance!r} is not valid under any of the given schemas", path, None


def _all_of(v: Validator, parts: list, instance: Any, schema: dict, path: tuple) -> Iterator:
    for part in parts:
        yield from ((None, None, e) for e in v._errors(instance, part, path))


_KEYWORDS = {
    "type": _type,
    "enum": _enum,
    "properties": _properties,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "minItems": _bound(list, True),
    "maxItems": _bound(list, False),
    "minLength": _bound(str, True),
    "maxLength": _bound(str, False),
    "pattern": _pattern,
    "oneOf": _one_of,
    "anyOf": _any_of,
    "allOf": _all_of,
}
