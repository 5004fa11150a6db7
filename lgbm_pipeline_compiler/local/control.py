"""A local SageMaker control plane for endpoints: the calls the deploy Lambda makes, kept on disk.

It answers like boto3's SageMaker client (same method names, same errors) so the real handler in
step_scripts/deploy_endpoint.py runs unchanged; `lgbm-pipeline serve` then serves an endpoint.
Layout: {work_dir}/control/{models,endpoint-configs,endpoints}/{name}.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ..emit import render_json, write_text_atomic
from .records import now


def _error(operation: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, operation)


class LocalSageMaker:
    def __init__(self, work_dir: str | Path):
        self.root = Path(work_dir) / "control"

    def _path(self, kind: str, name: str) -> Path:
        return self.root / kind / f"{name}.json"

    def _read(self, kind: str, name: str, operation: str, label: str) -> dict[str, Any]:
        path = self._path(kind, name)
        if not path.is_file():
            raise _error(operation, f'Could not find {label} "{name}".')
        return json.loads(path.read_text())

    def _create(
        self, kind: str, name: str, operation: str, label: str, record: dict[str, Any]
    ) -> dict[str, Any]:
        path = self._path(kind, name)
        if path.exists():
            raise _error(operation, f'Cannot create already existing {label} "{name}".')
        write_text_atomic(path, render_json({**record, "CreationTime": now()}))
        return record

    def create_model(self, **request: Any) -> dict[str, Any]:
        return self._create("models", request["ModelName"], "CreateModel", "model", request)

    def describe_model(self, ModelName: str) -> dict[str, Any]:  # noqa: N803 - boto3 signature
        return self._read("models", ModelName, "DescribeModel", "model")

    def create_endpoint_config(self, **request: Any) -> dict[str, Any]:
        name = request["EndpointConfigName"]
        return self._create(
            "endpoint-configs", name, "CreateEndpointConfig", "endpoint configuration", request
        )

    def describe_endpoint_config(self, EndpointConfigName: str) -> dict[str, Any]:  # noqa: N803
        return self._read(
            "endpoint-configs", EndpointConfigName, "DescribeEndpointConfig", "endpoint configuration"
        )

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:  # noqa: N803
        return self._read("endpoints", EndpointName, "DescribeEndpoint", "endpoint")

    def create_endpoint(self, EndpointName: str, EndpointConfigName: str) -> dict[str, Any]:  # noqa: N803
        self.describe_endpoint_config(EndpointConfigName)
        record = {
            "EndpointName": EndpointName,
            "EndpointConfigName": EndpointConfigName,
            "EndpointStatus": "InService",
        }
        return self._create("endpoints", EndpointName, "CreateEndpoint", "endpoint", record)

    def update_endpoint(self, EndpointName: str, EndpointConfigName: str) -> dict[str, Any]:  # noqa: N803
        record = self.describe_endpoint(EndpointName)
        self.describe_endpoint_config(EndpointConfigName)
        record.update(
            EndpointConfigName=EndpointConfigName, EndpointStatus="InService", LastModifiedTime=now()
        )
        write_text_atomic(self._path("endpoints", EndpointName), render_json(record))
        return record

    def endpoint_model_package(self, endpoint_name: str) -> str:
        """The model package an endpoint serves (endpoint → config → model → package)."""
        endpoint = self.describe_endpoint(EndpointName=endpoint_name)
        config = self.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        model = self.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        return model["PrimaryContainer"]["ModelPackageName"]

    def endpoints(self) -> list[str]:
        folder = self.root / "endpoints"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
