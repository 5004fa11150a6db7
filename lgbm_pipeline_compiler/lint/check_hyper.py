"""Rules E3xxx: hyperparameters are ones the training script accepts.

A script-mode job names its entry point (``sagemaker_program``) and its code
(``sagemaker_submit_directory``, a sourcedir.tar.gz). When that artifact is at hand (a compiled
spec, or a definition with its compile manifest), the entry point is read with ``ast`` (never run)
for a module-level ``HYPERPARAMETERS`` dict; its keys are the names the script accepts. When its
values are ``(number(kind, low, high), default)`` as in the bundled train.py, static values and
tuning ranges are checked against those bounds too. Without the artifact or a table: info I3003.
"""

from __future__ import annotations

import ast
import io
import json
import tarfile
from collections.abc import Iterator
from typing import Any

from .document import Document, StepRef
from .hints import did_you_mean
from .rules import LintFinding

SAGEMAKER_OWN = ("sagemaker_", "_tuning_objective_metric")
RANGE_KINDS = {
    "IntegerParameterRanges": "integer",
    "ContinuousParameterRanges": "continuous",
    "CategoricalParameterRanges": "categorical",
}


class Table:
    """A script's declared hyperparameters: name → (kind, low, high, low_open) or None (unknown)."""

    def __init__(self, script: str, entries: dict[str, tuple[str, float | None, float | None, bool] | None]):
        self.script = script
        self.entries = entries


def unquote(value: Any) -> Any:
    """SageMaker's JSON quoting of hyperparameter values (``"\\"50\\""`` → ``50``)."""
    while isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def _bounds(node: ast.expr) -> tuple[str, float | None, float | None, bool] | None:
    """``(number(int, 1), 1000)`` → ("int", 1, None, False); anything else: None."""
    if isinstance(node, ast.Tuple) and node.elts:
        node = node.elts[0]
    if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "number" and node.args):
        return None
    kind = getattr(node.args[0], "id", None)
    try:
        numbers = [ast.literal_eval(a) for a in node.args[1:3]]
        low_open = any(k.arg == "low_open" and ast.literal_eval(k.value) is True for k in node.keywords)
    except ValueError:
        return None
    if kind not in ("int", "float") or not numbers:
        return None
    return kind, numbers[0], numbers[1] if len(numbers) > 1 else None, low_open


def read_table(source: str, script: str) -> Table | None:
    """The module-level ``HYPERPARAMETERS = {...}`` of a script (None when it declares none)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        if (
            any(isinstance(t, ast.Name) and t.id == "HYPERPARAMETERS" for t in targets)
            and isinstance(value, ast.Dict)
            and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys)
        ):
            return Table(script, {k.value: _bounds(v) for k, v in zip(value.keys, value.values, strict=True)})
    return None


def _entry_source(archive: bytes, entry: str) -> str | None:
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            member = tar.extractfile(entry.lstrip("./"))
            return member.read().decode("utf-8", "replace") if member else None
    except (tarfile.TarError, KeyError, OSError):
        return None


def check(doc: Document) -> Iterator[LintFinding]:
    for ref in doc.steps:
        if ref.type == "Training":
            yield from _job(doc, ref, ref.arguments, ("Arguments",), "HyperParameters", None, ())
        elif ref.type == "Tuning":
            config = (ref.arguments.get("HyperParameterTuningJobConfig") or {}).get("ParameterRanges")
            definition = ref.arguments.get("TrainingJobDefinition")
            if isinstance(definition, dict):
                where = ("Arguments", "TrainingJobDefinition")
                ranges_at = ("Arguments", "HyperParameterTuningJobConfig", "ParameterRanges")
                yield from _job(doc, ref, definition, where, "StaticHyperParameters", config, ranges_at)
            for i, item in enumerate(ref.arguments.get("TrainingJobDefinitions") or []):
                if isinstance(item, dict):
                    where = ("Arguments", "TrainingJobDefinitions", i)
                    ranges, ranges_at = item.get("HyperParameterRanges"), (*where, "HyperParameterRanges")
                    yield from _job(doc, ref, item, where, "StaticHyperParameters", ranges, ranges_at)


def _job(
    doc: Document, ref: StepRef, job: dict, where: tuple, key: str, ranges: Any, ranges_at: tuple
) -> Iterator[LintFinding]:
    static = job.get(key) if isinstance(job.get(key), dict) else {}
    program, code = (
        unquote(static.get("sagemaker_program")),
        unquote(static.get("sagemaker_submit_directory")),
    )
    if not isinstance(program, str) or not isinstance(code, str):
        yield doc.finding(
            "I3003",
            "not a script-mode job (no sagemaker_program): hyperparameters not checked",
            step=ref,
            path=(*where, key),
        )
        return
    if not doc.artifacts or code not in doc.artifacts:
        hint = "validate the spec with --deep, or a compile output directory's pipeline.json (its manifest.json lists the artifacts)"
        yield doc.finding(
            "I3003",
            f"the training code ({code}) is not at hand: hyperparameters not checked",
            hint,
            step=ref,
            path=(*where, key),
        )
        return
    source = _entry_source(doc.artifacts[code], program)
    table = read_table(source, program) if source is not None else None
    if table is None:
        message = f"{program} declares no HYPERPARAMETERS table: hyperparameters not checked"
        yield doc.finding(
            "I3003",
            message,
            "declare a module-level HYPERPARAMETERS dict, name → default",
            step=ref,
            path=(*where, key),
        )
        return
    for name, value in static.items():
        if name.startswith(SAGEMAKER_OWN):
            continue
        spec_keys = (("training", "hyperparameters", name),)
        if name not in table.entries:
            hint = did_you_mean(name, list(table.entries)) or f"it accepts {', '.join(table.entries)}"
            yield doc.finding(
                "E3001",
                f"{program} does not accept hyperparameter '{name}'",
                hint,
                step=ref,
                path=(*where, key, name),
                value=name,
                spec_keys=spec_keys,
            )
        else:
            problem = _outside(table.entries[name], unquote(value))
            if problem:
                yield doc.finding(
                    "E3004",
                    f"{name}={unquote(value)}: {program} takes {problem}",
                    step=ref,
                    path=(*where, key, name),
                    value=value,
                    spec_keys=spec_keys,
                )
    yield from _ranges(doc, ref, table, ranges, ranges_at)


def _ranges(doc: Document, ref: StepRef, table: Table, ranges: Any, where: tuple) -> Iterator[LintFinding]:
    if not isinstance(ranges, dict):
        return
    for group, kind in RANGE_KINDS.items():
        for i, item in enumerate(ranges.get(group) or []):
            name = item.get("Name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            path, spec_keys = (*where, group, i, "Name"), (("tuning", "ranges", name),)
            if name not in table.entries:
                hint = did_you_mean(name, list(table.entries)) or f"it accepts {', '.join(table.entries)}"
                yield doc.finding(
                    "E3002",
                    f"{table.script} does not accept hyperparameter '{name}' (tuned as {kind})",
                    hint,
                    step=ref,
                    path=path,
                    value=name,
                    spec_keys=spec_keys,
                )
                continue
            bounds = table.entries[name]
            if bounds is None:
                continue
            if kind == "continuous" and bounds[0] == "int":
                yield doc.finding(
                    "E3004",
                    f"{name} takes integers; a continuous range samples fractions",
                    "use an integer range",
                    step=ref,
                    path=(*where, group, i),
                    value=name,
                    spec_keys=spec_keys,
                )
            values = (
                [item.get("MinValue"), item.get("MaxValue")]
                if kind != "categorical"
                else item.get("Values") or []
            )
            for j, value in enumerate(values):
                problem = _outside(bounds, unquote(value))
                if problem:
                    field = ("MinValue", "MaxValue")[j] if kind != "categorical" else "Values"
                    keys = (
                        ("tuning", "ranges", name, ("min", "max")[j] if kind != "categorical" else "values"),
                    )
                    yield doc.finding(
                        "E3004",
                        f"{name} range value {unquote(value)}: {table.script} takes {problem}",
                        step=ref,
                        path=(*where, group, i, field),
                        value=value,
                        spec_keys=keys,
                    )


def _outside(bounds: tuple[str, float | None, float | None, bool] | None, value: Any) -> str:
    """'' when ``value`` fits ``bounds`` (or cannot be judged), else the bounds in words."""
    if bounds is None or isinstance(value, dict):
        return ""
    kind, low, high, low_open = bounds
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{'an integer' if kind == 'int' else 'a number'}, not {value!r}"
    if kind == "int" and not number.is_integer():
        return "an integer"
    span = f"{'(' if low_open else '['}{low:g}, {'inf' if high is None else f'{high:g}'}]"
    too_low = low is not None and (number <= low if low_open else number < low)
    return f"values in {span}" if too_low or (high is not None and number > high) else ""
