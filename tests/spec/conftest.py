"""Spec-layer tests: make ``spec_helpers`` (beside this file) importable.

The project runs pytest with ``--import-mode=importlib``, which leaves sys.path alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module", autouse=True)
def _one_cli_parser():
    """``cli.main`` builds its argparse parser at every call (~12 ms, hundreds of calls here): each test
    module reuses one. Parsing leaves a parser as it was, so every call still parses as a fresh one."""
    import functools

    from lgbm_pipeline_compiler import cli

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "build_parser", functools.cache(cli.build_parser))
        yield


@pytest.fixture(scope="module")
def census():
    """specs/census.yaml, loaded."""
    from spec_helpers import CENSUS_SPEC

    from lgbm_pipeline_compiler.spec import load_spec

    return load_spec(CENSUS_SPEC)
