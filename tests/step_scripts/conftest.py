"""Fixtures for the step-script tests: real Adult data, SageMaker container layouts in temp dirs.

Each job gets its own ``opt/ml`` tree (as separate containers would), its inputs copied in the
way SageMaker copies S3 objects, and the script copied to where the container puts code. The
pipeline preprocess -> train -> evaluate runs once per session.
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

from step_script_helpers import SCRIPT_NAMES, data_dir, install_code, load_script, run_script  # noqa: E402


@pytest.fixture(scope="session")
def scripts() -> SimpleNamespace:
    """The step scripts imported as modules, for unit tests of their pure functions."""
    return SimpleNamespace(**{name: load_script(name) for name in SCRIPT_NAMES})


@pytest.fixture(scope="session")
def adult_csv() -> Path:
    path = data_dir() / "adult" / "census-income.csv"
    if not path.is_file():
        pytest.skip(f"Adult data not found at {path}; set LGBM_PIPELINE_DATA_DIR to the dir holding adult/")
    return path


@pytest.fixture(scope="session")
def kdd_dir() -> Path:
    path = data_dir() / "census-income-kdd"
    if not (path / "census-income.data.gz").is_file():
        pytest.skip(f"KDD census data not found in {path}; set LGBM_PIPELINE_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def preprocessed(tmp_path_factory: pytest.TempPathFactory, adult_csv: Path) -> SimpleNamespace:
    """Run preprocessing.py once in a processing-job layout on Adult; returns paths and the result."""
    ml = tmp_path_factory.mktemp("processing-job") / "opt" / "ml" / "processing"
    (ml / "input" / "data").mkdir(parents=True)
    shutil.copy(adult_csv, ml / "input" / "data" / adult_csv.name)
    code = install_code(["preprocessing.py"], ml / "input" / "code")
    args = [
        "--input-dir", str(ml / "input" / "data"),
        "--output-dir", str(ml / "output"),
        "--target-column", "Target",
        "--positive-class", ">50K",
        "--train-ratio", "0.7",
        "--validation-ratio", "0.15",
        "--test-ratio", "0.15",
        "--stratify", "true",
        "--seed", "42",
        "--facet-columns", "Sex",
    ]  # fmt: skip
    result = run_script(code / "preprocessing.py", args, cwd=code)
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(output=ml / "output", result=result, input=adult_csv)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, preprocessed: SimpleNamespace) -> SimpleNamespace:
    """Run train.py once in a training-job layout with default hyperparameters, as script mode does."""
    ml = tmp_path_factory.mktemp("training-job") / "opt" / "ml"
    channels = {}
    for channel in ("train", "validation"):
        channels[channel] = ml / "input" / "data" / channel
        shutil.copytree(preprocessed.output / channel, channels[channel])
    code = install_code(["train.py", "inference.py", "requirements.txt"], ml / "code")
    env = {
        "SM_CHANNEL_TRAIN": str(channels["train"]),
        "SM_CHANNEL_VALIDATION": str(channels["validation"]),
        "SM_MODEL_DIR": str(ml / "model"),
        "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
        "SM_CHANNELS": '["train","validation"]',
        "SM_HPS": "{}",
    }
    (ml / "model").mkdir(parents=True)
    (ml / "output" / "data").mkdir(parents=True)
    args = [
        "--sagemaker_container_log_level", "20",
        "--sagemaker_job_name", '"census-train-2024-01-01"',
        "--sagemaker_program", '"train.py"',
        "--sagemaker_region", '"us-east-1"',
        "--sagemaker_submit_directory", '"s3://bucket/census/source/sourcedir.tar.gz"',
    ]  # fmt: skip
    result = run_script(code / "train.py", args, env=env, cwd=code)
    assert result.returncode == 0, result.stderr
    archive = ml / "output" / "model.tar.gz"  # SageMaker tars SM_MODEL_DIR after the job
    with tarfile.open(archive, "w:gz") as tar:
        for item in sorted((ml / "model").iterdir()):
            tar.add(item, arcname=item.name)
    return SimpleNamespace(
        model_dir=ml / "model", output_data=ml / "output" / "data", archive=archive, result=result
    )


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
