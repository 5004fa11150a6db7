"""A spec with checks but no `registry`: the checks have no model package group to look baselines up
in, and the definition says so by leaving the field out (the SDK writes null, which AWS's schema
does not allow for ModelPackageGroupName)."""

from __future__ import annotations

import pytest
from spec_edits import strip_section

from lgbm_pipeline_compiler import load_spec
from lgbm_pipeline_compiler.compiler import compile_definition
from lgbm_pipeline_compiler.lint.engine import lint_definition
from lgbm_pipeline_compiler.lint.requests import walk_steps

CHECKS = {"ModelBiasCheck", "ModelExplainabilityCheck", "DataQualityCheck"}


@pytest.fixture(scope="module")
def compiled(repo, tmp_path_factory):
    text = (repo / "specs" / "census.yaml").read_text()
    for section in ("batch_transform", "deploy", "registry"):
        text = strip_section(text, section)
    text = "\n".join(line for line in text.splitlines() if "registry.approval_status" not in line)
    spec = tmp_path_factory.mktemp("no-registry") / "census.yaml"
    spec.write_text(text)
    loaded = load_spec(spec)
    return spec, loaded, compile_definition(loaded)


@pytest.fixture(scope="module")
def definition(compiled) -> dict:
    return compiled[2].definition


def test_checks_without_a_registry_carry_no_null_group(definition):
    checks = {s["Name"]: s for s in walk_steps(definition["Steps"]) if s["Name"] in CHECKS}
    assert set(checks) == CHECKS
    for step in checks.values():
        assert "ModelPackageGroupName" not in step
        assert None not in step.values()


def test_the_definition_lints_clean_and_its_policy_names_no_group(compiled, definition):
    from lgbm_pipeline_compiler.ship.iam import execution_role_policy  # here: it imports boto3
    from lgbm_pipeline_compiler.ship.target import Target

    errors = [f for f in lint_definition(definition) if f.code.startswith("E")]
    assert errors == []
    spec_path, spec, result = compiled
    policy = execution_role_policy(Target(str(spec_path), spec, result, spec.pipeline.role_arn))
    assert "model-package-group" not in str(policy)
