"""Specs whose hyperparameters the linter's train.py table (E3004) used to catch after compiling are
now refused earlier, by the spec checks against LightGBM's own domains (issue 15): `validate --deep`
stops at the spec with one located line and exit 2, before anything is compiled."""

from __future__ import annotations

from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main

REPO = Path(__file__).resolve().parents[2]
FOLDER = "tests/lint/spec_stage"
EXPECTED = {
    "spec_continuous_range_on_integer.yaml": "25:24: tuning.ranges.num_leaves.type: num_leaves takes an integer in (1, 131072], but a continuous range samples fractions: use type: integer",
    "spec_range_outside_bounds.yaml": "25:57: tuning.ranges.feature_fraction.max: feature_fraction takes a number in (0, 1]; 1.5 is above the range: keep the range inside it",
    "spec_static_value_outside_bounds.yaml": "17:23: training.hyperparameters.bagging_fraction: bagging_fraction takes a number in (0, 1]; 0 is below the range: change it",
}


def test_every_case_is_listed():
    assert sorted(p.name for p in (REPO / FOLDER).glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_the_spec_check_refuses_it_before_compiling(case, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    code = main(["validate", f"{FOLDER}/{case}", "--deep"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"{FOLDER}/{case}:{EXPECTED[case]}"]
