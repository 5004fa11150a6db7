"""The manifest's artifacts to their content-addressed S3 keys, each uploaded once.

An object already at its key is kept when it holds the same bytes: its ``sha256`` metadata (what
this module writes), else S3's SHA-256 checksum, else its bytes downloaded and hashed (artifacts are
small). Uploads carry ``ChecksumSHA256``, so S3 refuses bytes that do not match the hash.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from .aws import (
    Aws,
    ShipEnvironmentError,
    ShipInputError,
    aws_error,
    bucket_fix,
    calling,
    error_code,
    s3_parts,
)

if TYPE_CHECKING:
    from ..compiler.artifacts import Artifact

NEW, PRESENT, DIFFERENT = "new", "present", "different"


def checksum(data: bytes) -> str:
    """S3's ChecksumSHA256 of a single-part object: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass(frozen=True)
class Upload:
    uri: str
    artifact: Artifact
    state: str
    """NEW (no object at the key), PRESENT (the same bytes: skipped) or DIFFERENT (other bytes at a
    content-addressed key: replaced)."""

    @property
    def needed(self) -> bool:
        return self.state != PRESENT


def check_buckets(aws: Aws, uris: Iterable[str]) -> None:
    """HeadBucket on every bucket the artifacts go to: a missing one is bad input, a refused one a
    permission problem, both said before anything changes."""
    s3 = aws.client("s3")
    for bucket in sorted({s3_parts(uri)[0] for uri in uris}):
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as err:
            code = error_code(err)
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise ShipInputError(
                    f"s3:ListBucket: bucket {bucket} (storage.write) does not exist; {bucket_fix(bucket)}"
                ) from None
            if code in ("403", "AccessDenied", "Forbidden"):
                raise ShipEnvironmentError(
                    f"s3:ListBucket on bucket {bucket} (storage.write) was denied (HeadBucket 403): the bucket "
                    "belongs to another account or these credentials may not list it; allow s3:ListBucket"
                ) from None
            raise aws_error(err, "s3:ListBucket", f"bucket {bucket}") from None
        except Exception as err:  # botocore errors other than ClientError
            raise aws_error(err, "s3:ListBucket", f"bucket {bucket}") from None


def _state(aws: Aws, uri: str, artifact: Artifact) -> str:
    s3 = aws.client("s3")
    bucket, key = s3_parts(uri)
    try:
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as err:
        if error_code(err) in ("404", "NoSuchKey", "NotFound"):
            return NEW
        raise aws_error(err, "s3:GetObject (HeadObject)", uri) from None
    except Exception as err:
        raise aws_error(err, "s3:GetObject (HeadObject)", uri) from None
    if head.get("Metadata", {}).get("sha256") == artifact.digest:
        return PRESENT
    if head.get("ChecksumSHA256") == checksum(artifact.data):
        return PRESENT
    if head.get("ContentLength") != len(artifact.data):
        return DIFFERENT
    with calling("s3:GetObject", uri):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return PRESENT if hashlib.sha256(body).hexdigest() == artifact.digest else DIFFERENT


def plan_uploads(aws: Aws, artifacts: Mapping[str, Artifact]) -> list[Upload]:
    """Each artifact with what uploading it would do (reads only)."""
    check_buckets(aws, artifacts)
    return [Upload(uri, artifact, _state(aws, uri, artifact)) for uri, artifact in sorted(artifacts.items())]


def apply_uploads(aws: Aws, uploads: Iterable[Upload]) -> list[Upload]:
    """PutObject for each needed upload; returns them."""
    s3 = aws.client("s3")
    done = []
    for upload in uploads:
        if not upload.needed:
            continue
        bucket, key = s3_parts(upload.uri)
        with calling("s3:PutObject", upload.uri):
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=upload.artifact.data,
                ChecksumSHA256=checksum(upload.artifact.data),
                Metadata={"sha256": upload.artifact.digest},
            )
        done.append(upload)
    return done
