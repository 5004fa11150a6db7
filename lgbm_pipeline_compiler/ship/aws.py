"""AWS access for shipping: boto3 clients from the standard chain with retries, and every AWS error
as one line that names the action and the fix, with the exit code of the CLI's table.

Credentials and region come from boto3's standard chain (``AWS_PROFILE``, the environment, the
config files, SSO, instance roles; ``AWS_ENDPOINT_URL`` for another endpoint). Throttling and
transient errors are retried with botocore's ``standard`` retry mode (exponential backoff with
jitter, ``MAX_ATTEMPTS`` attempts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

MAX_ATTEMPTS = 10
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS})
DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "Forbidden",
        "403",
    }
)
BAD_CREDENTIALS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
        "RequestExpired",
    }
)
THROTTLED = frozenset(
    {"Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "SlowDown"}
)
_PERFORM = re.compile(r"not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9*]+)")


class ShipError(Exception):
    """A shipping command cannot go on: one line for the user; ``exit_code`` from the CLI's table."""

    exit_code = 1


class ShipInputError(ShipError):
    """Bad input: the spec, an argument, a bucket or role that does not exist or is refused (exit 2)."""

    exit_code = 2


class ShipEnvironmentError(ShipError):
    """The environment: no or rejected credentials, missing permissions, no network (exit 3)."""

    exit_code = 3


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def error_message(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Message", "")) or "(no message)"


def aws_error(err: Exception, action: str, target: str = "") -> ShipError:
    """One line for an exception raised by ``action`` (``service:Operation``) on ``target``."""
    on = f" on {target}" if target else ""
    if isinstance(err, ProfileNotFound):
        return ShipEnvironmentError(f"{action}: {err}; fix AWS_PROFILE or add the profile to ~/.aws/config")
    if isinstance(err, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return ShipEnvironmentError(
            f"{action}: no usable AWS credentials ({err}); set AWS_PROFILE (aws configure / aws sso login) "
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(err, NoRegionError):
        return ShipEnvironmentError(f"{action}: no AWS region; set AWS_REGION or the profile's region")
    if isinstance(err, EndpointConnectionError | ConnectTimeoutError):
        return ShipEnvironmentError(
            f"{action}: cannot reach AWS ({err}); check the network, or AWS_ENDPOINT_URL if you set it"
        )
    if not isinstance(err, ClientError):
        return ShipError(f"{action}{on} failed: {err}")
    code, message = error_code(err), error_message(err)
    if code in DENIED:
        match = _PERFORM.search(message)
        denied = match.group(1) if match else action
        return ShipEnvironmentError(
            f"{action}{on} was denied ({code}: {message}); allow {denied} for these credentials"
        )
    if code in BAD_CREDENTIALS:
        return ShipEnvironmentError(
            f"{action}: AWS rejected the credentials ({code}: {message}); refresh them (aws sso login, "
            "or new access keys)"
        )
    if code == "NoSuchBucket":
        bucket = err.response.get("Error", {}).get("BucketName") or target
        return ShipInputError(f"{action}: bucket {bucket} does not exist; {bucket_fix(str(bucket))}")
    if code in THROTTLED:
        return ShipError(
            f"{action}{on} was still throttled after {MAX_ATTEMPTS} attempts ({code}: {message}); retry later"
        )
    return ShipError(f"{action}{on} failed ({code}: {message})")


def bucket_fix(bucket: str) -> str:
    return (
        f"create it (aws s3 mb s3://{bucket}) or point storage.write at a bucket these credentials can "
        "write to"
    )


@contextmanager
def calling(action: str, target: str = "") -> Iterator[None]:
    """Translate AWS exceptions raised in the block into one-line ShipErrors."""
    try:
        yield
    except (BotoCoreError, ClientError) as err:
        raise aws_error(err, action, target) from None


@dataclass
class Aws:
    """A boto3 session in one region, its clients (retrying, cached) and the caller's account."""

    session: boto3.Session
    region: str
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _account: str | None = None

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            with calling(f"{service}: create client"):
                self._clients[key] = self.session.client(service, region_name=key[1], config=RETRY_CONFIG)
        return self._clients[key]

    def account(self) -> str:
        """The caller's account (STS GetCallerIdentity; also proves the credentials work)."""
        if self._account is None:
            with calling("sts:GetCallerIdentity"):
                self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account


def new_session() -> boto3.Session:
    """A session on boto3's standard chain (the one place a command makes one)."""
    return boto3.Session()


def connect(region: str, session: boto3.Session | None = None, strict: bool = True) -> Aws:
    """An Aws for ``region`` (the pipeline's). With ``strict``, the standard chain's region, when it
    has one, must be the same: the compiled definition names that region's container images."""
    with calling("configure AWS"):
        session = session or new_session()
    chain = session.region_name
    if strict and chain and chain != region:
        raise ShipInputError(
            f"the AWS region from your profile or environment is {chain} but pipeline.region is {region} "
            f"(the definition uses {region}'s images); set AWS_REGION={region}, or compile the spec for {chain}"
        )
    return Aws(session, region)


def s3_parts(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def not_found(err: ClientError) -> bool:
    """A Describe/Get of a resource that does not exist (ResourceNotFound, or SageMaker's
    ValidationException "does not exist" / "Could not find")."""
    code, message = error_code(err), error_message(err).lower()
    if code in ("ResourceNotFound", "ResourceNotFoundException", "NoSuchEntity", "404", "NotFound"):
        return True
    return code == "ValidationException" and ("does not exist" in message or "could not find" in message)
