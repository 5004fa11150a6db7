"""``monitor --aws``: the endpoint's SageMaker description and its S3 objects, through boto3.

Credentials and region come from boto3's standard chain, as for `deploy` and `status`
(ship/aws.py: ``AWS_PROFILE``, the environment, the config files, SSO, instance roles;
``AWS_ENDPOINT_URL`` for another endpoint), ``--region`` over the chain's region, and
ship/aws.py's retries (botocore ``standard`` mode). Read-only: DescribeEndpoint,
DescribeEndpointConfig, DescribeModel, DescribeModelPackage, S3 ListObjectsV2 and GetObject.

Errors, in the CLI's exit-code table: what does not exist (no endpoint, config, model or package;
NoSuchBucket, NoSuchKey) is bad input, one line naming it (served() turns SageMaker's into a
SourceError; S3Blobs raises BlobError naming the URI): exit 2. Credentials, permissions
(AccessDenied), the region, the network, throttling after the retries and AWS's own 5xx are the
environment: ``EnvironmentFailure`` with ship/aws.py's one line (the action, the target, the
fix): exit 3. Exit 1 stays "violations" only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from ..errors import EnvironmentFailure
from ..ship.aws import (
    BAD_CREDENTIALS,
    DENIED,
    RETRY_CONFIG,
    THROTTLED,
    aws_error,
    error_code,
    error_message,
    new_session,
    not_found,
    s3_parts,
)
from .blobs import BlobError, folder
from .sources import SourceError

NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
PAGE_SIZE = 1000


def is_environment(err: BotoCoreError | ClientError) -> bool:
    """Credentials, permissions, region, network, throttling, AWS's 5xx: not the input."""
    if isinstance(err, ClientError):
        status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error_code(err) in DENIED | BAD_CREDENTIALS | THROTTLED or status >= 500
    return not isinstance(err, ParamValidationError)


def environment_failure(
    err: BotoCoreError | ClientError, action: str, target: str = ""
) -> EnvironmentFailure:
    """ship/aws.py's one line for ``err`` (the action, the target, the fix), as exit 3."""
    return EnvironmentFailure(str(aws_error(err, action, target)))


@contextmanager
def _s3(action: str, uri: str) -> Iterator[None]:
    """S3's errors in the block: the environment's as EnvironmentFailure, the rest as BlobError."""
    try:
        yield
    except (BotoCoreError, ClientError) as err:
        if is_environment(err):
            raise environment_failure(err, action, uri) from None
        if not isinstance(err, ClientError):
            raise BlobError(f"{action} on {uri}: {err}") from None
        code = error_code(err)
        if code == "NoSuchBucket":
            raise BlobError(f"bucket {s3_parts(uri)[0]} does not exist ({uri})") from None
        if code in NOT_FOUND:
            raise BlobError(f"no object at {uri}") from None
        raise BlobError(f"{action} on {uri} failed ({code}: {error_message(err)})") from None


def _parts(uri: str) -> tuple[str, str]:
    if not isinstance(uri, str) or not uri.startswith("s3://") or len(uri) <= 5:
        raise BlobError(f"not an S3 URI: {uri!r}")
    return s3_parts(uri)


class S3Blobs:
    """S3 as a BlobSource (blobs.py), on a boto3 S3 client."""

    def __init__(self, client: Any, page_size: int = PAGE_SIZE):
        self.client = client
        self.page_size = page_size

    def read_bytes(self, uri: str) -> bytes:
        bucket, key = _parts(uri)
        with _s3("s3:GetObject", uri):
            return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def list(self, prefix: str) -> list[str]:
        base = folder(prefix)
        bucket, key = _parts(base)
        found: list[str] = []
        with _s3("s3:ListObjectsV2", base):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=key, PaginationConfig={"PageSize": self.page_size}
            )
            for page in pages:
                found += [
                    f"s3://{bucket}/{o['Key']}"
                    for o in page.get("Contents", [])
                    if not o["Key"].endswith("/")
                ]
        return sorted(found)


class SageMakerReads:
    """The Describe calls served() makes, on a boto3 SageMaker client. A resource that does not
    exist stays a ClientError (served() names it); the environment's errors become EnvironmentFailure."""

    def __init__(self, client: Any):
        self.client = client

    def _call(self, operation: str, method: Callable[..., dict], **params: str) -> dict:
        target = next(iter(params.values()), "")
        try:
            return method(**params)
        except ClientError as err:
            if is_environment(err):
                raise environment_failure(err, f"sagemaker:{operation}", target) from None
            if operation == "DescribeEndpoint" and not_found(err):
                region = self.client.meta.region_name
                raise SourceError(
                    f"{error_message(err)} (in {region}: pass --region if the endpoint is in another region)"
                ) from None
            raise
        except BotoCoreError as err:
            if is_environment(err):
                raise environment_failure(err, f"sagemaker:{operation}", target) from None
            raise SourceError(f"sagemaker:{operation} on {target}: {err}") from None

    def describe_endpoint(self, **params: str) -> dict:
        return self._call("DescribeEndpoint", self.client.describe_endpoint, **params)

    def describe_endpoint_config(self, **params: str) -> dict:
        return self._call("DescribeEndpointConfig", self.client.describe_endpoint_config, **params)

    def describe_model(self, **params: str) -> dict:
        return self._call("DescribeModel", self.client.describe_model, **params)

    def describe_model_package(self, **params: str) -> dict:
        return self._call("DescribeModelPackage", self.client.describe_model_package, **params)


def connect(region: str | None = None) -> tuple[SageMakerReads, S3Blobs]:
    """SageMaker and S3 for ``region`` (default: the standard chain's)."""
    try:
        session = new_session()
        region = region or session.region_name
        if not region:
            raise EnvironmentFailure(
                "no AWS region: pass --region, or set AWS_REGION or the profile's region"
            )
        sagemaker = session.client("sagemaker", region_name=region, config=RETRY_CONFIG)
        s3 = session.client("s3", region_name=region, config=RETRY_CONFIG)
    except (BotoCoreError, ClientError) as err:
        raise environment_failure(err, "configure AWS") from None
    return SageMakerReads(sagemaker), S3Blobs(s3)
