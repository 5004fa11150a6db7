"""Fixtures for the step-script tests: the scripts as modules, and the session's Adult jobs.

Adult is preprocessed and the model trained once per session by tests/conftest.py (``preprocessed``,
``trained``); here the evaluation job runs on them, and the model is unpacked as serving does.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

# The project runs pytest with --import-mode=importlib, which leaves sys.path alone: make the
# helper module beside this file importable by the test modules (its name is unique).
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from step_jobs import data_dir, install_code, load_script, run_script  # noqa: E402
from step_script_helpers import MODULE_NAMES  # noqa: E402


@pytest.fixture(scope="session")
def scripts() -> SimpleNamespace:
    """The step scripts and step_common imported as modules, for unit tests of their functions."""
    return SimpleNamespace(**{name: load_script(name) for name in MODULE_NAMES})


@pytest.fixture(scope="session")
def kdd_dir() -> Path:
    path = data_dir() / "census-income-kdd"
    if not (path / "census-income.data.gz").is_file():
        pytest.skip(f"KDD census data not found in {path}; set LGBM_PIPELINE_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def evaluated(
    tmp_path_factory: pytest.TempPathFactory, preprocessed: SimpleNamespace, trained: SimpleNamespace
) -> SimpleNamespace:
    """Run evaluate.py once in a processing-job layout on model.tar.gz and the test split."""
    ml = tmp_path_factory.mktemp("evaluation-job") / "opt" / "ml" / "processing"
    (ml / "model").mkdir(parents=True)
    shutil.copy(trained.archive, ml / "model" / "model.tar.gz")
    shutil.copytree(preprocessed.output / "test", ml / "test")
    code = install_code(["evaluate.py"], ml / "input" / "code")
    args = [
        "--model-dir",
        str(ml / "model"),
        "--test-dir",
        str(ml / "test"),
        "--output-dir",
        str(ml / "evaluation"),
    ]
    result = run_script(code / "evaluate.py", args, cwd=code)
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(output=ml / "evaluation", result=result)


@pytest.fixture(scope="session")
def serving_model_dir(tmp_path_factory: pytest.TempPathFactory, trained: SimpleNamespace) -> Path:
    """model.tar.gz extracted as the serving container does into /opt/ml/model."""
    model_dir = tmp_path_factory.mktemp("serving") / "opt" / "ml" / "model"
    model_dir.mkdir(parents=True)
    with tarfile.open(trained.archive) as tar:
        tar.extractall(model_dir, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return model_dir
