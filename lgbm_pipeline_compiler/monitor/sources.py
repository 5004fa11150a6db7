"""What an endpoint serves and the baselines registered with it, from SageMaker (local or AWS).

endpoint → its config (DescribeEndpointConfig: ProductionVariants, DataCaptureConfig) → each
variant's model (DescribeModel: PrimaryContainer.ModelPackageName) → the model package
(DescribeModelPackage) → its ``DriftCheckBaselines`` (CreateModelPackage's shape):
``ModelDataQuality`` {Statistics, Constraints}, ``Bias`` {ConfigFile, PostTrainingConstraints},
``Explainability`` {ConfigFile, Constraints}. ``control`` is any object with those four boto3
SageMaker methods (local/control.LocalSageMaker, or s3.SageMakerReads over boto3 for ``--aws``);
each S3 URI is read through a blob source (blobs.py: the local object store, or S3).

The prediction-drift reference is the registered model's own predictions on the held-out test
split: the pipeline's batch transform writes them (``target,probability,label``) to
``{evaluation output}/../predictions/``, beside the ``evaluation.json`` that the package's
``ModelMetrics.ModelQuality.Statistics`` names (README: batch_transform). Without them prediction
drift is reported as not computed, never as passed.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..local.store import ObjectStore
from .blobs import BlobError, BlobSource, as_blobs
from .bundled import module

BASELINES = {
    "data_quality": ("ModelDataQuality", "Statistics", "Constraints"),
    "bias": ("Bias", "ConfigFile", "PostTrainingConstraints"),
    "explainability": ("Explainability", "ConfigFile", "Constraints"),
}
"""check -> (DriftCheckBaselines member, its two MetricsSource members)."""


class SourceError(ValueError):
    """The endpoint, its config, model, package or a baseline cannot be found or read."""


@dataclass
class Served:
    """One model package behind an endpoint: which variants serve it, where they capture."""

    endpoint: str
    variants: list[str]
    package_arn: str
    package: dict[str, Any]
    capture_destination: str
    baselines: dict[str, tuple[str, str]] = field(default_factory=dict)
    """check -> (first URI, second URI) for every baseline the package has (see BASELINES)."""

    @property
    def model_data_url(self) -> str:
        return self.package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]


def _client_error(err: Exception) -> str:
    response = getattr(err, "response", None)
    return response["Error"]["Message"] if response else str(err)


def served(control: Any, endpoint: str, variant: str | None = None) -> Served:
    """The package the endpoint's variants (or ``variant``) serve, with its baselines' URIs."""
    from botocore.exceptions import ClientError

    try:
        described = control.describe_endpoint(EndpointName=endpoint)
        config = control.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        names = [v["VariantName"] for v in config["ProductionVariants"]]
        if variant is not None and variant not in names:
            raise SourceError(
                f"endpoint {endpoint} has no variant {variant!r} (its variants: {', '.join(names)})"
            )
        packages: dict[str, list[str]] = {}
        for item in config["ProductionVariants"]:
            if variant is not None and item["VariantName"] != variant:
                continue
            container = control.describe_model(ModelName=item["ModelName"]).get("PrimaryContainer") or {}
            arn = container.get("ModelPackageName")
            if not arn:
                raise SourceError(
                    f"variant {item['VariantName']} of endpoint {endpoint} serves model {item['ModelName']}, "
                    "which is not from a model package: there are no registered baselines to compare with"
                )
            packages.setdefault(arn, []).append(item["VariantName"])
        if len(packages) > 1:
            which = "; ".join(f"{', '.join(v)}: {arn}" for arn, v in packages.items())
            raise SourceError(
                f"the variants of endpoint {endpoint} serve different model packages ({which}): pass --variant"
            )
        ((arn, variants),) = packages.items()
        package = control.describe_model_package(ModelPackageName=arn)
    except ClientError as err:
        raise SourceError(_client_error(err)) from None
    capture = config.get("DataCaptureConfig") or {}
    if not capture.get("DestinationS3Uri"):
        raise SourceError(
            f"endpoint {endpoint}'s config {described['EndpointConfigName']} has no DataCaptureConfig: "
            "nothing was captured to monitor (enable data capture on the endpoint)"
        )
    result = Served(endpoint, variants, arn, package, capture["DestinationS3Uri"].rstrip("/"))
    drift = package.get("DriftCheckBaselines") or {}
    for check, (member, first, second) in BASELINES.items():
        section = drift.get(member) or {}
        uris = ((section.get(first) or {}).get("S3Uri"), (section.get(second) or {}).get("S3Uri"))
        if all(uris):
            result.baselines[check] = uris  # type: ignore[assignment]
    return result


def read_json(source: BlobSource | ObjectStore, uri: str, what: str) -> Any:
    try:
        return json.loads(as_blobs(source).read_bytes(uri))
    except BlobError as err:
        raise SourceError(f"{what}: {err}") from None
    except ValueError as err:
        raise SourceError(f"{what} at {uri} is not valid JSON: {err}") from None


def load_served_model(source: BlobSource | ObjectStore, url: str) -> Any:
    """The package's model (step_common.Model: booster, schema, metadata) from its model.tar.gz."""
    step_common = module("step_common")
    try:
        archive = as_blobs(source).read_bytes(url)
    except BlobError as err:
        raise SourceError(f"the model archive: {err}") from None
    with tempfile.TemporaryDirectory(prefix="lgbm-monitor-") as scratch:
        (Path(scratch) / "model.tar.gz").write_bytes(archive)
        try:
            return step_common.load_model(Path(scratch))
        except step_common.InputError as err:
            raise SourceError(f"the model archive {url}: {err}") from None


def baseline_predictions(
    source: BlobSource | ObjectStore, package: Mapping[str, Any]
) -> tuple[pd.DataFrame | None, str]:
    """(probability and label of the batch transform beside the package's evaluation, or None;
    where they were looked for)."""
    uri = (((package.get("ModelMetrics") or {}).get("ModelQuality") or {}).get("Statistics") or {}).get(
        "S3Uri"
    )
    if not uri or "/" not in uri.rstrip("/"):
        return None, "the package has no ModelMetrics.ModelQuality.Statistics"
    evaluation_dir = uri.rsplit("/", 1)[0]
    prefix = f"{evaluation_dir.rsplit('/', 1)[0]}/predictions"
    blobs = as_blobs(source)
    try:
        bodies = [blobs.read_bytes(item) for item in blobs.list(prefix)]
    except BlobError:
        return None, prefix
    names = ["target", "probability", "label"]
    frames = [pd.read_csv(io.BytesIO(body), header=None, names=names) for body in bodies if body]
    if not frames:
        return None, prefix
    frame = pd.concat(frames, ignore_index=True)
    return frame[["probability", "label"]], prefix
