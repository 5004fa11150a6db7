"""Pydantic errors rewritten for people: data paths, one message per error type, did-you-mean."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core.core_schema import ErrorType

from ..errors import Finding, Loc, dotted
from .loader import SourceDoc


def data_loc(data: Any, loc: tuple[Any, ...], keep_last: bool = False) -> Loc:
    """Drop the parts of a pydantic loc that are not in the data (union tags, validator names).

    ``keep_last`` keeps a final key that is absent from the data (a missing or unknown key).
    """
    out: list[str | int] = []
    node = data
    for part in loc:
        if (
            isinstance(node, dict)
            and part in node
            or isinstance(node, list)
            and isinstance(part, int)
            and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and keep_last and part is loc[-1]:
            out.append(part)  # a missing or unknown key: keep it for the path
    return tuple(out)


def _leaves(annotation: Any) -> list[Any]:
    """Unwrap Annotated / Optional / Union down to the concrete annotations."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [leaf for arg in typing.get_args(annotation) for leaf in _leaves(arg)]
    return [annotation]


def _step(annotation: Any, part: str | int) -> list[Any]:
    """Annotations reached from ``annotation`` by one path part."""
    out: list[Any] = []
    for leaf in _leaves(annotation):
        origin = typing.get_origin(leaf)
        if isinstance(leaf, type) and issubclass(leaf, BaseModel):
            field = leaf.model_fields.get(str(part))
            if field is not None:
                out.append(field.annotation)
        elif origin is dict:
            out.append(typing.get_args(leaf)[1])
        elif origin is list and isinstance(part, int):
            out.append(typing.get_args(leaf)[0])
    return out


def _matches_tag(model: type[BaseModel], node: Any) -> bool:
    """False when ``node`` names a `type` that this member of a tagged union does not have."""
    field = model.model_fields.get("type")
    if field is None or not isinstance(node, dict) or "type" not in node:
        return True
    return node["type"] in typing.get_args(field.annotation)


def allowed_keys(root: type[BaseModel], path: Loc, data: Any = None) -> list[str]:
    """Field names allowed at a mapping path of the spec (for did-you-mean)."""
    annotations: list[Any] = [root]
    node = data
    for part in path:
        annotations = [nxt for a in annotations for nxt in _step(a, part)]
        node = node.get(part) if isinstance(node, dict) else None
    models = [
        leaf
        for a in annotations
        for leaf in _leaves(a)
        if isinstance(leaf, type) and issubclass(leaf, BaseModel)
    ]
    if any(_matches_tag(m, node) for m in models):
        models = [m for m in models if _matches_tag(m, node)]
    return sorted({name for m in models for name, field in m.model_fields.items() if not field.exclude})


def _message(err: dict[str, Any], root: type[BaseModel], loc: Loc, data: Any = None) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1], data)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
        return f"unknown key {loc[-1]!r}; {hint}"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        return f"type must be one of {err['ctx']['expected_tags']} (got {err['ctx']['tag']!r})"
    if kind == "union_tag_not_found":
        return "missing `type`: one of 'integer', 'continuous', 'categorical'"
    if kind == "literal_error":
        return f"must be {err['ctx']['expected']} (got {value!r})"
    if kind == "string_pattern_mismatch":
        return f"{_shown(value)} does not match the pattern {err['ctx']['pattern']}"
    message = _strict(kind, value) or _length(kind, err) or err["msg"]
    if kind.startswith("value_error"):
        message = message.removeprefix("Value error, ")
    if not isinstance(value, (dict, list)) and kind in _PYDANTIC_TYPES and "got" not in message:
        message = f"{message} (got {_shown(value)})"
    return message


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (a 10,000-character value is not echoed)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def _yaml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _strict(kind: str, value: Any) -> str | None:
    """Messages for a value of the wrong type (the spec is validated strictly: YAML true is not 1,
    "3" is not 3, 2024 is not text)."""
    if kind == "string_type" and isinstance(value, (bool, int, float)):
        what = "boolean" if isinstance(value, bool) else "number"
        return f"must be text; got the {what} {_yaml(value)}: put it in quotes if it is meant as text"
    if kind not in ("int_type", "float_type"):
        return None
    want = "an integer" if kind == "int_type" else "a number"
    if isinstance(value, bool):
        return f"must be {want}; got the boolean {_yaml(value)}: write the number itself"
    if isinstance(value, float) and value.is_integer():
        return f"must be an integer; got {value!r}: write {int(value)}"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            noun = "integer" if kind == "int_type" else "number"
            return f"Input should be a valid {noun}, unable to parse string as {want}"
        return f"must be {want}; got the text {_shown(value)}: remove the quotes"
    return None


def _length(kind: str, err: dict[str, Any]) -> str | None:
    """Length limits with the length found (pydantic says "not more" for mappings)."""
    value, ctx = err.get("input"), err.get("ctx") or {}
    if kind == "string_too_long" and isinstance(value, str):
        return f"got {len(value)} characters; at most {ctx['max_length']} are allowed: shorten it"
    if kind == "too_long" and isinstance(value, (dict, list)):
        extra = len(value) - ctx["max_length"]
        return f"got {len(value)} entries; at most {ctx['max_length']} are allowed: remove {extra}"
    return None


# Our own error types (PydanticCustomError) already quote the value; pydantic's do not.
_PYDANTIC_TYPES = frozenset(typing.get_args(ErrorType))


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
}


def _union_root(data: Any, raw: tuple[Any, ...]) -> Loc | None:
    """The data path at which a loc first leaves the data (a union member tag), if it does."""
    node, out = data, []
    for part in raw:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
        else:
            return tuple(out)
    return None


def _merged(errors: list[dict[str, Any]]) -> str:
    """One message for a value that no member of a union accepts."""
    wanted: list[str] = []
    for err in errors:
        if err["type"] == "literal_error":
            text = str(err["ctx"]["expected"])
        else:
            text = _EXPECTED.get(err["type"], err["msg"])
        if text not in wanted:
            wanted.append(text)
    return f"must be {' or '.join(wanted)} (got {errors[0].get('input')!r})"


def printable(text: str) -> str:
    """``text`` with characters that are not printable as Python escapes: a key holding a newline
    or an ANSI escape sequence must not split a finding's line or drive the reader's terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def findings_from(error: ValidationError, doc: SourceDoc, root: type[BaseModel]) -> list[Finding]:
    """One finding per problem, positioned on the YAML node it concerns.

    Pydantic reports a value rejected by a union once per member; those are folded into one
    finding (the deepest ones when a member got further into the value).
    """
    entries = []
    for err in error.errors():
        raw = tuple(err["loc"])
        keep_last = err["type"] in ("missing", "extra_forbidden")
        loc = data_loc(doc.data, raw, keep_last=keep_last)
        union = None if keep_last or (raw and raw[-1] == "[key]") else _union_root(doc.data, raw)
        entries.append((err, loc, union))
    groups: dict[Loc, list[tuple[dict[str, Any], Loc]]] = {}
    out: list[Finding] = []
    for err, loc, union in entries:
        if union is None:
            is_key = err["type"] == "extra_forbidden" or err["loc"][-1] == "[key]"
            out.append(
                doc.finding(
                    loc, printable(dotted(loc)), printable(_message(err, root, loc, doc.data)), key=is_key
                )
            )
        else:
            groups.setdefault(union, []).append((err, loc))
    for union, items in groups.items():
        deeper = [(e, loc) for e, loc in items if len(loc) > len(union)]
        if deeper:
            out += [
                doc.finding(loc, printable(dotted(loc)), printable(_message(e, root, loc, doc.data)))
                for e, loc in deeper
            ]
        elif len(items) == 1:
            err, loc = items[0]
            out.append(
                doc.finding(loc, printable(dotted(loc)), printable(_message(err, root, loc, doc.data)))
            )
        else:
            out.append(
                doc.finding(union, printable(dotted(union)), printable(_merged([e for e, _ in items])))
            )
    return out
