"""`plan`: what a deploy would change, read from AWS and changing nothing."""

from __future__ import annotations

import pytest
from ship.account import FUNCTION, PIPELINE, SHIP_SPEC
from test_deploy import deploy

from lgbm_pipeline_compiler.ship.plan import make_plan, render_plan

pytestmark = pytest.mark.xdist_group("ship-targets")


def test_plan_for_a_changed_spec_names_the_changed_fields(recorded, ship_target, field_changed_target):
    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()

    text = render_plan(aws, make_plan(aws, field_changed_target))

    lines = text.splitlines()
    assert rec.changes() == []
    assert lines[1] == "uploads: 0 of 15 artifacts (all already in S3 with the same hash)"
    assert f"  function {FUNCTION}: no change" in lines
    assert f"~ pipeline {PIPELINE}: definition" in lines
    assert f"--- deployed {PIPELINE}" in lines and f"+++ {field_changed_target.spec_path}" in lines
    assert (
        "  ~ tuning.max_jobs: 4 → 6 (Tune: HyperParameterTuningJobConfig.ResourceLimits.MaxNumberOfTrainingJobs)"
        in lines
    )
    assert "no change" not in lines


def test_plan_for_a_changed_script_lists_its_upload_and_diffs_it_against_s3(
    recorded, ship_target, script_changed_target
):
    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()

    text = render_plan(aws, make_plan(aws, script_changed_target))

    (new_uri,) = set(script_changed_target.compiled.artifacts) - set(ship_target.compiled.artifacts)
    lines = text.splitlines()
    assert lines[1] == "uploads: 1 of 15 artifacts"
    assert (
        lines[2] == f"  + {new_uri} ({len(script_changed_target.compiled.artifacts[new_uri].data):,} bytes)"
    )
    assert "      +# a reviewed change" in lines  # the deployed bytes, read back from S3, diffed
    assert rec.changes() == []
    assert "s3:GetObject" in rec.operations()


def test_plan_before_the_first_deploy_lists_everything(recorded, ship_target):
    aws, rec = recorded
    text = render_plan(aws, make_plan(aws, ship_target))
    lines = text.splitlines()
    assert lines[0] == f"plan for pipeline {PIPELINE} in us-east-1:"
    assert lines[1] == "uploads: 15 of 15 artifacts"
    assert sum(1 for line in lines if line.startswith("  + s3://")) == 15
    assert lines[-2].startswith(f"+ create function {FUNCTION} (python3.12, 120 s, 256 MB, role ")
    assert lines[-1] == (
        f"+ create pipeline {PIPELINE} (role arn:aws:iam::123456789012:role/SageMakerExecutionRole; "
        "tags environment=dev, project=census-income)"
    )
    assert rec.changes() == []


def test_plan_command_after_a_deploy_says_no_change(recorded, ship_target, capsys):
    from lgbm_pipeline_compiler.cli import main

    aws, rec = recorded
    deploy(aws, ship_target)
    rec.clear()

    code = main(["plan", str(SHIP_SPEC)])

    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[-1] == "no change"
    assert rec.changes() == []
