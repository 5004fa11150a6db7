"""Hyperparameter names: which ones SageMaker and the training script reserve, and SageMaker's limits.

A training job passes every hyperparameter to the script as ``--name value``. Some names are not
the user's to set:

- ``sagemaker_*``: the SageMaker training toolkit splits every name with that prefix, and the names
  in its ``SAGEMAKER_HYPERPARAMETERS`` (which add ``_tuning_objective_metric`` and
  ``default_user_module_name``), out of the user's hyperparameters (sagemaker-training-toolkit
  ``params.py`` and ``environment.py``: ``mapping.split_by_criteria(..., keys=
  SAGEMAKER_HYPERPARAMETERS, prefix=SAGEMAKER_PREFIX)``); the SDK's script mode overwrites
  ``sagemaker_program``, ``sagemaker_submit_directory``, ``sagemaker_container_log_level``,
  ``sagemaker_job_name`` and ``sagemaker_region`` (``EstimatorBase._script_mode_hyperparam_update``),
  and tuning jobs add ``_tuning_objective_metric`` to every trial. A value set there is dropped.
- the paths train.py takes as arguments (``--train``, ``--validation``, ``--model-dir`` /
  ``--model_dir``, ``--output-data-dir`` / ``--output_data_dir``; step_scripts/train.py
  ``build_parser``): as hyperparameters they would point the trial at other data or make it write
  its model outside the job's directories.
- ``help`` and ``h``: argparse's ``--help`` / ``-h`` (the toolkit passes one-letter names as
  ``-x``) print the usage and exit 0, so the trial "succeeds" without a model.

A name must also read as one command-line option: a letter or ``_`` first, then letters, digits,
``_``, ``-`` and ``.`` (``--a=b`` or a name with a space would be parsed as another option).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

TOOLKIT_PREFIX = "sagemaker_"
TOOLKIT_NAMES = ("_tuning_objective_metric", "default_user_module_name")
SCRIPT_PATHS = ("train", "validation", "model_dir", "output_data_dir")
ARGPARSE_HELP = ("help", "h")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

# SageMaker limits (botocore sagemaker service-2.json and the "Define Hyperparameter Ranges" guide):
# HyperParameterKey ≤ 256 characters, HyperParameterValue ≤ 2500; at most 100 hyperparameters in a
# job, static + tuned, counting the 5 sagemaker_* names script mode adds and the
# _tuning_objective_metric that tuning adds; at most 30 tuned ranges in all (ParameterRanges).
MAX_NAME = 256
MAX_VALUE = 2500
MAX_TOTAL = 100
ADDED_BY_SAGEMAKER = 6
MAX_RANGES = 30


def _normal(name: str) -> str:
    return name.lower().replace("-", "_")


def reserved_reason(name: str) -> str | None:
    """Why ``name`` cannot be a hyperparameter of this pipeline, or None."""
    normal = _normal(name)
    if normal.startswith(TOOLKIT_PREFIX):
        return "names starting with sagemaker_ belong to SageMaker: the training toolkit drops them before the script runs"
    if normal in TOOLKIT_NAMES:
        return f"{name!r} is set by SageMaker itself (the training toolkit's own hyperparameter), so a value here is dropped"
    if normal in SCRIPT_PATHS:
        option = "--" + normal.replace("_", "-")
        return (
            f"{option} is a directory train.py reads or writes, which SageMaker sets for every job; as a "
            "hyperparameter it would make trials read or write outside their job directories"
        )
    if normal in ARGPARSE_HELP:
        return "--help makes train.py print its usage and exit without training"
    return None


def check_name(name: str) -> str:
    """A hyperparameter name (a key of training.hyperparameters or tuning.ranges)."""
    if len(name) > MAX_NAME:
        raise PydanticCustomError(
            "hyperparameter_name",
            "hyperparameter name is {length} characters; SageMaker allows at most 256",
            {"length": len(name)},
        )
    if not NAME.fullmatch(name):
        raise PydanticCustomError(
            "hyperparameter_name",
            "{name} is not a hyperparameter name: each name reaches train.py as one option --name, so "
            "write a letter first, then letters, digits, _, - or .",
            {"name": repr(name) if len(name) <= 60 else repr(name[:57] + "...")},
        )
    reason = reserved_reason(name)
    if reason is not None:
        raise PydanticCustomError(
            "hyperparameter_reserved",
            "{shown} is reserved: {reason}; remove it",
            {"shown": repr(name), "reason": reason},
        )
    return name


HyperparameterName = Annotated[str, AfterValidator(check_name)]
