"""Spec-layer tests: make ``spec_helpers`` (beside this file) importable.

The project runs pytest with ``--import-mode=importlib``, which leaves sys.path alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def census():
    """specs/census.yaml, loaded."""
    from spec_helpers import CENSUS_SPEC

    from lgbm_pipeline_compiler.spec import load_spec

    return load_spec(CENSUS_SPEC)
