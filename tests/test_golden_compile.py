"""Golden compile corpus: each spec compiles to exactly its committed definition (full equality).

Cases are ``tests/golden/<case>/spec.yaml`` → ``expected.json``, plus the reference pair
``specs/census.yaml`` → ``specs/census.json``. Regenerate deliberately, then read the diff::

    LGBM_REGEN_GOLDEN=1 python -m pytest tests/test_golden_compile.py -q
    git diff tests/golden specs/census.json

A new step kind or spec feature gets a case of its own here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lgbm_pipeline_compiler import load_spec, render_json
from lgbm_pipeline_compiler.compiler import compile_definition
from lgbm_pipeline_compiler.lint.requests import OPERATIONS, check_request, walk_steps

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
REGEN = os.environ.get("LGBM_REGEN_GOLDEN") == "1"

CASES = {"census": (REPO / "specs" / "census.yaml", REPO / "specs" / "census.json")} | {
    case.name: (case / "spec.yaml", case / "expected.json")
    for case in sorted(GOLDEN.iterdir())
    if (case / "spec.yaml").is_file()
}


def test_the_corpus_covers_every_documented_case():
    assert set(CASES) == {
        "census",
        "builtin_engine",
        "minimal",
        "registry_only",
        "bayesian_categorical",
        "production",
        "bundled",
        "batch_transform",
        "data_quality",
        "data_quality_builtin",
        "distributed",
        "deploy_options",
        "serverless",
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_job_step_of_a_golden_is_a_request_sagemaker_accepts(case):
    """Each golden's steps against botocore's request shapes, enums, limits and patterns."""
    import json

    definition = json.loads(CASES[case][1].read_text())
    steps = [s for s in walk_steps(definition["Steps"]) if s["Type"] in OPERATIONS]
    assert steps, case
    assert {s["Name"]: check_request(s["Type"], s["Arguments"]) for s in steps} == {
        s["Name"]: [] for s in steps
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_spec_compiles_to_its_golden_definition(case):
    spec_path, expected_path = CASES[case]
    text = render_json(compile_definition(load_spec(spec_path)).definition)
    if REGEN:
        expected_path.write_text(text)
    assert expected_path.is_file(), f"no golden for {case}: run with LGBM_REGEN_GOLDEN=1 and read the result"
    assert text == expected_path.read_text(), (
        f"{spec_path.relative_to(REPO)} no longer compiles to {expected_path.relative_to(REPO)}; if the change "
        "is intended, regenerate with LGBM_REGEN_GOLDEN=1 and review the diff"
    )
