"""Helpers for the step-script tests (a plain module: conftest.py is not importable by name).

Running scripts in container layouts is tests/step_jobs.py's, shared with the other suites.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import botocore.session
import pandas as pd
from step_jobs import SCRIPTS

SCRIPT_NAMES = ("preprocessing", "train", "evaluate", "inference", "deploy_endpoint")
MODULE_NAMES = (*SCRIPT_NAMES, "step_common", "cluster", "deploy_variants", "deploy_scaling")
"""The scripts and the module they share, all held to the container's rules."""
SOURCES = {name: (SCRIPTS / f"{name}.py").read_text() for name in MODULE_NAMES}


@functools.cache
def botocore_session() -> botocore.session.Session:
    """One botocore session per test process: a service model it loads (SageMaker's is several MB
    of JSON, ~0.5 s to parse) is parsed once; each test makes its own clients (and Stubbers) from it."""
    return botocore.session.get_session()


def assert_clean_failure(result: subprocess.CompletedProcess, prog: str, *fragments: str) -> str:
    """Non-zero exit, exactly one stderr line ``<prog>: error: ...`` holding every fragment, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def read_split(csv: Path, schema: dict, nrows: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A split CSV read the way the scripts document it, with plain pandas (independent of
    step_common): the raw frame, and the model input (categoricals with the schema levels)."""
    frame = pd.read_csv(
        csv, dtype={c: str for c in schema["categorical"]}, keep_default_na=False, na_values=[""], nrows=nrows
    )
    features = pd.DataFrame(
        {
            c: pd.Categorical(frame[c], categories=schema["categorical"][c])
            if c in schema["categorical"]
            else frame[c].astype("float64")
            for c in schema["features"]
        }
    )
    return frame, features
