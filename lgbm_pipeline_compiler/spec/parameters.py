"""`parameters:` — spec values exposed as SageMaker pipeline parameters (name → dotted spec path)."""

from __future__ import annotations

from typing import Literal

ParameterType = Literal["String", "Integer", "Float", "Boolean"]

# Spec paths that may be exposed, with the SageMaker parameter type each becomes.
EXPOSABLE: dict[str, ParameterType] = {
    "data.input": "String",
    "preprocessing.instance_type": "String",
    "preprocessing.instance_count": "Integer",
    "training.instance_type": "String",
    "training.instance_count": "Integer",
    "evaluation.instance_type": "String",
    "clarify.instance_type": "String",
    "clarify.instance_count": "Integer",
    "clarify.bias.baseline.skip_check": "Boolean",
    "clarify.bias.baseline.register_new_baseline": "Boolean",
    "clarify.bias.baseline.supplied_constraints": "String",
    "clarify.explainability.baseline.skip_check": "Boolean",
    "clarify.explainability.baseline.register_new_baseline": "Boolean",
    "clarify.explainability.baseline.supplied_constraints": "String",
    "data_quality.instance_type": "String",
    "data_quality.instance_count": "Integer",
    "data_quality.baseline.skip_check": "Boolean",
    "data_quality.baseline.register_new_baseline": "Boolean",
    "data_quality.baseline.supplied_statistics": "String",
    "data_quality.baseline.supplied_constraints": "String",
    "registry.approval_status": "String",
    "quality_gate.threshold": "Float",
    "deploy.instance_type": "String",
    "deploy.instance_count": "Integer",
    "batch_transform.instance_type": "String",
    "batch_transform.instance_count": "Integer",
}

PARAMETER_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,255}$"
