"""Every spec in the repository is plain YAML as written and validates against the JSON Schema that
editors use (`lgbm-pipeline schema`, committed as schema/pipeline-spec.schema.json), templates and all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from lgbm_pipeline_compiler.spec.schema import spec_json_schema

if TYPE_CHECKING:
    import jsonschema

REPO = Path(__file__).resolve().parents[2]
# The specs: specs/, the golden cases, the corpus' valid base, and examples/ but for its CI recipes
# (examples/ci/ holds GitHub workflows, not specs).
COMMITTED = REPO / "schema" / "pipeline-spec.schema.json"
SPECS = sorted(
    [
        *REPO.glob("specs/*.yaml"),
        *REPO.glob("tests/golden/*/spec.yaml"),
        *(p for p in REPO.glob("examples/**/*.y*ml") if "ci" not in p.relative_to(REPO / "examples").parts),
        REPO / "tests" / "invalid" / "_base.yaml",
    ]
)


@pytest.fixture(scope="module", params=["committed", "generated"])
def validator(request) -> jsonschema.Draft202012Validator:
    import jsonschema  # here, not at collection

    schema = json.loads(COMMITTED.read_text()) if request.param == "committed" else spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_specs_are_found():
    names = {p.relative_to(REPO).as_posix() for p in SPECS}
    assert {"specs/census.yaml", "tests/golden/minimal/spec.yaml"} <= names and len(names) >= 7


@pytest.mark.parametrize("path", SPECS, ids=[p.relative_to(REPO).as_posix() for p in SPECS])
def test_spec_is_plain_yaml_and_valid_against_the_schema_as_written(path, validator):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))  # no rendering
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


def test_the_census_spec_uses_templates_where_the_schema_has_constraints(validator):
    data = yaml.safe_load((REPO / "specs" / "census.yaml").read_text(encoding="utf-8"))
    assert data["pipeline"]["name"] == "census-income-lgbm-{{ env }}"  # against the name pattern
    assert not validator.is_valid({**data, "variables": {"my-env": "x"}})  # a name is an identifier


@pytest.mark.parametrize(
    ("edit", "valid"),
    [
        (("tuning", "max_jobs", '"{{ jobs }}"'), True),  # a template where an integer goes
        (("tuning", "max_jobs", '"twenty"'), False),  # a string that is no template: still refused
        (("quality_gate", "threshold", '"{{ t }}"'), True),
        (("quality_gate", "threshold", "{a: 1}"), False),
        (("pipeline", "name", "census_{{ env }}"), True),
        (("pipeline", "name", "census_lgbm"), False),  # the name pattern still applies without a template
        (("tuning", "strategy", '"{{ s }}"'), True),  # an enum
        (("tuning", "strategy", "Randomly"), False),
    ],
)
def test_a_template_is_allowed_only_where_a_template_is_written(edit, valid, validator):
    section, key, value = edit
    data = yaml.safe_load((REPO / "tests" / "invalid" / "_base.yaml").read_text(encoding="utf-8"))
    data[section][key] = yaml.safe_load(f"v: {value}")["v"]
    assert validator.is_valid(data) is valid


def test_the_schema_describes_variables():
    variables = spec_json_schema()["properties"]["variables"]
    assert variables["additionalProperties"] is False
    assert list(variables["patternProperties"]) == ["^[A-Za-z][A-Za-z0-9_]*$"]
    assert "--var" in variables["description"]
