"""The first run of a pipeline with checks: which parameters establish the first baselines.

ClarifyCheckStep's documentation: with SkipCheck False, "the previous baseline of the configured
check type must be available" — on a pipeline's first execution there is none, so each check must
run with SkipCheck=True and RegisterNewBaseline=True (as the SageMaker examples do); QualityCheckStep
follows the same lifecycle ("Baseline calculation, drift detection and lifecycle with ClarifyCheck
and QualityCheck steps", SageMaker Developer Guide). This module reads those parameters from a
definition: the ClarifyCheck and QualityCheck steps' SkipCheck/RegisterNewBaseline, and the
builtin engines' --skip-check/--register-new-baseline job arguments.
"""

from __future__ import annotations

from typing import Any

from ..lint.requests import walk_steps

CHECK_FIELDS = ("SkipCheck", "RegisterNewBaseline")
CHECK_FLAGS = ("--skip-check", "--register-new-baseline")


class FirstRunError(ValueError):
    """A check's baseline switches are fixed in the definition, so no parameter can set them."""


def _parameter(value: Any) -> str | None:
    """The parameter a value reads: {"Get": "Parameters.X"}, or a Std:Join of only that."""
    if isinstance(value, dict) and "Std:Join" in value:
        values = value["Std:Join"].get("Values", [])
        return _parameter(values[0]) if len(values) == 1 else None
    if (
        isinstance(value, dict)
        and isinstance(value.get("Get"), str)
        and value["Get"].startswith("Parameters.")
    ):
        return value["Get"].removeprefix("Parameters.")
    return None


def _switches(step: dict[str, Any]) -> dict[str, Any]:
    """{switch: value} of a check step (ClarifyCheck fields, or the builtin engine's arguments)."""
    if step["Type"] in ("ClarifyCheck", "QualityCheck"):
        return {name: step.get(name) for name in CHECK_FIELDS}
    arguments = step.get("Arguments", {}).get("AppSpecification", {}).get("ContainerArguments", [])
    flags = {}
    for flag, name in zip(CHECK_FLAGS, CHECK_FIELDS, strict=True):
        if flag in arguments and arguments.index(flag) + 1 < len(arguments):
            flags[name] = arguments[arguments.index(flag) + 1]
    return flags if len(flags) == len(CHECK_FIELDS) else {}


def first_run_parameters(definition: dict[str, Any]) -> dict[str, str]:
    """{parameter: "true"} for every check's skip and register-new-baseline switch.

    Raises FirstRunError naming the step when a switch is a literal false (expose it under the
    spec's `parameters:` so one execution can set it), and when the pipeline has no checks.
    """
    found: dict[str, str] = {}
    checks = 0
    for step in walk_steps(definition["Steps"]):
        switches = _switches(step)
        checks += bool(switches)
        for name, value in switches.items():
            parameter = _parameter(value)
            if parameter is not None:
                found[parameter] = "true"
            elif str(value).lower() != "true":
                section = "data_quality" if step["Name"] == "DataQualityCheck" else "clarify.<check>"
                raise FirstRunError(
                    f"step {step['Name']}: {name} is fixed to {value!r} in the definition, so a first run "
                    f"cannot set it; expose {section}.baseline.{_spec_key(name)} under `parameters:`"
                )
    if not checks:
        raise FirstRunError(
            "the pipeline has no Clarify or data quality checks: a first run needs no baseline switches"
        )
    return dict(sorted(found.items()))


def _spec_key(field: str) -> str:
    return {"SkipCheck": "skip_check", "RegisterNewBaseline": "register_new_baseline"}[field]


def start_execution_command(pipeline_name: str, parameters: dict[str, str]) -> str:
    """The AWS CLI line that starts the first execution in SageMaker with the same parameters."""
    pairs = " ".join(f"Name={name},Value={value}" for name, value in parameters.items())
    return f"aws sagemaker start-pipeline-execution --pipeline-name {pipeline_name} --pipeline-parameters {pairs}"


def _step_class(step: dict[str, Any]) -> str:
    return "QualityCheckStep" if step.get("Type") == "QualityCheck" else "ClarifyCheckStep"


def no_baseline_message(step: dict[str, Any], group: str | None) -> str:
    """Why a check with no previous baseline fails, and the parameters that establish one."""
    where = (
        f"no Approved package in model package group {group} has one" if group else "no model package group"
    )
    switches = []
    for name in CHECK_FIELDS:
        parameter = _parameter(step.get(name))
        switches.append(f"{parameter}=true" if parameter else f"{name}=true")
    return (
        f"no {step.get('CheckType', 'check')} baseline: none supplied (SuppliedBaselineConstraints) and {where}. "
        f"{_step_class(step)} needs the previous baseline unless SkipCheck and RegisterNewBaseline are both true; "
        f"for a first run set {' and '.join(switches)} (locally: lgbm-pipeline run --local --first-run)"
    )
