"""Rules E2xxx: references between the parts of a definition, and names.

Every ``Get`` names a declared parameter, an execution variable, the experiment config or a
property a step of that type has (``properties.py``); every ``Std:JsonGet`` reads a property file
the step declares, at a path the step's report has (``reports.py``); ``DependsOn`` names steps that
exist; nothing depends on itself, in a cycle or directly; names fit SageMaker's limits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .document import Document, Expression, StepRef
from .hints import did_you_mean, name_problems
from .properties import check_property, path_tokens
from .reports import check_json_path
from .rules import LintFinding
from .shapes import input_shape, shape

# ExecutionVariables of the SageMaker SDK (sagemaker.workflow.execution_variables).
EXECUTION_VARIABLES = (
    "StartDateTime",
    "CurrentDateTime",
    "PipelineName",
    "PipelineArn",
    "PipelineExecutionId",
    "PipelineExecutionArn",
    "TrainingJobName",
    "ProcessingJobName",
)
EXPERIMENT_CONFIG = ("ExperimentName", "TrialName")
# The job name SageMaker gives a step's job comes from ``sagemaker_job_name`` where the SDK sets it.
JOB_NAME_SHAPES = {"Tuning": "HyperParameterTuningJobName", "Training": "TrainingJobName"}


def check(doc: Document) -> Iterator[LintFinding]:
    edges: dict[str, set[str]] = {ref.name: set() for ref in doc.steps}
    for ref in doc.steps:
        if ref.condition:
            edges[ref.name].add(ref.condition)
    for expression in doc.expressions():
        if expression.kind == "Get":
            yield from _get(doc, expression, edges)
        elif expression.kind == "Std:JsonGet":
            yield from _json_get(doc, expression, edges)
    yield from _depends_on(doc, edges)
    yield from _cycles(doc, edges)
    yield from _property_files(doc)
    yield from _names(doc)


def _edge(edges: dict[str, set[str]], expression: Expression, target: str) -> None:
    if expression.step is not None and expression.step.name in edges:
        edges[expression.step.name].add(target)


def _step_target(doc: Document, expression: Expression, name: str, path: tuple) -> LintFinding | StepRef:
    target = doc.by_name.get(name)
    if target is None:
        return doc.finding(
            "E2003",
            f"no step named '{name}'",
            did_you_mean(name, list(doc.by_name)),
            step=expression.step,
            path=path,
            value=name,
        )
    if expression.step is not None and target.name == expression.step.name:
        return doc.finding("E2012", f"step {name} reads its own properties", step=expression.step, path=path)
    return target


def _get(doc: Document, expression: Expression, edges: dict[str, set[str]]) -> Iterator[LintFinding]:
    body, step, path = expression.body, expression.step, expression.path
    if len(path) >= 2 and path[-2:] == ("Std:JsonGet", "PropertyFile"):
        return  # read by the JsonGet check
    tokens = path_tokens(body) if isinstance(body, str) else None
    if not tokens:
        yield doc.finding("E2002", f"cannot parse the Get path {body!r}", step=step, path=path)
        return
    root = tokens[0]
    if root == "Parameters":
        name = tokens[1] if len(tokens) == 2 else None
        if name not in doc.parameters:
            hint = did_you_mean(name or body, list(doc.parameters)) or (
                f"declared: {', '.join(doc.parameters) or 'none'}"
            )
            yield doc.finding(
                "E2001", f"no parameter named '{name or body}'", hint, step=step, path=path, value=name
            )
    elif root in ("Execution", "PipelineExperimentConfig"):
        allowed = EXECUTION_VARIABLES if root == "Execution" else EXPERIMENT_CONFIG
        if len(tokens) != 2 or tokens[1] not in allowed:
            what = "execution variable" if root == "Execution" else "experiment config property"
            hint = did_you_mean(tokens[-1], allowed) or f"one of {', '.join(allowed)}"
            yield doc.finding("E2002", f"no {what} {body!r}", hint, step=step, path=path, value=body)
    elif root == "Steps" and len(tokens) >= 2:
        target = _step_target(doc, expression, str(tokens[1]), path)
        if isinstance(target, LintFinding):
            yield target
            return
        _edge(edges, expression, target.name)
        if len(tokens) > 2 and tokens[2] == "PropertyFiles":
            yield doc.finding(
                "E2004",
                "property files are read with Std:JsonGet, not Get",
                '{"Std:JsonGet": {"PropertyFile": {"Get": ...}, "Path": ...}}',
                step=step,
                path=path,
            )
            return
        problem = check_property(target, tokens[2:])
        if problem is not None:
            message, hint = problem
            yield doc.finding("E2004", f"{body}: {message}", hint, step=step, path=path, value=body)
    else:
        hint = "a Get starts with Parameters., Execution., Steps. or PipelineExperimentConfig."
        yield doc.finding("E2002", f"unknown Get root in {body!r}", hint, step=step, path=path, value=body)


def _json_get(doc: Document, expression: Expression, edges: dict[str, set[str]]) -> Iterator[LintFinding]:
    body, step, path = expression.body, expression.step, expression.path
    if not isinstance(body, dict) or "Path" not in body:
        yield doc.finding("E1012", "Std:JsonGet needs PropertyFile (or S3Uri) and Path", step=step, path=path)
        return
    ref = body.get("PropertyFile")
    if ref is None:
        yield doc.finding(
            "I2007",
            "JsonGet reads an S3 URI: its path was not checked",
            step=step,
            path=(*path, "Std:JsonGet"),
        )
        return
    where = (*path, "Std:JsonGet", "PropertyFile")
    text = ref.get("Get") if isinstance(ref, dict) else ref
    tokens = path_tokens(text) if isinstance(text, str) else None
    if not tokens or len(tokens) != 4 or tokens[0] != "Steps" or tokens[2] != "PropertyFiles":
        yield doc.finding(
            "E2005",
            f"{text!r} is not a property file reference",
            "Steps.<step>.PropertyFiles.<name>",
            step=step,
            path=where,
        )
        return
    target = _step_target(doc, expression, str(tokens[1]), where)
    if isinstance(target, LintFinding):
        yield target
        return
    _edge(edges, expression, target.name)
    files = {
        f.get("PropertyFileName"): f for f in target.step.get("PropertyFiles") or [] if isinstance(f, dict)
    }
    if tokens[3] not in files:
        known = [n for n in files if isinstance(n, str)]
        yield doc.finding(
            "E2005",
            f"step {target.name} declares no property file '{tokens[3]}'",
            did_you_mean(tokens[3], known) or f"its property files: {', '.join(known) or 'none'}",
            step=step,
            path=where,
            value=tokens[3],
        )
        return
    json_path = body["Path"]
    for code, message, hint in check_json_path(doc, target, files[tokens[3]], json_path):
        yield doc.finding(
            code, message, hint, step=step, path=(*path, "Std:JsonGet", "Path"), value=json_path
        )


def _depends_on(doc: Document, edges: dict[str, set[str]]) -> Iterator[LintFinding]:
    for ref in doc.steps:
        depends = ref.step.get("DependsOn")
        for i, name in enumerate(depends if isinstance(depends, list) else []):
            if not isinstance(name, str):
                continue
            if name == ref.name:
                yield doc.finding("E2012", f"step {name} depends on itself", step=ref, path=("DependsOn", i))
            elif name not in doc.by_name:
                hint = did_you_mean(name, list(doc.by_name))
                yield doc.finding(
                    "E2003",
                    f"DependsOn names no step '{name}'",
                    hint,
                    step=ref,
                    path=("DependsOn", i),
                    value=name,
                )
            else:
                edges[ref.name].add(name)


def _cycles(doc: Document, edges: dict[str, set[str]]) -> Iterator[LintFinding]:
    """One finding per group of steps that depend on each other (a strongly connected component),
    naming its shortest cycle through the group's first step in definition order."""
    order = {ref.name: ref.index for ref in doc.steps}
    for group in _components(edges, order):
        first = min(group, key=order.__getitem__)
        cycle = _shortest_cycle(first, edges, group, order)
        yield doc.finding(
            "E2009",
            "steps depend on each other in a cycle: " + " → ".join([*cycle, first]),
            "remove one of the DependsOn entries or property references that close the cycle",
            step=doc.by_name[first],
        )


def _components(edges: dict[str, set[str]], order: dict[str, int]) -> list[set[str]]:
    """Tarjan's strongly connected components with more than one step."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ()), key=lambda n: order.get(n, 0)):
            if nxt not in edges or nxt == node:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                out.append(group)

    for name in sorted(edges, key=lambda n: order.get(n, 0)):
        if name not in index:
            visit(name)
    return sorted(out, key=lambda g: min(order[n] for n in g))


def _shortest_cycle(
    start: str, edges: dict[str, set[str]], group: set[str], order: dict[str, int]
) -> list[str]:
    """Breadth-first from ``start`` back to it, within the group."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(edges.get(node, ()) & group, key=order.__getitem__):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start]


def _property_files(doc: Document) -> Iterator[LintFinding]:
    for ref in doc.steps:
        files = ref.step.get("PropertyFiles")
        if not isinstance(files, list) or not isinstance(ref.step.get("Arguments"), dict):
            continue  # no Arguments: E1011
        outputs = [
            o.get("OutputName")
            for o in (ref.arguments.get("ProcessingOutputConfig") or {}).get("Outputs") or []
            if isinstance(o, dict)
        ]
        seen: set[str] = set()
        for i, item in enumerate(files):
            if not isinstance(item, dict):
                continue
            name, output = item.get("PropertyFileName"), item.get("OutputName")
            if name in seen:
                yield doc.finding(
                    "E2008", f"property file '{name}' is declared twice", step=ref, path=("PropertyFiles", i)
                )
            seen.add(name)
            if isinstance(output, str) and output not in outputs:
                known = [o for o in outputs if isinstance(o, str)]
                yield doc.finding(
                    "E2008",
                    f"property file '{name}' reads output '{output}', which step {ref.name} does not have",
                    did_you_mean(output, known) or f"its outputs: {', '.join(known) or 'none'}",
                    step=ref,
                    path=("PropertyFiles", i, "OutputName"),
                    value=output,
                )


def _limit(
    doc: Document, value: object, shape_obj: object, what: str, step: StepRef | None, path: tuple
) -> Iterator[LintFinding]:
    for message in name_problems(value, shape_obj, what):
        yield doc.finding("E2011", message, step=step, path=path, value=value)


def _names(doc: Document) -> Iterator[LintFinding]:
    if doc.pipeline_name is not None:
        name_shape = input_shape("CreatePipeline").members["PipelineName"]
        yield from _limit(doc, doc.pipeline_name, name_shape, "pipeline name", None, ())
    definition_shape = input_shape("CreatePipeline").members["PipelineDefinition"]
    size = len(json.dumps(doc.definition))
    if size > definition_shape.metadata.get("max", size):
        message = f"the definition is {size} characters; CreatePipeline takes at most {definition_shape.metadata['max']}"
        yield doc.finding("E2011", message, "upload it to S3 (PipelineDefinitionS3Location)")
    seen: set[str] = set()
    for ref in doc.steps:
        if ref.name in seen:
            yield doc.finding("E2010", f"another step is also named '{ref.name}'", step=ref, path=("Name",))
        seen.add(ref.name)
        for key, shape_name in (
            ("Name", "StepName"),
            ("DisplayName", "StepDisplayName"),
            ("Description", "StepDescription"),
        ):
            if isinstance(ref.step.get(key), str):
                yield from _limit(doc, ref.step[key], shape(shape_name), f"step {key}", ref, (key,))
        yield from _job_name(doc, ref)
    for i, param in enumerate(doc.definition.get("Parameters") or []):
        if isinstance(param, dict) and isinstance(param.get("Name"), str):
            yield from _limit(
                doc,
                param["Name"],
                shape("PipelineParameterName"),
                "parameter name",
                None,
                ("Parameters", i, "Name"),
            )


def _job_name(doc: Document, ref: StepRef) -> Iterator[LintFinding]:
    """``sagemaker_job_name``: the job-name prefix the SDK hands the training container."""
    if ref.type not in JOB_NAME_SHAPES:
        return
    key = "HyperParameters" if ref.type == "Training" else "StaticHyperParameters"
    holder = ref.arguments if ref.type == "Training" else ref.arguments.get("TrainingJobDefinition") or {}
    value = (holder.get(key) or {}).get("sagemaker_job_name") if isinstance(holder, dict) else None
    if not isinstance(value, str):
        return
    try:
        name = json.loads(value)
    except ValueError:
        name = value
    if isinstance(name, str):
        where = (
            "Arguments",
            *(() if ref.type == "Training" else ("TrainingJobDefinition",)),
            key,
            "sagemaker_job_name",
        )
        yield from _limit(doc, name, shape(JOB_NAME_SHAPES[ref.type]), "job name", ref, where)
