"""Checks that span sections, run after each section validated on its own.

Each check yields (location, message) so the loader can point at the offending YAML node.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator

from pydantic_core import PydanticCustomError

from ..errors import Loc
from .aws import lambda_partition_and_region, partitions, role_partition
from .hyperparameters import ADDED_BY_SAGEMAKER, MAX_TOTAL, MAX_VALUE
from .lightgbm import describe, domain_of
from .messages import printable
from .objective import train_log_problem
from .parameters import EXPOSABLE
from .production import PRODUCTION_CHECKS
from .root import PipelineSpec
from .scripts import SCRIPT_FIELDS, bundled_names, override_problem, path_problem
from .tuning import CategoricalRange, ContinuousRange
from .types import _check_s3

Problem = tuple[Loc, str]


def _unknown_column(name: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(name, columns, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; columns are: {', '.join(columns)}"
    return f"column {name!r} is not in data.columns{hint}"


def check_data(spec: PipelineSpec) -> Iterator[Problem]:
    data = spec.data
    if not data.header and not data.columns:
        yield ("data", "header"), "a CSV without a header needs `columns` (the column names in file order)"
    for i, name in enumerate(data.drop_columns):
        if name == data.target_column:
            yield ("data", "drop_columns", i), f"target column {name!r} is in drop_columns"
    for i, item in enumerate(data.inputs):
        loc: Loc = ("data", "input", i) if isinstance(data.input, list) else ("data", "input")
        if "://" not in item and spec.storage.read is None:
            yield loc, f"{item!r} is relative but storage.read is not set; give a full s3:// URI"
            continue
        try:
            _check_s3(item if "://" in item else spec.resolve_input(item))
        except PydanticCustomError as err:
            yield loc, err.message()
    if data.columns is None:
        return
    named: list[tuple[Loc, str]] = [(("data", "target_column"), data.target_column)]
    named += [(("data", "drop_columns", i), c) for i, c in enumerate(data.drop_columns)]
    if isinstance(data.categorical_columns, list):
        named += [(("data", "categorical_columns", i), c) for i, c in enumerate(data.categorical_columns)]
    for loc, name in named:
        if name not in data.columns:
            yield loc, _unknown_column(name, data.columns)


def check_clarify(spec: PipelineSpec) -> Iterator[Problem]:
    clarify = spec.clarify
    if clarify is None:
        return
    if clarify.bias is None and clarify.explainability is None:
        yield ("clarify",), "clarify needs a `bias` or an `explainability` section (or remove `clarify`)"
    if spec.data.columns is None:
        yield (
            ("clarify",),
            "clarify needs data.columns (the input's column names, in order) for the dataset headers",
        )
        return
    features = spec.data.feature_columns or []
    if clarify.bias is None:
        return
    for key in ("facet_name", "group_name"):
        name = getattr(clarify.bias, key)
        if name is None or name in features:
            continue
        if name in spec.data.drop_columns:
            yield (
                ("clarify", "bias", key),
                f"column {name!r} is in data.drop_columns; the bias check needs it",
            )
        elif name == spec.data.target_column:
            yield ("clarify", "bias", key), f"{name!r} is the target column, not a facet"
        else:
            yield ("clarify", "bias", key), _unknown_column(name, spec.data.columns)


def check_tuning(spec: PipelineSpec) -> Iterator[Problem]:
    for name in spec.tuning.ranges:
        if name in spec.training.hyperparameters:
            yield (
                ("tuning", "ranges", name),
                f"{name!r} is both tuned and a static training hyperparameter; remove it from one of them",
            )


def _static_text(value: object) -> str:
    """A static hyperparameter as the job receives it (the compiler's hyperparameter_value)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def check_hyperparameters(spec: PipelineSpec) -> Iterator[Problem]:
    static, ranges = spec.training.hyperparameters, spec.tuning.ranges
    total = len(static) + len(ranges) + ADDED_BY_SAGEMAKER
    if total > MAX_TOTAL:
        yield (
            ("training", "hyperparameters"),
            f"{len(static)} static + {len(ranges)} tuned hyperparameters + the {ADDED_BY_SAGEMAKER} SageMaker "
            f"adds make {total}; a tuning job takes at most {MAX_TOTAL}: drop "
            f"{total - MAX_TOTAL} static ones",
        )
    for name, value in static.items():
        # The SDK JSON-encodes static values; HyperParameterValue is at most 2500 characters.
        size = len(json.dumps(_static_text(value)))
        if size > MAX_VALUE:
            yield (
                ("training", "hyperparameters", name),
                f"the value is {size} characters as SageMaker stores it; hyperparameter values are at most {MAX_VALUE}",
            )


def check_lightgbm_domains(spec: PipelineSpec) -> Iterator[Problem]:
    """Static values and tuning ranges within LightGBM's documented constraints."""
    for name, value in spec.training.hyperparameters.items():
        domain = domain_of(name)
        problem = domain.problem(value) if domain else None
        if domain and problem:
            yield ("training", "hyperparameters", name), f"{describe(name, domain)}; {problem}: change it"
    for name, item in spec.tuning.ranges.items():
        domain = domain_of(name)
        if domain is None:
            continue
        if isinstance(item, ContinuousRange) and domain.integer:
            yield (
                ("tuning", "ranges", name, "type"),
                f"{describe(name, domain)}, but a continuous range samples fractions: use type: integer",
            )
            continue
        if isinstance(item, CategoricalRange):
            bounds: list[tuple[Loc, object]] = [
                (("tuning", "ranges", name, "values", i), v) for i, v in enumerate(item.values)
            ]
        else:
            bounds = [(("tuning", "ranges", name, end), getattr(item, end)) for end in ("min", "max")]
        for loc, value in bounds:
            problem = domain.problem(value)
            if problem:
                yield loc, f"{describe(name, domain)}; {problem}: keep the range inside it"


def check_objective(spec: PipelineSpec) -> Iterator[Problem]:
    """The objective regex against the lines the bundled train.py prints (when it is the entry point)."""
    if spec.training.entry_point != "train.py" or os.path.lexists(os.path.join(spec.source_dir, "train.py")):
        return
    problem = train_log_problem(spec.tuning.objective.regex)
    if problem:
        yield ("tuning", "objective", "regex"), problem


def check_scripts(spec: PipelineSpec) -> Iterator[Problem]:
    """Every script compile would ship is a regular file inside the spec's directory, or bundled."""
    named = set()
    for section, field in SCRIPT_FIELDS:
        name = getattr(getattr(spec, section), field)
        named.add(name)
        problem = path_problem(name, spec.source_dir)
        if problem:
            yield (section, field), problem
    for name in sorted(bundled_names() - named - {"__init__.py"}):
        problem = override_problem(name, spec.source_dir)
        if problem:
            yield (), problem


def check_partitions(spec: PipelineSpec) -> Iterator[Problem]:
    """The role's and the deploy Lambda's partition is the partition of pipeline.region."""
    region = spec.pipeline.region
    home = partitions().partition_of(region)
    role = role_partition(spec.pipeline.role_arn)
    if home and role and role != home:
        yield (
            ("pipeline", "role_arn"),
            f"the role is in partition {role}, but pipeline.region {region} is in {home}; "
            f"use arn:{home}:iam::... (a role of {region}'s partition) or a region of {role}",
        )
    if spec.deploy is not None:
        partition, lambda_region = lambda_partition_and_region(spec.deploy.lambda_arn)
        if home and partition and partition != home:
            yield (
                ("deploy", "lambda_arn"),
                f"the function is in partition {partition} ({lambda_region}), but pipeline.region {region} "
                f"is in {home}; a pipeline cannot invoke a Lambda of another partition: deploy it in {home}",
            )


def check_gate(spec: PipelineSpec) -> Iterator[Problem]:
    if spec.quality_gate.metric not in spec.evaluation.metrics:
        yield (
            ("quality_gate", "metric"),
            f"the gate reads {spec.quality_gate.metric!r}, which evaluation.metrics does not report; add it there",
        )


def check_deploy(spec: PipelineSpec) -> Iterator[Problem]:
    if spec.deploy is not None and spec.registry is None:
        yield (
            ("deploy",),
            "deploy needs a `registry` section: the Lambda deploys the registered model package",
        )


def check_batch_transform(spec: PipelineSpec) -> Iterator[Problem]:
    if spec.batch_transform is not None and spec.registry is None:
        yield (
            ("batch_transform",),
            "batch_transform needs a `registry` section: it scores with the model that was registered",
        )


SERVERLESS_ABSENT = ("deploy.instance_type", "deploy.instance_count")
"""Exposable paths a serverless endpoint does not have (the Deploy step passes no instance fields)."""


def check_parameters(spec: PipelineSpec) -> Iterator[Problem]:
    seen: dict[str, str] = {}
    for name, path in spec.parameters.items():
        loc: Loc = ("parameters", name)
        if path not in EXPOSABLE:
            close = difflib.get_close_matches(path, list(EXPOSABLE), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"exposable paths: {', '.join(EXPOSABLE)}"
            yield loc, f"{path!r} cannot be a pipeline parameter; {hint}"
            continue
        if path == "data.input" and len(spec.data.inputs) > 1:
            yield (
                loc,
                "'data.input' lists several files, so it cannot be one String parameter; expose it only with one input (a prefix ending in / reads several files)",
            )
            continue
        if path in SERVERLESS_ABSENT and spec.deploy is not None and spec.deploy.serverless is not None:
            yield (
                loc,
                f"{path} cannot be a parameter of a serverless endpoint (deploy.serverless has no instances); "
                "remove the parameter",
            )
            continue
        if path in seen:
            yield loc, f"{path!r} is already exposed as {seen[path]!r}"
            continue
        seen[path] = name
        try:
            spec.value_at(path)
        except AttributeError:
            parts = path.split(".")
            missing = next(
                ".".join(parts[: i + 1]) for i in range(len(parts)) if _absent(spec, parts[: i + 1])
            )
            yield loc, f"{path!r} is exposed but `{missing}` is not in the spec"


def check_distributed(spec: PipelineSpec) -> Iterator[Problem]:
    """Several training instances only with data-parallel training, and what that needs."""
    training = spec.training
    count, distributed = training.instance_count, training.distributed
    if distributed is None:
        if count > 1:
            yield (
                ("training", "instance_count"),
                f"instance_count {count}: without training.distributed, train.py trains the same full "
                f"model on every instance, so {count} instances would pay for {count} identical "
                "trainings; use 1, or add `distributed: {strategy: data_parallel}` to split the "
                "training data across them",
            )
        return
    if count < 2:
        yield (
            ("training", "distributed"),
            f"data-parallel training needs training.instance_count >= 2 (got {count}); raise "
            "instance_count or remove `distributed`",
        )
    elif distributed.shards is not None and distributed.shards < count:
        yield (
            ("training", "distributed", "shards"),
            f"shards {distributed.shards} < instance_count {count}: ShardedByS3Key gives each "
            f"instance whole files, so an instance would get no training data; use shards >= {count}",
        )
    if training.spot is not None:
        yield (
            ("training", "spot"),
            "managed spot training with training.distributed is not supported: train.py resumes "
            "one instance's checkpoint, not a cluster's; remove `spot` or `distributed`",
        )
    for name, path in spec.parameters.items():
        if path == "training.instance_count":
            yield (
                ("parameters", name),
                "'training.instance_count' cannot be a pipeline parameter with training.distributed: "
                "preprocessing writes the train split as training.distributed.shards files at compile "
                "time, and more instances than files leave one without data; remove the parameter",
            )


def _absent(spec: PipelineSpec, parts: list[str]) -> bool:
    try:
        return spec.value_at(".".join(parts)) is None
    except AttributeError:
        return True


CHECKS = (
    check_partitions,
    check_data,
    check_scripts,
    check_clarify,
    check_tuning,
    check_hyperparameters,
    check_lightgbm_domains,
    check_objective,
    check_gate,
    check_deploy,
    check_batch_transform,
    check_parameters,
    check_distributed,
    *PRODUCTION_CHECKS,
)


def cross_check(spec: PipelineSpec) -> list[Problem]:
    """Every cross-section problem in the spec."""
    return [(loc, printable(message)) for check in CHECKS for loc, message in check(spec)]
