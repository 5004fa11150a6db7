"""Instance types SageMaker offers per job kind, read from botocore's service model enums.

Reading the enums (not a hand-written list) keeps validation in step with the installed botocore.
The model is loaded lazily and only once, so `validate` pays for it only when a spec names one.
"""

from __future__ import annotations

from functools import cache

# job kind → botocore shape whose enum lists the valid instance types
SHAPES = {
    "processing": "ProcessingInstanceType",
    "training": "TrainingInstanceType",
    "inference": "ProductionVariantInstanceType",
    "transform": "TransformInstanceType",
}


@cache
def _enums() -> dict[str, frozenset[str]]:
    from botocore.loaders import Loader

    model = Loader().load_service_model("sagemaker", "service-2")
    return {kind: frozenset(model["shapes"][shape]["enum"]) for kind, shape in SHAPES.items()}


def valid_instance_types(kind: str) -> frozenset[str]:
    """The instance types botocore lists for ``kind`` (processing, training, inference, transform)."""
    return _enums()[kind]
