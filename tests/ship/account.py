"""The ship tests' account: names, the ship spec, and a recorder of every AWS request a session
makes. A plain module (``ship.account``: tests/conftest.py puts tests/ on sys.path), so that test
modules import it by a name no other folder's conftest.py shares."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import boto3

SHIP_SPEC = Path(__file__).with_name("ship.yaml")
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "ship-test-artifacts"
LAMBDA_ROLE = "lgbm-deploy-lambda"
PIPELINE = "census-ship-dev"
FUNCTION = "lgbm-deploy-endpoint"
HANDLER_EDIT = b"\n# edited handler\n"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _plain(value: Any) -> Any:
    """Request parameters as data: bytes (bodies, zips) as their sha256."""
    if isinstance(value, bytes | bytearray):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class Recorder:
    """Every API call a session's clients make: (service, operation, parameters as sent)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.service_model.service_name, model.name, _plain(params)))

    def operations(self) -> list[str]:
        return [f"{service}:{op}" for service, op, _ in self.calls]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [p for service, op, p in self.calls if f"{service}:{op}" == operation]

    def changes(self) -> list[str]:
        """The calls that change something in AWS."""
        reads = ("Head", "Get", "Describe", "List")
        return [o for o in self.operations() if not o.split(":", 1)[1].startswith(reads)]

    def clear(self) -> None:
        self.calls.clear()


def recording_session() -> tuple[boto3.Session, Recorder]:
    session = boto3.Session(region_name=REGION)
    recorder = Recorder()
    session.events.register("provide-client-params", recorder.hook)
    return session, recorder
