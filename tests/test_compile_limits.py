"""Compile never emits a request SageMaker would refuse: long values travel in config artifacts, and
a spec value over an API limit is a compile error naming the spec key."""

from __future__ import annotations

import json

import pytest

from lgbm_pipeline_compiler import load_spec
from lgbm_pipeline_compiler.compiler import compile_definition
from lgbm_pipeline_compiler.errors import CompileError
from lgbm_pipeline_compiler.lint.requests import check_request, walk_steps

from .test_golden_compile import GOLDEN

COLUMNS = [f"feature_with_a_long_descriptive_name_{i:02d}" for i in range(41)] + ["label"]


def wide_spec_text() -> str:
    """A 42-column headerless spec with a bias check on one of the columns."""
    text = (GOLDEN / "builtin_engine" / "spec.yaml").read_text()
    start, end = text.index("data:\n"), text.index("\npreprocessing:")
    data = (
        "data:\n"
        "  input: [part-1.csv, part-2.csv, part-3.csv]\n"
        "  target_column: label\n"
        "  positive_class: [yes, 'yes.']\n"
        "  header: false\n"
        f"  columns: {json.dumps(COLUMNS)}\n"
        "  categorical_columns: auto\n"
        f"  drop_columns: {json.dumps(COLUMNS[30:40])}\n"
        "  split: {train: 0.8, validation: 0.1, test: 0.1}\n"
    )
    text = text[:start] + data + text[end:]
    text = text.replace("facet_name: Sex", f"facet_name: {COLUMNS[3]}").replace(
        "facet_values: [Female]", "facet_values: [a]"
    )
    return "\n".join(line for line in text.splitlines() if "InputDataUrl" not in line) + "\n"


def test_a_42_column_headerless_spec_compiles_to_requests_within_every_limit(tmp_path):
    path = tmp_path / "wide.yaml"
    path.write_text(wide_spec_text())
    definition = compile_definition(load_spec(path)).definition  # compile refuses a bad request itself
    steps = list(walk_steps(definition["Steps"]))
    assert {s["Name"]: check_request(s["Type"], s.get("Arguments")) for s in steps} == {
        s["Name"]: [] for s in steps
    }
    for step in steps:
        for argument in step.get("Arguments", {}).get("AppSpecification", {}).get("ContainerArguments", []):
            assert not isinstance(argument, str) or len(argument) <= 256, (step["Name"], argument[:80])
    assert COLUMNS[0] not in json.dumps(
        steps[0]["Arguments"]["AppSpecification"]
    )  # the columns are in the config


def test_a_spec_value_over_an_api_limit_is_a_compile_error_naming_the_spec_key(tmp_path):
    text = (GOLDEN / "registry_only" / "spec.yaml").read_text()
    description = "d" * 1100  # CreateModelPackage ModelPackageDescription: at most 1024 characters
    text = text.replace(
        "  model_package_group: census-income-lgbm\n",
        f"  model_package_group: census-income-lgbm\n  description: {description}\n",
    )
    path = tmp_path / "long.yaml"
    path.write_text(text)
    with pytest.raises(CompileError) as caught:
        compile_definition(load_spec(path))
    assert str(caught.value) == (
        "the definition has requests SageMaker would refuse:\n  step Register-RegisterModel: Value '"
        + "d" * 60
        + "…(1100 characters)' at 'modelPackageDescription' failed to satisfy constraint: Member must have "
        "length less than or equal to 1024 (spec: registry.description)"
    )
