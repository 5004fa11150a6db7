"""Which spec key produced a changed definition value.

With a spec on both sides, the two specs' values are compared key by key, and a changed field is
attributed to the one spec change whose old and new values are the field's old and new values
(SageMaker's JSON quoting undone), preferring the spec sections that build the field's step
(``lint/sources.py``'s map). A changed parameter default is attributed to the spec path the
parameter exposes. Spec changes that no field shows are reported on their own (they feed artifacts,
such as Clarify's analysis config, or remove a whole section). With a spec on one side only, the
value is looked up in that spec as ``validate --deep`` places its findings (``lint/sources.py``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import dotted
from .changes import SpecChange
from .model import MISSING

if TYPE_CHECKING:
    from .changes import Diff
    from .sides import SpecSource

Loc = tuple[str | int, ...]


def _changes(a: Any, b: Any, loc: Loc = ()) -> list[tuple[Loc, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in [*b, *(k for k in a if k not in b)]:
            out += _changes(a.get(key, MISSING), b.get(key, MISSING), (*loc, key))
        return out
    return [] if a == b else [(loc, a, b)]


def spec_changes(old: SpecSource, new: SpecSource) -> list[SpecChange]:
    """Changed spec keys, each at the highest key that differs as a whole (a removed section is one
    change), in the new spec's key order."""
    out = []
    for loc, a, b in _changes(old.values, new.values):
        where = new.positions(loc) or old.positions(loc)
        out.append(SpecChange(dotted(loc), a, b, where[0] if where else 0))
    return out


def matches(spec_value: Any, value: Any) -> bool:
    """Whether a definition value is what the spec value compiles to (as far as values show)."""
    if value is MISSING:
        return spec_value is MISSING or spec_value is None
    if spec_value is MISSING or spec_value is None:
        return False
    from ..lint.check_hyper import unquote

    value = unquote(value)
    if isinstance(spec_value, list):
        return (
            isinstance(value, list)
            and len(value) == len(spec_value)
            and all(matches(s, v) for s, v in zip(spec_value, value, strict=True))
        )
    if isinstance(spec_value, bool) or isinstance(value, bool):
        return spec_value is value
    if isinstance(spec_value, int | float):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return False
        return isinstance(value, int | float) and float(value) == float(spec_value)
    return isinstance(spec_value, str) and value == spec_value


def _sections(step: str) -> tuple[str, ...]:
    """The spec sections that build a step (lint/sources.py's map; loaded only when a spec is)."""
    from ..lint.sources import STEP_SECTIONS

    return STEP_SECTIONS.get(step, ())


def _prefer(candidates: list[SpecChange], step: str) -> list[SpecChange]:
    sections = _sections(step)
    preferred = [c for c in candidates if c.key.split(".")[0] in sections]
    return preferred or candidates


def attribute(diff: Diff, old: SpecSource | None, new: SpecSource | None) -> None:
    """Fill in the spec keys of the diff's fields and parameters, and its unexplained spec changes."""
    for i, change in enumerate(diff.parameters):
        key = (new and new.parameters.get(change.name)) or (old and old.parameters.get(change.name)) or ""
        diff.parameters[i] = dataclasses.replace(change, spec_key=key)
    if old is None or new is None:
        if old or new:
            _attribute_one_side(diff, new or old, use_new=new is not None)
        return
    changes = spec_changes(old, new)
    used = {p.spec_key for p in diff.parameters if p.spec_key}
    for i, field in enumerate(diff.fields):
        candidates = [c for c in changes if matches(c.old, field.old) and matches(c.new, field.new)]
        candidates = _prefer(candidates, field.step)
        if len(candidates) == 1:
            c = candidates[0]
            diff.fields[i] = dataclasses.replace(
                field, spec_key=c.key, spec_old=c.old, spec_new=c.new, spec_line=c.line
            )
            used.add(c.key)
    for i, step in enumerate(diff.steps):
        if step.kind in ("added", "removed"):
            whole = [c for c in changes if c.key in _sections(step.name)]
            if len(whole) == 1 and (whole[0].old is None) != (whole[0].new is None):
                diff.steps[i] = dataclasses.replace(step, spec_key=whole[0].key)
                used.add(whole[0].key)
    diff.spec = [c for c in changes if c.key not in used]


def _attribute_one_side(diff: Diff, spec: SpecSource, use_new: bool) -> None:
    """Name the spec key holding each changed value, looked up in the one spec there is."""
    for i, field in enumerate(diff.fields):
        value = field.new if use_new else field.old
        loc = spec.locate(field.step, value) if value is not MISSING else None
        if loc is not None:
            where = spec.positions(loc)
            diff.fields[i] = dataclasses.replace(
                field, spec_key=dotted(loc), spec_line=where[0] if where else 0
            )
