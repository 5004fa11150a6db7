"""What a diff holds: the changes of each kind, as plain data (``diff.compare`` fills them in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import MISSING, DefinitionView, Edge


@dataclass(frozen=True)
class SpecChange:
    key: str
    old: Any
    new: Any
    line: int = 0
    """Line of the key in the new spec (the old one's when the key was removed); 0 if unknown."""


@dataclass(frozen=True)
class StepChange:
    kind: str  # "added" | "removed" | "renamed"
    name: str
    type: str
    old_name: str = ""
    spec_key: str = ""
    """The spec section whose addition or removal added or removed the step."""


@dataclass(frozen=True)
class FieldChange:
    step: str
    """The step's name ("" for the pipeline's own fields)."""
    path: str
    old: Any
    new: Any
    spec_key: str = ""
    spec_old: Any = MISSING
    spec_new: Any = MISSING
    spec_line: int = 0


@dataclass(frozen=True)
class ParameterChange:
    kind: str  # "added" | "removed" | "changed"
    name: str
    old: dict[str, Any]
    new: dict[str, Any]
    spec_key: str = ""


@dataclass(frozen=True)
class ReferenceChange:
    step: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class ArtifactChange:
    name: str
    old_sha: str
    new_sha: str
    places: tuple[tuple[str, str], ...]
    """(step, field path) of every field that references the artifact."""
    diff: tuple[str, ...] | None
    """Unified diff lines of the contents; None when a side's bytes are not at hand."""


@dataclass
class Diff:
    old_label: str
    new_label: str
    steps: list[StepChange] = field(default_factory=list)
    fields: list[FieldChange] = field(default_factory=list)
    edges_added: list[Edge] = field(default_factory=list)
    edges_removed: list[Edge] = field(default_factory=list)
    references: list[ReferenceChange] = field(default_factory=list)
    parameters: list[ParameterChange] = field(default_factory=list)
    artifacts: list[ArtifactChange] = field(default_factory=list)
    spec: list[SpecChange] = field(default_factory=list)
    """Spec changes no definition field or parameter shows (they feed artifacts or names)."""
    risk: list[str] = field(default_factory=list)
    old_view: DefinitionView | None = None
    new_view: DefinitionView | None = None

    @property
    def changed(self) -> bool:
        return bool(
            self.steps
            or self.fields
            or self.edges_added
            or self.edges_removed
            or self.references
            or self.parameters
            or self.artifacts
            or self.spec
        )

    def touched_steps(self) -> set[str]:
        """Steps (new names) that were added, renamed or changed, or read a changed parameter."""
        names = {s.name for s in self.steps if s.kind != "removed"}
        names |= {f.step for f in self.fields if f.step}
        names |= {r.step for r in self.references}
        names |= {step for a in self.artifacts for step, _ in a.places}
        params = {f"Parameters.{p.name}" for p in self.parameters}
        if self.new_view:
            names |= {s.name for s in self.new_view.steps.values() if s.refs & params}
        return names
