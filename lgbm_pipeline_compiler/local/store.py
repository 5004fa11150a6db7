"""An embedded object store: s3://bucket/key ↔ {root}/s3/bucket/key on the local disk."""

from __future__ import annotations

import shutil
from pathlib import Path


class StoreError(ValueError):
    """A URI is malformed or names nothing in the store."""


class ObjectStore:
    def __init__(self, root: str | Path):
        self.root = Path(root) / "s3"

    def path(self, uri: str) -> Path:
        if not uri.startswith("s3://") or len(uri) <= 5:
            raise StoreError(f"not an S3 URI: {uri!r}")
        key = uri[5:].strip("/")
        if any(part in ("", ".", "..") for part in key.split("/")):
            raise StoreError(f"unsafe S3 URI: {uri!r}")
        return self.root / key

    def exists(self, uri: str) -> bool:
        path = self.path(uri)
        return path.is_file() or (path.is_dir() and any(path.iterdir()))

    def put_file(self, uri: str, source: str | Path) -> None:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    def put_bytes(self, uri: str, data: bytes) -> None:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def read_bytes(self, uri: str) -> bytes:
        path = self.path(uri)
        if not path.is_file():
            raise StoreError(f"no object at {uri}")
        return path.read_bytes()

    def download(self, uri: str, destination: Path) -> None:
        """S3Prefix semantics: a single object lands as its file name; a prefix copies its tree."""
        source = self.path(uri)
        destination.mkdir(parents=True, exist_ok=True)
        if source.is_file():
            shutil.copyfile(source, destination / source.name)
        elif source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            raise StoreError(f"nothing in the local object store at {uri}")

    def upload_dir(self, source: Path, uri: str) -> None:
        target = self.path(uri)
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target, dirs_exist_ok=True)
