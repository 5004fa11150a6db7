"""An endpoint's production variants behind `lgbm-pipeline serve`: routing, headers and capture.

From the endpoint's config (DescribeEndpointConfig shape: ``ProductionVariants`` with
``VariantName``, ``ModelName``, ``InitialVariantWeight``; ``DataCaptureConfig``) each variant's
model is loaded (DescribeModel: a ``PrimaryContainer`` with a ``ModelPackageName`` from the local
registry, or a ``ModelDataUrl``), and every request is answered as InvokeEndpoint answers it:

- **Routing by weight.** botocore's ProductionVariant.InitialVariantWeight: "The traffic to a
  production variant is determined by the ratio of the VariantWeight to the sum of all
  VariantWeight values across all ProductionVariants. If unspecified, it defaults to 1.0." Each
  request goes to a variant drawn with probability weight / sum of weights (``random.Random(seed)``
  under a lock: a seeded server routes the same sequence every time). A weight of 0 gets no
  traffic unless targeted.
- **TargetVariant.** InvokeEndpoint's ``TargetVariant`` (botocore sagemaker-runtime model: header
  ``X-Amzn-SageMaker-Target-Variant``): "Specify the production variant to send the inference
  request to ... this parameter overrides the default behavior for the endpoint, which is to
  distribute the invocation traffic based on the variant weights." A name that is not a variant of
  the endpoint is refused with 400 and one line naming the variants (SageMaker answers a
  ValidationError; its exact wording is not documented, so ours names the fix).
- **InvokedProductionVariant.** InvokeEndpoint's output member ``InvokedProductionVariant``
  ("Identifies the production variant that was invoked") is the response header
  ``x-Amzn-Invoked-Production-Variant`` (same model): every answer from a variant carries it.
- **Capture.** With the config's DataCaptureConfig enabled, a sampled request with a 200 answer is
  buffered by capture.CaptureWriter under ``{destination}/{endpoint}/{variant}/...``; the request's
  ``X-Amzn-SageMaker-Inference-Id`` (InvokeEndpoint ``InferenceId``) becomes ``inferenceId``.
"""

from __future__ import annotations

import bisect
import itertools
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .capture import CaptureConfig, CaptureWriter
from .serve import ServingModel, load_model
from .serve_http import Answer, Request
from .store import ObjectStore

TARGET_VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"
INFERENCE_ID_HEADER = "X-Amzn-SageMaker-Inference-Id"
INVOKED_VARIANT_HEADER = "x-Amzn-Invoked-Production-Variant"
DEFAULT_WEIGHT = 1.0
SINGLE_VARIANT = "AllTraffic"  # the SageMaker SDK's default variant name (sagemaker.production_variant)


class EndpointConfigError(ValueError):
    """The endpoint's config cannot be served (a variant's model is missing, weights are invalid)."""


@dataclass(frozen=True)
class Variant:
    name: str
    model: ServingModel
    weight: float


def _one_line_400(reason: str) -> Answer:
    return Answer(400, "text/plain; charset=utf-8", f"{reason}\n".encode())


class Endpoint:
    """The variants of one endpoint and the data capture of its config; ``handle`` answers requests."""

    def __init__(
        self,
        name: str,
        variants: Sequence[Variant],
        capture: CaptureWriter | None = None,
        seed: int | None = None,
    ):
        if not variants:
            raise EndpointConfigError(f"endpoint {name} has no production variants")
        for variant in variants:
            if variant.weight < 0:
                raise EndpointConfigError(f"variant {variant.name}: InitialVariantWeight must be >= 0")
        self.name, self.variants, self.capture = name, list(variants), capture
        self._by_name = {v.name: v for v in self.variants}
        self._cumulative = list(itertools.accumulate(v.weight for v in self.variants))
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def choose(self, target: str | None = None) -> Variant:
        """The variant for a request: ``target`` when given, else one drawn by weight."""
        if target is not None:
            variant = self._by_name.get(target)
            if variant is None:
                names = ", ".join(v.name for v in self.variants)
                raise LookupError(
                    f"TargetVariant {target!r} is not a production variant of endpoint {self.name} "
                    f"(its variants: {names})"
                )
            return variant
        total = self._cumulative[-1]
        if total <= 0:
            raise LookupError(
                f"every production variant of endpoint {self.name} has weight 0: send "
                f"{TARGET_VARIANT_HEADER} to pick one"
            )
        with self._lock:
            point = self._random.random() * total
        return self.variants[bisect.bisect_right(self._cumulative, point)]

    def handle(self, request: Request) -> Answer:
        """Route, invoke, capture; the answer carries ``x-Amzn-Invoked-Production-Variant``."""
        try:
            variant = self.choose(request.headers.get(TARGET_VARIANT_HEADER.lower()))
        except LookupError as err:
            return _one_line_400(str(err))
        status, media, body = variant.model.invoke(request.body, request.content_type, request.accept)
        if self.capture is not None and status == 200 and self.capture.sampled():
            self.capture.record(
                variant.name,
                (request.body, request.content_type),
                (body, media),
                request.headers.get(INFERENCE_ID_HEADER.lower()),
            )
        return Answer(status, media, body, ((INVOKED_VARIANT_HEADER, variant.name),))

    def close(self) -> list[str]:
        """Write the buffered captures; their URIs."""
        return self.capture.close() if self.capture is not None else []


def _model_data(control: Any, registry: Any, model_name: str) -> tuple[str, dict[str, str]]:
    """(ModelDataUrl, Environment) of a model in the control plane (its package's, if versioned)."""
    model = control.describe_model(ModelName=model_name)
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    environment = dict(container.get("Environment") or {})
    if container.get("ModelPackageName"):
        package = registry.get(container["ModelPackageName"])
        spec = package["Request"]["InferenceSpecification"]["Containers"][0]
        return spec["ModelDataUrl"], {**(spec.get("Environment") or {}), **environment}
    if container.get("ModelDataUrl"):
        return container["ModelDataUrl"], environment
    raise EndpointConfigError(f"model {model_name} has neither a ModelPackageName nor a ModelDataUrl")


def load_endpoint(
    control: Any,
    store: ObjectStore,
    endpoint_name: str,
    *,
    seed: int | None = None,
    flush_seconds: float | None = None,
) -> Endpoint:
    """The endpoint as its current config describes it: every variant's model loaded, capture on
    when the config's DataCaptureConfig enables it."""
    endpoint = control.describe_endpoint(EndpointName=endpoint_name)
    config = control.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    variants = []
    for item in config["ProductionVariants"]:
        url, environment = _model_data(control, control.registry, item["ModelName"])
        weight = float(item.get("InitialVariantWeight", DEFAULT_WEIGHT))
        variants.append(Variant(item["VariantName"], load_model(store, url, environment), weight))
    capture_config = CaptureConfig.from_api(config.get("DataCaptureConfig"))
    writer = None
    if capture_config is not None:
        options = {} if flush_seconds is None else {"flush_seconds": flush_seconds}
        writer = CaptureWriter(store, endpoint_name, capture_config, seed=seed, **options)
    return Endpoint(endpoint_name, variants, writer, seed=seed)


def single_model_endpoint(model: ServingModel, name: str = SINGLE_VARIANT) -> Endpoint:
    """One variant taking all traffic (serving a model package directly)."""
    return Endpoint(name, [Variant(SINGLE_VARIANT, model, DEFAULT_WEIGHT)])
