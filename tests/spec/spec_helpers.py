"""Helpers for the spec-layer tests: the valid base spec as text or data, and validation shortcuts."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from lgbm_pipeline_compiler.errors import Finding, SpecError
from lgbm_pipeline_compiler.spec import PipelineSpec, spec_from_document
from lgbm_pipeline_compiler.spec.loader import SourceDoc, parse_yaml

REPO = Path(__file__).resolve().parents[2]
BASE_SPEC = REPO / "tests" / "invalid" / "_base.yaml"
CENSUS_SPEC = REPO / "specs" / "census.yaml"


@cache
def base_text() -> str:
    return BASE_SPEC.read_text(encoding="utf-8")


@cache
def _base_parsed() -> dict[str, Any]:
    return parse_yaml(base_text(), "base.yaml").data


def base_data() -> dict[str, Any]:
    """A fresh deep copy of the valid base spec as plain data."""
    return copy.deepcopy(_base_parsed())


def validate_text(text: str, file: str = "t.yaml") -> PipelineSpec:
    return spec_from_document(parse_yaml(text, file))


def validate_data(data: Any) -> PipelineSpec:
    """Validate plain data (no source marks: every finding is at 1:1, paths are still exact)."""
    return spec_from_document(SourceDoc(file="t.yaml", data=data))


def edited(old: str, new: str) -> str:
    """The base text with exactly one occurrence of ``old`` replaced."""
    text = base_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the base spec"
    return text.replace(old, new)


def findings_of(text_or_data: str | dict[str, Any]) -> list[Finding]:
    """The findings a broken spec produces (fails the test if it validates)."""
    with pytest.raises(SpecError) as excinfo:
        if isinstance(text_or_data, str):
            validate_text(text_or_data)
        else:
            validate_data(text_or_data)
    return excinfo.value.findings


def one_finding(text_or_data: str | dict[str, Any]) -> Finding:
    findings = findings_of(text_or_data)
    assert len(findings) == 1, [f.format() for f in findings]
    return findings[0]
