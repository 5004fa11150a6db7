"""The spec: one Pydantic model per YAML section, and a loader that keeps source positions.

Nothing here imports the SageMaker SDK, so `lgbm-pipeline validate` stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from ..errors import SpecError, dotted
from .checks import cross_check
from .loader import SourceDoc, load_document
from .messages import findings_from
from .root import PipelineSpec

__all__ = ["PipelineSpec", "load_spec", "spec_from_document"]


def spec_from_document(doc: SourceDoc, source_dir: str | Path = ".") -> PipelineSpec:
    """Validate parsed data (staged: sections, then cross-section checks); raise all findings."""
    if not isinstance(doc.data, dict):
        raise SpecError(
            [doc.finding((), "", "the spec must be a mapping of sections (pipeline:, data:, ...)")]
        )
    try:
        spec = PipelineSpec.model_validate(doc.data)
    except ValidationError as err:
        raise SpecError(findings_from(err, doc, PipelineSpec)) from None
    spec._source_dir = str(source_dir)
    problems = cross_check(spec)
    if problems:
        raise SpecError([doc.finding(loc, dotted(loc), message) for loc, message in problems])
    return spec


def load_spec(path: str | Path, variables: Mapping[str, str] | None = None) -> PipelineSpec:
    """Read and parse a spec file, render its template values (``variables`` are the --var
    overrides) and validate it."""
    doc = load_document(path, variables)
    return spec_from_document(doc, Path(path).parent)
