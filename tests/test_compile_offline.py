"""Compiling is offline and canonical: no AWS variables, no network, same bytes every time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CENSUS_JSON = REPO / "specs" / "census.json"

REFERENCE_STEPS = [
    ("Preprocess", "Processing"),
    ("Tune", "Tuning"),
    ("LightGBMModel-CreateModel", "Model"),
    ("Evaluate", "Processing"),
    ("ModelBiasCheck", "ClarifyCheck"),
    ("ModelExplainabilityCheck", "ClarifyCheck"),
    ("F1Gate", "Condition"),
]
GATED_STEPS = [
    ("Register-RegisterModel", "RegisterModel"),
    ("Deploy", "Lambda"),
    ("BatchTransform", "Transform"),
]


def _offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path)  # no ~/.aws, no ~/.config/sagemaker
    env.pop("SAGEMAKER_SUPPRESS_V2_WARNING", None)
    return env


def _compile_offline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "tests" / "offline_cli.py"), "compile", "specs/census.yaml", *args],
        cwd=REPO,
        env=_offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def two_offline_compiles(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], ...]:
    return tuple(_compile_offline(tmp_path_factory.mktemp(f"home{i}")) for i in range(2))


def test_compiles_with_no_aws_variables_and_no_network(two_offline_compiles):
    first = two_offline_compiles[0]
    assert first.returncode == 0, first.stderr
    definition = json.loads(first.stdout)
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == REFERENCE_STEPS
    gate = definition["Steps"][-1]
    assert [(s["Name"], s["Type"]) for s in gate["Arguments"]["IfSteps"]] == GATED_STEPS
    assert gate["Arguments"]["ElseSteps"] == []


def test_stdout_is_only_the_definition(two_offline_compiles):
    first = two_offline_compiles[0]
    assert first.stdout.startswith("{\n") and first.stdout.endswith("}\n")
    assert "deprecat" not in first.stdout.lower() and "INFO" not in first.stdout
    assert first.stderr == ""


def test_two_processes_give_the_same_bytes(two_offline_compiles):
    first, second = two_offline_compiles
    assert second.returncode == 0, second.stderr
    assert first.stdout.encode() == second.stdout.encode()


def test_committed_census_definition_is_current(two_offline_compiles):
    """specs/census.json is what reviewers diff; regenerate with
    `lgbm-pipeline compile specs/census.yaml > specs/census.json`."""
    assert CENSUS_JSON.read_text(encoding="utf-8") == two_offline_compiles[0].stdout


def test_no_timestamps_uuids_or_job_names(two_offline_compiles):
    text = two_offline_compiles[0].stdout
    import re

    assert not re.search(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}", text), (
        "a timestamp leaked into the definition"
    )
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text), (
        "a uuid leaked"
    )
    assert "ProcessingJobName" not in text and "HyperParameterTuningJobName" not in text
