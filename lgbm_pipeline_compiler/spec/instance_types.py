"""Instance types SageMaker offers per job kind, read from botocore's service model enums.

Reading the enums (not a hand-written list) keeps validation in step with the installed botocore.
Loading botocore's SageMaker model costs ~0.2 s, so the four enums are cached per botocore version
under $XDG_CACHE_HOME/lgbm-pipeline-compiler/ (a cache that cannot be written is simply skipped).
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import metadata
from pathlib import Path

# job kind → botocore shape whose enum lists the valid instance types
SHAPES = {
    "processing": "ProcessingInstanceType",
    "training": "TrainingInstanceType",
    "inference": "ProductionVariantInstanceType",
    "transform": "TransformInstanceType",
}


def _cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "lgbm-pipeline-compiler" / f"instance-types-botocore-{metadata.version('botocore')}.json"


def _from_botocore() -> dict[str, list[str]]:
    from botocore.loaders import Loader

    model = Loader().load_service_model("sagemaker", "service-2")
    return {kind: sorted(model["shapes"][shape]["enum"]) for kind, shape in SHAPES.items()}


@cache
def _enums() -> dict[str, frozenset[str]]:
    path = _cache_file()
    try:
        enums = json.loads(path.read_text())
        assert set(enums) == set(SHAPES)
    except (OSError, ValueError, AssertionError):
        enums = _from_botocore()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(enums))
            os.replace(tmp, path)
        except OSError:
            pass
    return {kind: frozenset(values) for kind, values in enums.items()}


def valid_instance_types(kind: str) -> frozenset[str]:
    """The instance types botocore lists for ``kind`` (processing, training, inference, transform)."""
    return _enums()[kind]
