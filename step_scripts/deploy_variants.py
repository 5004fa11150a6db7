"""The endpoint config the deploy Lambda creates: its production variants and data capture.

Shipped beside deploy_endpoint.py in the Lambda's zip. Event fields (all optional):

- ``variants``: ``{"name", "weight", "keep_current": {"name", "weight"}}``: the new model's
  VariantName and InitialVariantWeight (default: one variant ``AllTraffic`` of weight 1.0), and
  whether to keep the endpoint's current variant beside it (A/B). The kept variant is the current
  endpoint config's variant named ``keep_current.name``, else its only variant (an endpoint deployed
  before A/B); it keeps every setting (the same ProductionVariant shape DescribeEndpointConfig
  returns) under ``keep_current.name`` with ``keep_current.weight``. Nothing is kept when the endpoint
  does not exist yet or already serves the new model there. SageMaker routes to each variant
  "the ratio of the VariantWeight to the sum of all VariantWeight values" (botocore
  ProductionVariant.InitialVariantWeight).
- ``serverless_config``: ProductionVariant.ServerlessConfig (MemorySizeInMB, MaxConcurrency, optional
  ProvisionedConcurrency), in place of InstanceType and InitialInstanceCount. SageMaker Developer
  Guide, Serverless Inference feature exclusions: "You cannot convert your instance-based, real-time
  endpoint to a serverless endpoint. If you try to update your real-time endpoint to serverless,
  you receive a ValidationError message": refused here before anything is created.
- ``data_capture_config``: CreateEndpointConfig's DataCaptureConfig, passed on as given.
"""

from __future__ import annotations

from typing import Any

DEFAULT_VARIANT = "AllTraffic"
CAPTURE_KEYS = ("InitialSamplingPercentage", "DestinationS3Uri", "CaptureOptions")
SERVERLESS_KEYS = ("MemorySizeInMB", "MaxConcurrency")


class DeployError(RuntimeError):
    """The endpoint cannot be deployed to in its current state."""


def _error(exc: Exception) -> tuple[str, str]:
    error = getattr(exc, "response", {}).get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


def already_exists(exc: Exception) -> bool:
    code, message = _error(exc)
    return code == "ValidationException" and "already exist" in message.lower()


def not_found(exc: Exception) -> bool:
    code, message = _error(exc)
    return code == "ValidationException" and "could not find" in message.lower()


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def parse_options(event: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """The variant, serverless and data capture options of the event; problems are appended."""
    variants = event.get("variants")
    plan: dict[str, Any] = {"variant_name": DEFAULT_VARIANT, "variant_weight": 1.0, "keep_current": None}
    if variants is not None:
        if not isinstance(variants, dict) or not isinstance(variants.get("name"), str):
            problems.append("variants must be an object with a name (and a weight)")
        else:
            plan["variant_name"] = variants["name"]
            plan["variant_weight"] = variants.get("weight", 1.0)
            keep = variants.get("keep_current")
            if keep is not None and not (
                isinstance(keep, dict) and isinstance(keep.get("name"), str) and _number(keep.get("weight"))
            ):
                problems.append("variants.keep_current must be an object with a name and a weight")
            elif keep is not None:
                plan["keep_current"] = {"name": keep["name"], "weight": float(keep["weight"])}
            if not _number(plan["variant_weight"]) or plan["variant_weight"] <= 0:
                problems.append(f"variants.weight must be a number > 0, got {plan['variant_weight']!r}")
    serverless = event.get("serverless_config")
    if serverless is not None and not (
        isinstance(serverless, dict) and all(_positive_int(serverless.get(k)) for k in SERVERLESS_KEYS)
    ):
        problems.append("serverless_config must be an object with MemorySizeInMB and MaxConcurrency")
    capture = event.get("data_capture_config")
    if capture is not None and not (isinstance(capture, dict) and all(k in capture for k in CAPTURE_KEYS)):
        problems.append(f"data_capture_config must be an object with {', '.join(CAPTURE_KEYS)}")
    if serverless is not None and (capture is not None or plan["keep_current"] is not None):
        problems.append("a serverless endpoint supports neither data capture nor several variants")
    plan["serverless_config"] = serverless
    plan["data_capture_config"] = capture
    return plan


def current_config(client: Any, endpoint: dict[str, Any] | None) -> dict[str, Any] | None:
    """DescribeEndpointConfig of the config the endpoint runs now (None without an endpoint)."""
    if endpoint is None or not endpoint.get("EndpointConfigName"):
        return None
    return client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])


def check_conversion(plan: dict[str, Any], current: dict[str, Any] | None) -> None:
    """Refuse turning an instance-based endpoint into a serverless one, as SageMaker does."""
    variants = (current or {}).get("ProductionVariants", [])
    if plan["serverless_config"] and any("InstanceType" in v for v in variants):
        raise DeployError(
            f"endpoint '{plan['endpoint_name']}' runs on instances (config "
            f"'{current.get('EndpointConfigName')}'); SageMaker cannot convert an instance-based "
            "endpoint to a serverless one: deploy to another endpoint_name"
        )


def _kept(plan: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any] | None:
    keep = plan["keep_current"]
    if keep is None or current is None:
        return None
    variants = current.get("ProductionVariants", [])
    named = [v for v in variants if v.get("VariantName") == keep["name"]]
    if not named and len(variants) != 1:
        found = [v.get("VariantName") for v in variants]
        raise DeployError(
            f"endpoint config '{current.get('EndpointConfigName')}' has variants {found} and none is "
            f"named '{keep['name']}' (variants.keep_current.name): name the variant to keep"
        )
    source = named[0] if named else variants[0]
    if source.get("ModelName") == plan["model_name"]:
        return None  # it already serves the new model: nothing else to keep
    if "ServerlessConfig" in source:
        raise DeployError(
            f"the current variant '{source.get('VariantName')}' is serverless; a serverless endpoint "
            "has one variant: remove variants.keep_current"
        )
    return {**source, "VariantName": keep["name"], "InitialVariantWeight": keep["weight"]}


def production_variants(plan: dict[str, Any], current: dict[str, Any] | None) -> list[dict[str, Any]]:
    """CreateEndpointConfig's ProductionVariants: the kept variant (if any), then the new model's."""
    new: dict[str, Any] = {"VariantName": plan["variant_name"], "ModelName": plan["model_name"]}
    if plan["serverless_config"]:
        new["ServerlessConfig"] = dict(plan["serverless_config"])
    else:
        new["InstanceType"] = plan["instance_type"]
        new["InitialInstanceCount"] = plan["instance_count"]
    new["InitialVariantWeight"] = float(plan["variant_weight"])
    kept = _kept(plan, current)
    return [kept, new] if kept else [new]


def _differences(wanted: list[dict[str, Any]], capture: Any, existing: dict[str, Any]) -> list[str]:
    found = {v.get("VariantName"): v for v in existing.get("ProductionVariants", [])}
    out = []
    if set(found) != {v["VariantName"] for v in wanted}:
        out.append(f"variants {sorted(found)}, not {sorted(v['VariantName'] for v in wanted)}")
    for variant in wanted:
        have = found.get(variant["VariantName"], {})
        out += [
            f"{variant['VariantName']}.{key} {have.get(key)!r}, not {value!r}"
            for key, value in variant.items()
            if variant["VariantName"] in found and have.get(key) != value
        ]
    have_capture = existing.get("DataCaptureConfig")
    if capture and (not have_capture or any(have_capture.get(k) != v for k, v in capture.items())):
        out.append(f"DataCaptureConfig {have_capture!r}, not {capture!r}")
    if not capture and have_capture:
        out.append(f"DataCaptureConfig {have_capture!r}, not none")
    return out


def ensure_endpoint_config(client: Any, plan: dict[str, Any], variants: list[dict[str, Any]]) -> bool:
    """Create the endpoint config, or reuse a same-named one with exactly these variants and data
    capture (DescribeEndpointConfig first, so a repeated deploy sends no create). True if created."""
    name, capture = plan["endpoint_config_name"], plan["data_capture_config"]
    try:
        existing = client.describe_endpoint_config(EndpointConfigName=name)
    except Exception as exc:
        if not not_found(exc):
            raise
        request: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": variants}
        if capture:
            request["DataCaptureConfig"] = capture
        try:
            client.create_endpoint_config(**request)
            return True
        except Exception as exc:  # another invocation created it meanwhile: compare with that one
            if not already_exists(exc):
                raise
            existing = client.describe_endpoint_config(EndpointConfigName=name)
    differences = _differences(variants, capture, existing)
    if differences:
        raise DeployError(
            f"endpoint config '{name}' already exists with {'; '.join(differences)}; pass another "
            "endpoint_config_name prefix"
        )
    return False
