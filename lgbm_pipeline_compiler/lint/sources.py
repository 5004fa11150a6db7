"""Where in a spec a finding on its compiled definition comes from (``validate --deep``).

A rule that knows the spec key a value came from says so (``LintFinding.spec_keys``: a
hyperparameter name is the key ``training.hyperparameters.<name>``). Otherwise the offending value
is looked up among the spec's values and keys, preferring the sections that build the finding's
step; a value found nowhere, or in several places with nothing to choose between them, gets no
position (the finding then names the spec file only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ..spec.loader import SourceDoc
from .check_hyper import unquote
from .rules import LintFinding

Loc = tuple[str | int, ...]

# The compiler's step names → the spec sections their values come from (see compiler/pipeline.py).
STEP_SECTIONS: dict[str, tuple[str, ...]] = {
    "Preprocess": ("preprocessing", "data", "storage"),
    "Tune": ("tuning", "training"),
    "LightGBMModel-CreateModel": ("training",),
    "Evaluate": ("evaluation",),
    "ModelBiasCheck": ("clarify",),
    "ModelExplainabilityCheck": ("clarify",),
    "F1Gate": ("quality_gate",),
    "Register-RegisterModel": ("registry",),
    "Deploy": ("deploy",),
    "BatchTransform": ("batch_transform",),
}


def _leaves(node: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any, bool]]:
    """(location, value, is_key) of every scalar and every mapping key."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*loc, key), key, True
            yield from _leaves(value, (*loc, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _leaves(value, (*loc, i))
    else:
        yield loc, node, False


def _same(spec_value: Any, value: Any) -> bool:
    if isinstance(spec_value, bool) or isinstance(value, bool) or spec_value is None:
        return False
    if isinstance(value, str):
        return str(spec_value) == value and len(value) >= 2
    return isinstance(spec_value, (int, float)) and spec_value == value


def position(finding: LintFinding, doc: SourceDoc) -> tuple[int, int] | None:
    for loc in finding.spec_keys:
        if loc in doc.key_marks:
            return doc.key_marks[loc]
        if loc in doc.marks:
            return doc.marks[loc]
    value = unquote(finding.value)  # as the spec wrote it (SageMaker JSON-quotes hyperparameters)
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    matches = [(loc, key) for loc, leaf, key in _leaves(doc.data) if _same(leaf, value)]
    sections = STEP_SECTIONS.get(finding.step, ())
    preferred = [m for m in matches if m[0] and m[0][0] in sections]
    if preferred:
        matches = preferred
    elif len(matches) > 1:
        return None
    if not matches:
        return None
    loc, is_key = min(matches, key=lambda m: doc.position(m[0], key=m[1]))
    return doc.position(loc, key=is_key)


def locate(findings: list[LintFinding], doc: SourceDoc) -> list[LintFinding]:
    """The findings with the spec's file, and line:col where a value came from the spec."""
    out = []
    for finding in findings:
        where = position(finding, doc)
        line, col = where if where else (0, 0)
        out.append(dataclasses.replace(finding, file=doc.file, line=line, col=col))
    return out
