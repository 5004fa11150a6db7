"""The examples in examples/ run as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.long_running  # (handed out early: tests/conftest.py)

REPO = Path(__file__).resolve().parent.parent


def run_example(
    name: str, *args: str, timeout: int = 600, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "examples" / name), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_extend_pipeline_adds_a_fail_step_and_writes_the_compiled_pipeline(tmp_path):
    proc = run_example("extend_pipeline.py", "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    definition = json.loads((tmp_path / "out" / "pipeline.json").read_text())
    gate = definition["Steps"][-1]
    assert [(s["Name"], s["Type"]) for s in gate["Arguments"]["ElseSteps"]] == [("F1BelowThreshold", "Fail")]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert all((tmp_path / "out" / a["path"]).is_file() for a in manifest["artifacts"])
    assert '"Name": "F1BelowThreshold"' in proc.stdout


def test_library_usage_validates_compiles_and_runs_locally(tmp_path, warm_pool_env):
    env = {**os.environ, **warm_pool_env}  # (its run's jobs and trials: the worker's warm servers)
    proc = run_example("library_usage.py", "--work-dir", str(tmp_path / "work"), "--trials", "2", env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert any(
        line.endswith("tuning.max_parallel_jobs: Input should be greater than or equal to 1 (got 0)")
        for line in lines
    ), proc.stdout
    assert "status Succeeded; test F1 0." in proc.stdout
    assert "registered: arn:aws:sagemaker:us-east-1:111122223333:model-package/census-income-lgbm/1" in lines
    # The batch transform scored every test row: target,probability,label next to the evaluation report.
    (predictions,) = (tmp_path / "work" / "s3").rglob("Evaluate/predictions/clarify.csv.out")
    (clarify,) = (tmp_path / "work" / "s3").rglob("Preprocess/clarify/clarify.csv")
    rows = [line.split(",") for line in predictions.read_text().splitlines()]
    targets = [line.split(",", 1)[0] for line in clarify.read_text().splitlines()]
    assert [row[0] for row in rows] == targets
    assert all(len(row) == 3 and 0.0 <= float(row[1]) <= 1.0 and row[2] in ("0", "1") for row in rows)
