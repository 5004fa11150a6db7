"""Shared fixtures: repository paths and the census spec compiled once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CENSUS_SPEC = REPO / "specs" / "census.yaml"
CENSUS_JSON = REPO / "specs" / "census.json"


def data_dir() -> Path:
    """The shared real data sets: $LGBM_PIPELINE_DATA_DIR or ../shared/data beside the repo."""
    return Path(os.environ.get("LGBM_PIPELINE_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def census_spec():
    from lgbm_pipeline_compiler import load_spec

    return load_spec(CENSUS_SPEC)


@pytest.fixture(scope="session")
def census_compiled(census_spec):
    from lgbm_pipeline_compiler.compiler import compile_definition

    return compile_definition(census_spec)
