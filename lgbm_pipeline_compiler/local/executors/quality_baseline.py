"""The builtin data-quality job's baseline lookup, done locally (for the processing executor, and
the QualityCheck executor's registry lookup).

step_scripts/data_quality_check.py given ``--model-package-group`` looks up, in AWS, the latest
Approved package's DriftCheckBaselines.ModelDataQuality with boto3. Locally the processing executor
asks the local control plane first (approved_baseline_arguments), stages the baseline found into
the job's baseline inputs as if supplied, and drops the group argument, so the job never calls
AWS. Apart from processing.py and quality.py so that neither imports the other.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from ...step_scripts import data_quality
from ..context import StepContext, StepFailed
from ..control import LocalSageMaker

GROUP_FLAG = "--model-package-group"
BASELINE_DIRS = {  # where the builtin engine's job gets a supplied baseline (compiler/steps/data_quality_builtin.py)
    "Statistics": "/opt/ml/processing/input/baseline_statistics",
    "Constraints": "/opt/ml/processing/input/baseline_constraints",
}
FILES = {"Statistics": "statistics.json", "Constraints": "constraints.json"}


def bundled_check() -> ModuleType:
    """step_scripts/data_quality_check.py, imported from the package (its lookup of the latest
    Approved baseline is the one used here). The step scripts import their modules by plain name,
    as on the job's PYTHONPATH, so the package's step_common and data_quality are registered so."""
    from ...step_scripts import step_common

    sys.modules.setdefault("step_common", step_common)
    sys.modules.setdefault("data_quality", data_quality)
    from ...step_scripts import data_quality_check

    return data_quality_check


def registry_baseline(ctx: StepContext, group: str) -> dict[str, str | None] | None:
    """The latest Approved package's ModelDataQuality baseline URIs, asked of the local control plane."""
    control = LocalSageMaker(ctx.work_dir, ctx.services.get("registry"))
    found = bundled_check().latest_approved_baseline(control, group)
    return None if found is None else {"Statistics": found["statistics"], "Constraints": found["constraints"]}


def flag_value(arguments: list[str], flag: str) -> str | None:
    """The value after ``flag`` in a job's arguments, or None."""
    i = arguments.index(flag) if flag in arguments else -1
    return arguments[i + 1] if 0 <= i < len(arguments) - 1 else None


def group_to_look_up(
    ctx: StepContext,
    arguments: list[str],
    supplied_flag: str,
    load_supplied: Callable[[Path], Any],
    errors: tuple[type[Exception], ...],
) -> tuple[list[str], str | None]:
    """A check job's arguments without ``--model-package-group`` (the runner looks the baseline up:
    the job must not call AWS), and the group when the latest Approved baseline is needed: None
    when a supplied baseline loads (or is broken: the job reports it) or on a first run (SkipCheck
    and RegisterNewBaseline both true: nothing is compared)."""
    group = flag_value(arguments, GROUP_FLAG)
    if group is None:
        return arguments, None
    i = arguments.index(GROUP_FLAG)
    arguments = arguments[:i] + arguments[i + 2 :]
    supplied = flag_value(arguments, supplied_flag)
    try:
        if supplied and load_supplied(ctx.local_path(supplied)) is not None:
            return arguments, None
    except errors:
        return arguments, None
    if all(
        (flag_value(arguments, f) or "").lower() == "true"
        for f in ("--skip-check", "--register-new-baseline")
    ):
        return arguments, None
    return arguments, group


def approved_baseline_arguments(ctx: StepContext, arguments: list[str]) -> list[str]:
    """A builtin data-quality job's arguments with its ``--model-package-group`` lookup done here,
    against the local control plane (the job must not call AWS): the baseline found is staged into
    the job's baseline inputs as if supplied. StepFailed when there is none and it is not a first
    run (the job's own message). For the processing executor, before it runs data_quality_check.py."""
    check = bundled_check()
    arguments, group = group_to_look_up(
        ctx,
        arguments,
        "--baseline-constraints",
        lambda path: check.load_document(str(path), "constraints"),
        (check.InputError,),
    )
    if group is None:
        return arguments
    found = registry_baseline(ctx, group)
    if found is None:
        raise StepFailed(check.no_baseline_message(group))
    for kind, uri in found.items():
        folder = Path(ctx.container_path(BASELINE_DIRS[kind]))
        shutil.rmtree(folder, ignore_errors=True)  # the "no baseline" placeholder
        folder.mkdir(parents=True)
        (folder / FILES[kind]).write_bytes(ctx.store.read_bytes(uri) if uri else b"{}\n")
        flag = f"--baseline-{kind.lower()}"
        if flag in arguments:
            arguments[arguments.index(flag) + 1] = BASELINE_DIRS[kind]
        else:
            arguments += [flag, BASELINE_DIRS[kind]]
    ctx.log.write(
        f"checking against the baseline {found['Constraints']} (latest Approved package in {group})\n"
    )
    return arguments
