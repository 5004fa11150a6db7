"""What `monitor` finds behind an endpoint (monitor/sources.py): the package its variants serve,
the package's baselines, and a one-line refusal for what it cannot monitor."""

from __future__ import annotations

import pytest

from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.registry import LocalRegistry
from lgbm_pipeline_compiler.monitor.sources import SourceError, served

CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": "s3://b/capture/",
    "CaptureOptions": [{"CaptureMode": "InputAndOutput"}],
}


def package(work, baselines: dict | None = None) -> str:
    request = {
        "ModelPackageGroupName": "g",
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {"Containers": [{"Image": "i", "ModelDataUrl": "s3://b/m.tar.gz"}]},
    }
    if baselines:
        request["DriftCheckBaselines"] = baselines
    return LocalRegistry(work).register(request)["ModelPackageArn"]


def endpoint(work, models: dict[str, dict], capture: dict | None = CAPTURE) -> None:
    control = LocalSageMaker(work)
    variants = []
    for name, container in models.items():
        control.create_model(ModelName=f"m-{name}", PrimaryContainer=container)
        variants.append(
            {
                "VariantName": name,
                "ModelName": f"m-{name}",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        )
    request = {"EndpointConfigName": "c", "ProductionVariants": variants}
    if capture:
        request["DataCaptureConfig"] = capture
    control.create_endpoint_config(**request)
    control.create_endpoint(EndpointName="ep", EndpointConfigName="c")


def source(uri: str) -> dict:
    return {"ContentType": "application/json", "S3Uri": uri}


def test_the_package_and_its_baselines(tmp_path):
    baselines = {
        "ModelDataQuality": {"Statistics": source("s3://b/s.json"), "Constraints": source("s3://b/c.json")},
        "Bias": {
            "ConfigFile": source("s3://b/bias.json"),
            "PostTrainingConstraints": source("s3://b/a.json"),
        },
    }
    arn = package(tmp_path, baselines)
    endpoint(tmp_path, {"A": {"ModelPackageName": arn}, "B": {"ModelPackageName": arn}})
    found = served(LocalSageMaker(tmp_path), "ep")
    assert (found.package_arn, found.variants, found.capture_destination) == (
        arn,
        ["A", "B"],
        "s3://b/capture",
    )
    assert found.baselines == {
        "data_quality": ("s3://b/s.json", "s3://b/c.json"),
        "bias": ("s3://b/bias.json", "s3://b/a.json"),
    }
    assert served(LocalSageMaker(tmp_path), "ep", "B").variants == ["B"]


def test_variants_serving_different_packages_need_variant(tmp_path):
    first, second = package(tmp_path), package(tmp_path)
    endpoint(tmp_path, {"A": {"ModelPackageName": first}, "B": {"ModelPackageName": second}})
    with pytest.raises(SourceError) as err:
        served(LocalSageMaker(tmp_path), "ep")
    assert str(err.value) == (
        f"the variants of endpoint ep serve different model packages (A: {first}; B: {second}): pass --variant"
    )
    assert served(LocalSageMaker(tmp_path), "ep", "B").package_arn == second


def test_a_model_not_from_a_package_has_no_baselines(tmp_path):
    endpoint(tmp_path, {"A": {"Image": "i", "ModelDataUrl": "s3://b/m.tar.gz"}})
    with pytest.raises(
        SourceError, match="^variant A of endpoint ep serves model m-A, which is not from a model package"
    ):
        served(LocalSageMaker(tmp_path), "ep")


def test_an_endpoint_without_capture_has_nothing_to_monitor(tmp_path):
    endpoint(tmp_path, {"A": {"ModelPackageName": package(tmp_path)}}, capture=None)
    with pytest.raises(SourceError) as err:
        served(LocalSageMaker(tmp_path), "ep")
    assert str(err.value) == (
        "endpoint ep's config c has no DataCaptureConfig: nothing was captured to monitor "
        "(enable data capture on the endpoint)"
    )
