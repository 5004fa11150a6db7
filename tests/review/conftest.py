"""Fixtures of the review tests: census spec variants, each compiled once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib: make the helper modules beside this file importable.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from review_variants import VARIANTS, write_variant  # noqa: E402


class Variants:
    """Census variants written on first use and compiled (in memory, as a diff side) once."""

    def __init__(self, root: Path):
        self.root = root
        self._sides: dict[str, object] = {}

    def spec(self, name: str) -> Path:
        path = self.root / name / "census.yaml"
        return path if path.is_file() else write_variant(name, self.root / name)

    def side(self, name: str):  # noqa: ANN201 - a review.sides.Side
        if name not in self._sides:
            from lgbm_pipeline_compiler.review import sides

            self._sides[name] = sides.load(str(self.spec(name)))
        return self._sides[name]


@pytest.fixture(scope="session")
def variants(tmp_path_factory) -> Variants:
    assert set(VARIANTS) >= {"base"}
    return Variants(tmp_path_factory.mktemp("census-variants"))
