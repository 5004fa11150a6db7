"""Where a local run finds an input no step produces: --data, the bundled example data, or S3.

In that order: a file mapped with ``--data S3_URI=PATH``; the UCI Adult files AWS publishes in its
example-files buckets, which ship gzip'd in ``examples/data/`` (so a fresh clone runs the census
pipeline with no network); anything else is read from S3 through boto3's standard credential
chain (environment, profile, SSO, instance role; ``AWS_ENDPOINT_URL`` points it elsewhere).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from .store import ObjectStore

EXAMPLE_DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
# Buckets AWS publishes its example data in: the global one and the regional mirrors.
EXAMPLE_BUCKETS = re.compile(r"^(sagemaker-sample-files|sagemaker-example-files-prod-[a-z0-9-]+)$")
EXAMPLE_KEYS = {
    "datasets/tabular/uci_adult/adult.data": "adult.data.gz",
    "datasets/tabular/uci_adult/adult.test": "adult.test.gz",
}


class InputNotFound(LookupError):
    """An input is neither mapped, nor bundled, nor readable from S3."""


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def bundled_example(uri: str) -> Path | None:
    """The gzip'd copy of a public example file in examples/data/, if there is one."""
    bucket, key = _split(uri)
    name = EXAMPLE_KEYS.get(key) if EXAMPLE_BUCKETS.match(bucket) else None
    path = EXAMPLE_DATA / name if name else None
    return path if path is not None and path.is_file() else None


def fetch_from_s3(uri: str, store: ObjectStore) -> list[str]:
    """Copy an object, or every object under a prefix, into the store; returns the keys copied."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _split(uri)
    try:
        client = boto3.client("s3")
        listing = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
        keys = [
            item["Key"]
            for page in listing
            for item in page.get("Contents", [])
            if item["Key"] == key or key.endswith("/") or item["Key"].startswith(key + "/")
        ]
        for found in keys:
            body = client.get_object(Bucket=bucket, Key=found)["Body"].read()
            store.put_bytes(f"s3://{bucket}/{found}", body)
    except (BotoCoreError, ClientError) as err:
        raise InputNotFound(f"reading it from S3 failed: {err}") from None
    if not keys:
        raise InputNotFound("S3 has no object at that key or under that prefix")
    return keys


def provide(uri: str, store: ObjectStore) -> str:
    """Put an input the store lacks into it; returns where it came from (for the run log)."""
    example = bundled_example(uri)
    if example is not None:
        store.put_bytes(uri, gzip.decompress(example.read_bytes()))
        return f"bundled example data {example}"
    keys = fetch_from_s3(uri, store)
    return f"S3 ({len(keys)} object{'s' if len(keys) > 1 else ''})"
