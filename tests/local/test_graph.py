"""The step graph orders dependencies first and puts branch steps after their condition."""

from __future__ import annotations

import pytest

from lgbm_pipeline_compiler.local.graph import build_graph


def test_census_graph_order(census_compiled):
    names = [n.name for n in build_graph(census_compiled.definition)]
    assert names.index("Preprocess") < names.index("Tune") < names.index("LightGBMModel-CreateModel")
    assert (
        names.index("Evaluate")
        < names.index("F1Gate")
        < names.index("Register-RegisterModel")
        < names.index("Deploy")
    )
    nodes = {n.name: n for n in build_graph(census_compiled.definition)}
    assert nodes["Deploy"].branch_of == ("F1Gate", "IfSteps")
    assert {"ModelBiasCheck", "ModelExplainabilityCheck"} <= nodes["F1Gate"].depends


def test_unknown_reference_and_cycle_are_errors():
    with pytest.raises(ValueError, match="unknown steps: Ghost"):
        build_graph(
            {"Steps": [{"Name": "A", "Type": "Processing", "Arguments": {"X": {"Get": "Steps.Ghost.Y"}}}]}
        )
    cycle = [
        {"Name": "A", "Type": "Processing", "DependsOn": ["B"], "Arguments": {}},
        {"Name": "B", "Type": "Processing", "DependsOn": ["A"], "Arguments": {}},
    ]
    with pytest.raises(ValueError, match="cycle"):
        build_graph({"Steps": cycle})
