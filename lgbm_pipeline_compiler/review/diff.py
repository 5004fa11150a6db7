"""The semantic diff of two pipeline definitions, in SageMaker's terms.

Steps are matched by name; a removed and an added step of the same type whose fields mostly agree
are a rename, and the old side is renamed before anything else is compared, so a rename does not
show as every reference changing. Values that differ only by an artifact's content hash are
reported once, as an artifact change (with the files' own diff when both versions are at hand),
instead of as a field change in every step that ships the artifact.
"""

from __future__ import annotations

from typing import Any

from .attribution import attribute
from .changes import ArtifactChange, Diff, FieldChange, ParameterChange, ReferenceChange, StepChange
from .model import ARTIFACT, MISSING, DefinitionView, Path, dotted, rename_steps, view
from .risk import risks
from .scripts import content_diff
from .sides import Side

RENAME_SIMILARITY = 0.5


def _normalized(value: Any) -> Any:
    return (
        ARTIFACT.sub(lambda m: f"/artifacts/<sha256>/{m.group(2)}", value)
        if isinstance(value, str)
        else value
    )


def _similarity(old: dict[Path, Any], new: dict[Path, Any]) -> float:
    keys = old.keys() | new.keys()
    same = sum(1 for k in keys if _normalized(old.get(k, MISSING)) == _normalized(new.get(k, MISSING)))
    return same / len(keys) if keys else 1.0


def find_renames(old: DefinitionView, new: DefinitionView) -> dict[str, str]:
    """Old name → new name for removed and added steps of one type that mostly agree."""
    removed = [s for name, s in old.steps.items() if name not in new.steps]
    added = [s for name, s in new.steps.items() if name not in old.steps]
    candidates = []
    for r in removed:
        for a in added:
            if r.type == a.type:
                renamed = view_fields_renamed(r.fields, r.name, a.name)
                candidates.append((_similarity(renamed, a.fields), r.name, a.name))
    renames: dict[str, str] = {}
    for score, r_name, a_name in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if score >= RENAME_SIMILARITY and r_name not in renames and a_name not in renames.values():
            renames[r_name] = a_name
    return renames


def view_fields_renamed(fields: dict[Path, Any], old: str, new: str) -> dict[Path, Any]:
    definition = rename_steps({"v": list(fields.items())}, {old: new})
    return {tuple(k): v for k, v in definition["v"]}


def _artifact_refs(value: Any) -> list[tuple[str, str, str]]:
    """(uri tail from /artifacts/, sha, name) of every artifact key in a string value."""
    if not isinstance(value, str):
        return []
    return [(m.group(0), m.group(1), m.group(2)) for m in ARTIFACT.finditer(value)]


def _full_uri(value: str, tail: str) -> str:
    start = value.index(tail)
    begin = value.rfind("s3://", 0, start)
    return value[begin if begin >= 0 else 0 : start + len(tail)]


def compare(old: Side, new: Side) -> Diff:
    """The semantic diff of two sides."""
    old_view, new_view = view(old.definition), view(new.definition)
    renames = find_renames(old_view, new_view)
    if renames:
        old_view = view(rename_steps(old.definition, renames))
    diff = Diff(old.label, new.label, old_view=old_view, new_view=new_view)
    diff.steps = _step_changes(old_view, new_view, renames)
    artifact_places: dict[tuple[str, str, str, str, str], list[tuple[str, str]]] = {}
    common = [name for name in new_view.steps if name in old_view.steps]
    pairs = [(name, old_view.steps[name].fields, new_view.steps[name].fields) for name in common]
    pairs.append(("", old_view.pipeline_fields, new_view.pipeline_fields))
    for step, before, after in pairs:
        for path in sorted(before.keys() | after.keys(), key=_path_order(before, after)):
            a, b = before.get(path, MISSING), after.get(path, MISSING)
            if a == b:
                continue
            if a is not MISSING and b is not MISSING and _normalized(a) == _normalized(b):
                for (tail_a, sha_a, name), (tail_b, sha_b, _) in zip(
                    _artifact_refs(a), _artifact_refs(b), strict=True
                ):
                    if sha_a != sha_b:
                        key = (name, sha_a, sha_b, _full_uri(a, tail_a), _full_uri(b, tail_b))
                        artifact_places.setdefault(key, []).append((step, dotted(path)))
                continue
            diff.fields.append(FieldChange(step, dotted(path), a, b))
    diff.edges_added = sorted(new_view.edges - old_view.edges)
    diff.edges_removed = sorted(old_view.edges - new_view.edges)
    for name in common:
        before_refs, after_refs = old_view.steps[name].refs, new_view.steps[name].refs
        if before_refs != after_refs:
            diff.references.append(
                ReferenceChange(
                    name, tuple(sorted(after_refs - before_refs)), tuple(sorted(before_refs - after_refs))
                )
            )
    diff.parameters = _parameter_changes(old_view, new_view)
    diff.artifacts = [
        ArtifactChange(
            name, sha_a, sha_b, tuple(places), content_diff(name, old, new, uri_a, uri_b, sha_a, sha_b)
        )
        for (name, sha_a, sha_b, uri_a, uri_b), places in artifact_places.items()
    ]
    attribute(diff, old.spec, new.spec)
    diff.risk = risks(diff, old_view, new_view, renames)
    return diff


def _path_order(before: dict[Path, Any], after: dict[Path, Any]):  # noqa: ANN202 - a sort key
    """Paths in the order the new side lists them, then the old side's removed ones."""
    order = {path: i for i, path in enumerate([*after, *(p for p in before if p not in after)])}
    return lambda path: order[path]


def _step_changes(old: DefinitionView, new: DefinitionView, renames: dict[str, str]) -> list[StepChange]:
    changes = []
    reverse = {v: k for k, v in renames.items()}
    for name, step in new.steps.items():
        if name in reverse:
            changes.append(StepChange("renamed", name, step.type, reverse[name]))
        elif name not in old.steps:
            changes.append(StepChange("added", name, step.type))
    changes += [StepChange("removed", name, s.type) for name, s in old.steps.items() if name not in new.steps]
    return changes


def _parameter_changes(old: DefinitionView, new: DefinitionView) -> list[ParameterChange]:
    out = []
    for name, spec in new.parameters.items():
        if name not in old.parameters:
            out.append(ParameterChange("added", name, {}, spec))
        elif old.parameters[name] != spec:
            out.append(ParameterChange("changed", name, old.parameters[name], spec))
    out += [
        ParameterChange("removed", n, s, {}) for n, s in old.parameters.items() if n not in new.parameters
    ]
    return out
