"""An offline SageMaker session: no network, no credentials, no machine-local SDK config.

Every upload the SDK attempts while building (Clarify analysis configs, monitoring configs) is
captured in memory instead, so `emit` can move it to a content-addressed key. Any other AWS call
raises :class:`OfflineViolation` naming the operation, before anything is signed or sent.

No botocore session made while compiling has a credential provider: not ours, not the ones the SDK
makes on its own (JumpStart's default session at import, ``boto3.client`` in the estimator's
interactive-app helper). Creating a client resolves credentials, which would run a profile's
``credential_process`` or ask ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` over HTTP; with no providers it
resolves nothing. boto3's default session is swapped for an offline one for the duration, so the
caller's own default session is neither created nor changed by compiling.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.credentials
import botocore.loaders
import botocore.session

from ..errors import OfflineViolation

# The EC2 metadata probe and the v2 deprecation banner read the first two; the next two point the
# SDK's defaults files (/etc/xdg/sagemaker, ~/.config/sagemaker) at an empty file, so machine-local
# settings can never leak into the output. The AWS config and credentials files and the profile
# are hidden too: the SDK makes sessions of its own at import, which would fail on an AWS_PROFILE
# naming a profile that does not exist (None: unset for the duration).
_QUIET_ENV: dict[str, str | None] = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
    "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": os.devnull,
    "SAGEMAKER_USER_CONFIG_OVERRIDE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
}


def _set_env(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextlib.contextmanager
def quiet_sdk() -> Iterator[None]:
    """Silence the SDK while it is imported and used: no stdout, no INFO logs, no banners.

    Environment variables are set only for the duration (the EC2 metadata probe and the v2
    deprecation banner read them; see _QUIET_ENV) and restored afterwards; no botocore session
    made meanwhile has a credential provider (:func:`no_credentials`).
    """
    saved = {k: os.environ.get(k) for k in _QUIET_ENV}
    _set_env(_QUIET_ENV)
    logger = logging.getLogger("sagemaker")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), no_credentials():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        logger.propagate = propagate
        _set_env(saved)


def no_credential_resolver(*_args: Any, **_kwargs: Any) -> botocore.credentials.CredentialResolver:
    """A credential resolver with no providers: it finds no credentials and runs nothing."""
    return botocore.credentials.CredentialResolver(providers=[])


_LOADERS: dict[str | None, botocore.loaders.Loader] = {}
_create_loader = botocore.loaders.create_loader


def shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    """botocore's data loader, one per data path for the process.

    Building a pipeline makes about a dozen clients over several botocore sessions, and every
    ``image_uris.retrieve`` makes a fresh loader (``sagemaker.utils._botocore_resolver``): each
    parsed ``endpoints.json`` and the large ``sagemaker`` service model again, about half of a
    compile's CPU time. The files are read-only package data, and a loader already hands every
    client of its session the same parsed objects, so sessions can share one."""
    if search_path_string not in _LOADERS:
        _LOADERS[search_path_string] = _create_loader(search_path_string)
    return _LOADERS[search_path_string]


@contextlib.contextmanager
def no_credentials() -> Iterator[None]:
    """For the duration, every botocore session resolves credentials with no providers and reads
    its data files through :func:`shared_loader`, and boto3's default session is an offline one
    (the caller's is restored afterwards)."""
    saved_resolver, saved_default = botocore.credentials.create_credential_resolver, boto3.DEFAULT_SESSION
    botocore.credentials.create_credential_resolver = no_credential_resolver
    botocore.loaders.create_loader = botocore.session.create_loader = shared_loader
    boto3.DEFAULT_SESSION = offline_boto_session(None)
    try:
        yield
    finally:
        botocore.credentials.create_credential_resolver = saved_resolver
        botocore.loaders.create_loader = botocore.session.create_loader = _create_loader
        boto3.DEFAULT_SESSION = saved_default


class RefusingClient:
    """Stands in for a boto3 client the SDK creates but must not use while compiling."""

    def __init__(self, service: str):
        self._service = service

    def __getattr__(self, name: str) -> Any:
        def call(*_args: Any, **_kwargs: Any) -> None:
            raise OfflineViolation(
                f"compiling tried to call {self._service}.{name}; compile must stay offline"
            )

        return call


def _refuse(model: Any = None, **_: Any) -> None:
    name = getattr(model, "name", "an AWS operation")
    service = getattr(getattr(model, "service_model", None), "service_name", "aws")
    raise OfflineViolation(f"compiling tried to call {service}:{name}; compile must stay offline")


def offline_boto_session(region: str | None) -> boto3.Session:
    """A boto3 session with no credential providers, whose every API call is refused before signing.

    It reads no AWS config or credentials file and no profile (AWS_PROFILE naming a profile that
    does not exist would otherwise fail the compile)."""
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    core.set_config_variable("config_file", os.devnull)
    core.set_config_variable("credentials_file", os.devnull)
    core.register_component("credential_provider", no_credential_resolver())
    if region is not None:
        core.set_config_variable("region", region)
    core.register("before-call", _refuse)
    return _OfflineBotoSession(botocore_session=core, region_name=region)


STUB_CLIENTS = frozenset(
    {"runtime.sagemaker", "sagemaker-featurestore-runtime", "sagemaker-metrics", "scheduler"}
)
"""Clients the SDK makes while building a pipeline but never calls: a PipelineSession's runtime,
feature store and metrics clients, and a Pipeline's EventBridge Scheduler client."""


class _OfflineBotoSession(boto3.Session):
    """Gives a :class:`RefusingClient` for :data:`STUB_CLIENTS`: each real one costs a client class
    built from its service model (4 of the 7 clients of a compile, about 0.1 s of it)."""

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        if service_name in STUB_CLIENTS:
            return RefusingClient(service_name)
        return super().client(service_name, *args, **kwargs)


def make_session(region: str, bucket: str) -> tuple[Any, dict[str, bytes]]:
    """A PipelineSession that captures uploads; returns it with the captured {s3_uri: bytes}."""
    from sagemaker.workflow.pipeline_context import PipelineSession

    captured: dict[str, bytes] = {}

    class CapturingSession(PipelineSession):
        def upload_data(self, path, bucket=None, key_prefix="data", callback=None, extra_args=None):  # noqa: ANN001
            src = Path(path)
            if src.is_dir():
                raise OfflineViolation(f"the SDK tried to upload the directory {path}")
            uri = f"s3://{bucket}/{key_prefix.strip('/')}/{src.name}"
            captured[uri] = src.read_bytes()
            return uri

        def upload_string_as_file_body(self, body, bucket, key, kms_key=None):  # noqa: ANN001
            uri = f"s3://{bucket}/{key}"
            captured[uri] = body.encode() if isinstance(body, str) else bytes(body)
            return uri

    # Stub clients also spare loading four large botocore service models. The SDK's config stays
    # empty (see _QUIET_ENV), so no lookup pays for a JSON Schema validation (~0.25 s each). None of
    # the SDK calls made while building is telemetry-instrumented; the offline tests prove it.
    session = CapturingSession(
        boto_session=offline_boto_session(region),
        sagemaker_client=RefusingClient("sagemaker"),
        default_bucket=bucket,
    )
    return session, captured
