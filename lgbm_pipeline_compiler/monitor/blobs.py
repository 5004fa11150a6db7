"""Where the monitor reads objects: a read-only "blob source" over S3 URIs.

Two sources: ``LocalBlobs`` over the local object store (what `lgbm-pipeline serve` captured and a
local run registered) and s3.py's ``S3Blobs`` over boto3 (``--aws``). captured.py and sources.py
read through this protocol only, so both modes share one code path. A URI that names nothing, or a
prefix that cannot be listed, raises ``BlobError`` naming the URI (callers add what it was for).
"""

from __future__ import annotations

from typing import Protocol

from ..local.store import ObjectStore


class BlobError(ValueError):
    """An object cannot be read or a prefix listed; the message names the URI."""


class BlobSource(Protocol):
    def read_bytes(self, uri: str) -> bytes:
        """The object at ``uri`` (``s3://bucket/key``); BlobError when there is none."""
        ...

    def list(self, prefix: str) -> list[str]:
        """The URIs of every object under the folder ``prefix`` (recursively), sorted; [] if none."""
        ...


def folder(prefix: str) -> str:
    """``prefix`` as a folder (one trailing slash): ``s3://b/capture/ep`` must not list ``ep2/``."""
    return prefix.rstrip("/") + "/"


class LocalBlobs:
    """The local object store (``{work_dir}/s3/bucket/key``) as a BlobSource."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def read_bytes(self, uri: str) -> bytes:
        try:
            return self.store.read_bytes(uri)
        except ValueError as err:  # StoreError, paths.UnsafePath: both name the URI
            raise BlobError(str(err)) from None

    def list(self, prefix: str) -> list[str]:
        base = folder(prefix)
        try:
            root = self.store.path(base)
        except ValueError as err:
            raise BlobError(str(err)) from None
        if not root.is_dir():
            return []
        return sorted(f"{base}{p.relative_to(root).as_posix()}" for p in root.rglob("*") if p.is_file())


def as_blobs(source: BlobSource | ObjectStore) -> BlobSource:
    """A BlobSource for ``source`` (an ObjectStore is wrapped in LocalBlobs)."""
    return LocalBlobs(source) if isinstance(source, ObjectStore) else source
