"""Fixtures for clarify_check.py: the script as a module, and a real Adult model in SageMaker layouts.

preprocessing.py and train.py run once per session as subprocesses, each in its own ``opt/ml``
tree, the way separate containers would (as tests/step_scripts/conftest.py does). The model is
deliberately small (few shallow trees) so that exact TreeSHAP over the whole test split stays fast.
"""

from __future__ import annotations

import json
import shutil
import sys
import tarfile
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

# pytest runs with --import-mode=importlib, which leaves sys.path alone: make the helper module
# beside this file importable by the test modules (its name is unique across the suites).
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from clarify_helpers import (  # noqa: E402
    FEATURES,
    SMALL_MODEL,
    TARGET,
    ClarifyJob,
    analysis_config,
    data_dir,
    install_code,
    load_clarify_check,
    run_script,
)


@pytest.fixture(scope="session")
def cc() -> ModuleType:
    """clarify_check.py imported as a module, for unit tests of its pure functions."""
    return load_clarify_check()


@pytest.fixture(scope="session")
def adult_csv() -> Path:
    path = data_dir() / "adult" / "census-income.csv"
    if not path.is_file():
        pytest.skip(f"Adult data not found at {path}; set LGBM_PIPELINE_DATA_DIR to the dir holding adult/")
    return path


@pytest.fixture(scope="session")
def preprocessed(tmp_path_factory: pytest.TempPathFactory, adult_csv: Path) -> SimpleNamespace:
    """preprocessing.py once in a processing-job layout on Adult (writes clarify/clarify.csv)."""
    ml = tmp_path_factory.mktemp("clarify-preprocess") / "opt" / "ml" / "processing"
    (ml / "input" / "data").mkdir(parents=True)
    shutil.copy(adult_csv, ml / "input" / "data" / adult_csv.name)
    code = install_code(["preprocessing.py"], ml / "input" / "code")
    args = [
        "--input-dir", str(ml / "input" / "data"),
        "--output-dir", str(ml / "output"),
        "--target-column", TARGET,
        "--positive-class", ">50K",
        "--drop-columns", "fnlwgt",
        "--train-ratio", "0.7",
        "--validation-ratio", "0.15",
        "--test-ratio", "0.15",
        "--seed", "42",
        "--facet-columns", "Sex",
    ]  # fmt: skip
    result = run_script(code / "preprocessing.py", args, cwd=code)
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(output=ml / "output", clarify_csv=ml / "output" / "clarify" / "clarify.csv")


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, preprocessed: SimpleNamespace) -> SimpleNamespace:
    """train.py once in a training-job layout (script mode), then model.tar.gz as SageMaker packs it."""
    ml = tmp_path_factory.mktemp("clarify-train") / "opt" / "ml"
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
    }
    (ml / "model").mkdir(parents=True)
    (ml / "output" / "data").mkdir(parents=True)
    result = run_script(code / "train.py", SMALL_MODEL, env=env, cwd=code)
    assert result.returncode == 0, result.stderr
    archive = ml / "output" / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for item in sorted((ml / "model").iterdir()):
            tar.add(item, arcname=item.name)
    return SimpleNamespace(model_dir=ml / "model", archive=archive)


@pytest.fixture
def clarify_job(tmp_path: Path, trained: SimpleNamespace, preprocessed: SimpleNamespace) -> ClarifyJob:
    return ClarifyJob(tmp_path, trained.archive, preprocessed.clarify_csv)


@pytest.fixture(scope="session")
def first_run(tmp_path_factory: pytest.TempPathFactory, trained, preprocessed) -> SimpleNamespace:
    """Bias + explainability + report with no baseline: the run that makes a new baseline."""
    job = ClarifyJob(tmp_path_factory.mktemp("clarify-first"), trained.archive, preprocessed.clarify_csv)
    result = job.run("all", analysis_config(), "--report")
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(job=job, result=result, analysis=result.analysis, output=job.output)


@pytest.fixture(scope="session")
def adult_inputs(cc, trained, preprocessed) -> SimpleNamespace:
    """The Clarify CSV, the model input and the model's probabilities, loaded in-process."""
    import lightgbm as lgb

    schema = json.loads((trained.model_dir / "schema.json").read_text())
    frame = cc.read_dataset(preprocessed.clarify_csv, [TARGET, *FEATURES], schema)
    features = cc.to_model_frame(frame, schema)
    booster = lgb.Booster(model_file=str(trained.model_dir / "model.txt"))
    return SimpleNamespace(
        schema=schema, frame=frame, features=features, booster=booster, proba=booster.predict(features)
    )
