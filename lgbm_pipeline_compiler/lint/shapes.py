"""The botocore shapes the checks need, cached per botocore version.

Loading botocore's whole SageMaker service model costs ~0.25 s; the checks need ~500 of its
~3300 shapes: the request shapes of the operations pipeline steps call, the Describe* output shapes
step properties come from (as the SageMaker SDK's ``Properties`` reads them), and the names
``CreatePipeline`` limits. That subset (documentation stripped, ~100 KB) is cached under
``$XDG_CACHE_HOME/lgbm-pipeline-compiler/`` per botocore version, like the instance-type enums of
``spec/instance_types.py``; a cache that cannot be written is simply skipped. The shapes are
botocore's own ``Shape`` objects, resolved by botocore's ``ShapeResolver`` from the same
definitions botocore's ``ServiceModel`` uses, so a check sees exactly what botocore sees.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

CACHE_FORMAT = 2

# Operations whose request and response shapes the checks read.
SAGEMAKER_OPERATIONS = (
    "CreateProcessingJob",
    "CreateTrainingJob",
    "CreateHyperParameterTuningJob",
    "CreateModel",
    "CreateTransformJob",
    "CreateModelPackage",
    "CreatePipeline",
    "DescribeProcessingJob",
    "DescribeTrainingJob",
    "DescribeHyperParameterTuningJob",
    "ListTrainingJobsForHyperParameterTuningJob",
    "DescribeModel",
    "DescribeTransformJob",
    "DescribeModelPackage",
)
# Named shapes read directly (limits of names in a definition).
SAGEMAKER_SHAPES = ("StepName", "StepDisplayName", "StepDescription", "PipelineParameterName")
# Shapes of other services: the EMR step's properties (the SDK's EMRStep reads EMR's ``Step``) and
# its HadoopJarStep; the function a Lambda step invokes (Lambda's Invoke takes a FunctionName).
OTHER_SHAPES = {"emr": ("Step", "HadoopJarStepConfig"), "lambda": ("FunctionName",)}


def _cache_file() -> Path:
    import botocore  # its __version__: cheaper than importlib.metadata

    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    version = botocore.__version__
    return root / "lgbm-pipeline-compiler" / f"lint-shapes-{CACHE_FORMAT}-botocore-{version}.json"


def _closure(shapes: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """The shapes reachable from ``roots``, without their documentation."""
    out: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in out:
            continue
        shape = {k: v for k, v in shapes[name].items() if k != "documentation"}
        if "members" in shape:
            shape["members"] = {
                k: {mk: mv for mk, mv in ref.items() if mk != "documentation"}
                for k, ref in shape["members"].items()
            }
            pending += [ref["shape"] for ref in shape["members"].values()]
        pending += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
        out[name] = shape
    return out


def _from_botocore() -> dict[str, Any]:
    from botocore.loaders import Loader

    loader = Loader()
    model = loader.load_service_model("sagemaker", "service-2")
    operations = {
        name: {
            k: model["operations"][name][k]["shape"]
            for k in ("input", "output")
            if k in model["operations"][name]
        }
        for name in SAGEMAKER_OPERATIONS
    }
    roots = [shape for op in operations.values() for shape in op.values()] + list(SAGEMAKER_SHAPES)
    out = {"format": CACHE_FORMAT, "operations": operations, "sagemaker": _closure(model["shapes"], roots)}
    for service, names in OTHER_SHAPES.items():
        out[service] = _closure(loader.load_service_model(service, "service-2")["shapes"], list(names))
    return out


@functools.lru_cache(maxsize=1)
def _model() -> dict[str, Any]:
    path = _cache_file()
    try:
        model = json.loads(path.read_text())
        assert model["format"] == CACHE_FORMAT and set(model["operations"]) == set(SAGEMAKER_OPERATIONS)
        assert set(SAGEMAKER_SHAPES) <= set(model["sagemaker"])
        assert all(set(names) <= set(model.get(service, ())) for service, names in OTHER_SHAPES.items())
    except (OSError, ValueError, KeyError, AssertionError):
        model = _from_botocore()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(model))
            os.replace(tmp, path)
        except OSError:
            pass
    return model


@functools.lru_cache(maxsize=4)
def _resolver(service: str) -> Any:
    from botocore.model import ShapeResolver

    return ShapeResolver(_model()[service])


def shape(name: str, service: str = "sagemaker") -> Any:
    """botocore's ``Shape`` named ``name`` (one of the cached ones)."""
    return _resolver(service).get_shape_by_name(name)


def input_shape(operation: str) -> Any:
    """The request shape of a SageMaker operation (one of ``SAGEMAKER_OPERATIONS``)."""
    return shape(_model()["operations"][operation]["input"])


def output_shape(operation: str) -> Any:
    """The response shape of a SageMaker operation (one of ``SAGEMAKER_OPERATIONS``)."""
    return shape(_model()["operations"][operation]["output"])
