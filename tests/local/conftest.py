"""Fixtures for local runs: fast variants of the census spec and the Adult data mapping."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ..spec_edits import strip_section  # noqa: F401 - re-exported for the tests here

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "specs" / "census.yaml"
INPUT_URI = "s3://sagemaker-sample-files/datasets/tabular/uci_adult/census-income.csv"


def adult_csv() -> Path:
    root = Path(os.environ.get("LGBM_PIPELINE_DATA_DIR", REPO.parent / "shared" / "data"))
    return root / "adult" / "census-income.csv"


@pytest.fixture(scope="session")
def adult() -> Path:
    path = adult_csv()
    if not path.is_file():
        pytest.skip(f"Adult data not found at {path} (set LGBM_PIPELINE_DATA_DIR to the shared data dir)")
    return path


def fast_spec_text(**replacements: str) -> str:
    """The census spec with a small tuning budget (4 trials, ≤ 60 trees) for quick runs."""
    text = CENSUS.read_text()
    text = text.replace("max_jobs: 20", "max_jobs: 4")
    text = text.replace("{type: integer, min: 10, max: 400}", "{type: integer, min: 10, max: 60}")
    text = text.replace("{type: integer, min: 2, max: 200}", "{type: integer, min: 8, max: 31}")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def make_spec(tmp_path):
    def make(text: str, scripts: dict[str, str] | None = None) -> Path:
        folder = tmp_path / "spec"
        folder.mkdir(exist_ok=True)
        for name, body in (scripts or {}).items():
            (folder / name).write_text(body)
        path = folder / "census.yaml"
        path.write_text(text)
        return path

    return make


def bundled(name: str) -> str:
    return (REPO / "step_scripts" / name).read_text()


def copy_bundled(folder: Path, name: str) -> None:
    shutil.copy(REPO / "step_scripts" / name, folder / name)
