"""Fixtures for clarify_check.py: the script and its modules as modules, and clarify jobs on the
session's Adult model (tests/conftest.py's ``preprocessed`` and ``trained``).

The jobs explain the first :data:`ROWS` rows of the Clarify dataset (the test split): exact
TreeSHAP on the default model (a few hundred trees) costs about 2 ms a row.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

# pytest runs with --import-mode=importlib, which leaves sys.path alone: make the helper module
# beside this file importable by the test modules (its name is unique across the suites).
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from clarify_helpers import FEATURES, TARGET, ClarifyJob, analysis_config  # noqa: E402
from step_jobs import load_script  # noqa: E402

from lgbm_pipeline_compiler.report import write_report  # noqa: E402

ROWS = 1500


@pytest.fixture(scope="session")
def cc() -> ModuleType:
    """clarify_check.py imported as a module, for unit tests of its functions."""
    return load_script("clarify_check")


@pytest.fixture(scope="session")
def bm() -> ModuleType:
    """bias_metrics.py (the metrics clarify_check.py computes) imported as a module."""
    return load_script("bias_metrics")


@pytest.fixture(scope="session")
def cb() -> ModuleType:
    """clarify_baseline.py (the baseline rules clarify_check.py applies) imported as a module."""
    return load_script("clarify_baseline")


@pytest.fixture(scope="session")
def clarify_csv(tmp_path_factory: pytest.TempPathFactory, preprocessed: SimpleNamespace) -> Path:
    """The first :data:`ROWS` rows of preprocessing.py's Clarify dataset (no header)."""
    lines = preprocessed.clarify_csv.read_text().splitlines(keepends=True)[:ROWS]
    path = tmp_path_factory.mktemp("clarify-data") / "clarify.csv"
    path.write_text("".join(lines))
    return path


@pytest.fixture
def clarify_job(tmp_path: Path, trained: SimpleNamespace, clarify_csv: Path) -> ClarifyJob:
    return ClarifyJob(tmp_path, trained.archive, clarify_csv)


@pytest.fixture(scope="session")
def first_run(tmp_path_factory: pytest.TempPathFactory, trained, clarify_csv) -> SimpleNamespace:
    """Bias + explainability with no baseline (the run that makes a new baseline), then its report."""
    job = ClarifyJob(tmp_path_factory.mktemp("clarify-first"), trained.archive, clarify_csv)
    result = job.run("all", analysis_config(), "--report-data")
    assert result.returncode == 0, result.stderr
    write_report(job.output)
    return SimpleNamespace(job=job, result=result, analysis=result.analysis, output=job.output)


@pytest.fixture(scope="session")
def adult_inputs(cc, trained, clarify_csv) -> SimpleNamespace:
    """The Clarify CSV, the model input, the model's probabilities and SHAP values, in-process."""
    import lightgbm as lgb

    schema = json.loads((trained.model_dir / "schema.json").read_text())
    frame = cc.read_headerless(clarify_csv, [TARGET, *FEATURES], schema, cc.PROG)
    features = cc.to_model_frame(frame, schema)
    booster = lgb.Booster(model_file=str(trained.model_dir / "model.txt"))
    values, expected = cc.tree_shap(booster, features)
    return SimpleNamespace(
        schema=schema,
        frame=frame,
        features=features,
        booster=booster,
        proba=booster.predict(features),
        shap_values=values,
        expected_value=expected,
    )
