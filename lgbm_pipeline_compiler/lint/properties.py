"""The properties a step of each type has, as the SageMaker SDK's ``Properties`` defines them:
botocore's Describe* output shapes (a Tuning step reads two: DescribeHyperParameterTuningJob and
ListTrainingJobsForHyperParameterTuningJob), EMR's ``Step``, and the few the SDK adds by hand
(check steps' baselines, a Condition's Outcome, Lambda and Callback output parameters).
"""

from __future__ import annotations

import re
from typing import Any

from .document import StepRef
from .hints import did_you_mean
from .shapes import output_shape, shape

DESCRIBE = {
    "Processing": ("DescribeProcessingJob",),
    "Training": ("DescribeTrainingJob",),
    "Tuning": ("DescribeHyperParameterTuningJob", "ListTrainingJobsForHyperParameterTuningJob"),
    "Model": ("DescribeModel",),
    "Transform": ("DescribeTransformJob",),
    "RegisterModel": ("DescribeModelPackage",),
}
# Properties the SDK sets by hand (S3 URIs, or the Outcome of a condition).
EXTRA = {
    "ClarifyCheck": ("CalculatedBaselineConstraints", "BaselineUsedForDriftCheckConstraints"),
    "QualityCheck": (
        "CalculatedBaselineConstraints",
        "CalculatedBaselineStatistics",
        "BaselineUsedForDriftCheckStatistics",
        "BaselineUsedForDriftCheckConstraints",
    ),
    "Condition": ("Outcome",),
    "EMR": ("ClusterId", "ExecutionRoleArn", "ClusterConfig"),
}
_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def path_tokens(path: str) -> list[str | int] | None:
    """``Steps.Tune.TrainingJobSummaries[0].TrainingJobName`` → ``['Steps', 'Tune',
    'TrainingJobSummaries', 0, 'TrainingJobName']``; keys in brackets stay strings (None: unparsable)."""
    tokens: list[str | int] = []
    text, pos = f".{path}", 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            return None
        name, index, key1, key2 = match.groups()
        if index is not None:
            tokens.append(int(index))
        elif name is not None:
            tokens.append(name)
        else:
            tokens.append(_Keyed(key1 if key1 is not None else key2))
        pos = match.end()
    return tokens


class _Keyed(str):
    """A ``['key']`` token (an index by name), as opposed to a ``.Name`` token."""


def _named_items(ref: StepRef, path: list[str | int]) -> tuple[str, list[str]] | None:
    """Names a list property may be indexed by, for lists indexed by name in the step's request."""
    args = ref.arguments
    if ref.type == "Processing" and path == ["ProcessingOutputConfig", "Outputs"]:
        outputs = (args.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        return "output", [o.get("OutputName") for o in outputs if isinstance(o, dict)]
    if ref.type == "Processing" and path == ["ProcessingInputs"]:
        return "input", [
            i.get("InputName") for i in args.get("ProcessingInputs") or [] if isinstance(i, dict)
        ]
    return None


def check_property(ref: StepRef, tokens: list[str | int]) -> tuple[str, str] | None:
    """Why ``tokens`` (after ``Steps.<name>``) is not a property of ``ref``'s type: (message, hint),
    or None when it is one (or when the type's properties are not known)."""
    if not tokens:
        return "a Get must name a property of the step, not the step itself", ""
    first = tokens[0]
    if ref.type in ("Lambda", "Callback"):
        outputs = [o.get("OutputName") for o in ref.step.get("OutputParameters") or [] if isinstance(o, dict)]
        if first != "OutputParameters" or len(tokens) != 2 or not isinstance(tokens[1], _Keyed):
            return f"a {ref.type} step's properties are OutputParameters['name']", ""
        if tokens[1] not in outputs:
            return (
                f"step {ref.name} has no output parameter '{tokens[1]}'",
                did_you_mean(tokens[1], [o for o in outputs if isinstance(o, str)])
                or f"its outputs: {', '.join(map(str, outputs)) or 'none'}",
            )
        return None
    roots = [output_shape(op) for op in DESCRIBE.get(ref.type, ())]
    if ref.type == "EMR":
        roots = [shape("Step", "emr")]
    extra = EXTRA.get(ref.type, ())
    if first in extra and isinstance(first, str) and not isinstance(first, _Keyed):
        return None if len(tokens) == 1 or ref.type == "EMR" else (f"{first} has no members", "")
    members = {name: member for root in roots for name, member in root.members.items()}
    if not members and not extra:
        return None if ref.type not in ("Fail",) else (f"a {ref.type} step has no properties", "")
    if isinstance(first, (int, _Keyed)) or first not in members:
        names = sorted(set(members) | set(extra))
        return (
            f"a {ref.type} step has no property '{first}'",
            did_you_mean(first, names) or f"e.g. {', '.join(names[:6])}",
        )
    return _descend(ref, members[first], tokens[1:], [str(first)])


def _descend(
    ref: StepRef, node: Any, tokens: list[str | int], path: list[str | int]
) -> tuple[str, str] | None:
    where = ".".join(str(p) for p in path)
    for position, token in enumerate(tokens):
        kind = node.type_name
        if kind == "structure":
            if isinstance(token, (int, _Keyed)) or token not in node.members:
                return (
                    f"{where} ({node.name}) has no member {token!r}",
                    did_you_mean(token, list(node.members))
                    or f"its members: {', '.join(list(node.members)[:8])}",
                )
            node = node.members[token]
        elif kind == "list":
            if isinstance(token, str) and not isinstance(token, _Keyed):
                return f"{where} is a list: index it with [0] or ['name'], not .{token}", ""
            named = _named_items(ref, [str(p) for p in path])
            if isinstance(token, _Keyed) and named is not None and token not in named[1]:
                what, names = named
                known = [n for n in names if isinstance(n, str)]
                return (
                    f"step {ref.name} has no {what} '{token}'",
                    did_you_mean(token, known) or f"its {what}s: {', '.join(known) or 'none'}",
                )
            node = node.member
        elif kind == "map":
            if not isinstance(token, _Keyed):
                return f"{where} is a map: index it with ['key']", ""
            node = node.value
        else:
            rest = "".join(f".{t}" if isinstance(t, str) else f"[{t}]" for t in tokens[position:])
            return f"{where} is a {kind}, it has no {rest.lstrip('.')}", ""
        path.append(token)
        where = (
            f"{where}.{token}"
            if isinstance(token, str) and not isinstance(token, _Keyed)
            else f"{where}[{token!r}]"
        )
    return None
