"""An embedded object store: s3://bucket/key ↔ {work_dir}/s3/bucket/key on the local disk.

Keys come from definitions and S3 listings, so every URI goes through paths.inside: no ``..``,
no symlink followed (a link planted in the store, say in a checked-out ``.lgbm-pipeline/``, is
refused, not written through). Objects and prefixes are written atomically: a file through a
temporary file in ``{work_dir}/tmp/`` and a rename, a prefix (a job's output dir) copied into
``tmp/`` and swapped in, so a listing never sees half an upload.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from . import paths

STAGING = "tmp"
FIX = "use an S3 URI whose key has no empty, '.' or '..' segment, backslash or control character"


class StoreError(ValueError):
    """A URI is malformed or names nothing in the store."""


class ObjectStore:
    def __init__(self, root: str | Path):
        self.work_dir = Path(root)
        self.root = self.work_dir / "s3"

    def path(self, uri: str) -> Path:
        if not isinstance(uri, str) or not uri.startswith("s3://") or len(uri) <= 5:
            raise StoreError(f"not an S3 URI: {uri!r}")
        key = uri[5:].rstrip("/")
        try:
            parts = paths.components(key, what="S3 URI", fix=FIX)
        except paths.UnsafePath as err:
            raise paths.UnsafePath("S3 URI", uri, err.reason, FIX) from None
        paths.refuse_links(self.work_dir, ["s3", *parts], what="S3 URI", value=uri, fix=FIX)
        return self.root.joinpath(*parts)

    def _staging(self) -> Path:
        return paths.ensure_dir(self.work_dir, self.work_dir / STAGING)

    def exists(self, uri: str) -> bool:
        path = self.path(uri)
        return path.is_file() or (path.is_dir() and any(path.iterdir()))

    def put_file(self, uri: str, source: str | Path) -> None:
        paths.copy_atomic(self.work_dir, source, self.path(uri), staging=self._staging())

    def put_bytes(self, uri: str, data: bytes) -> None:
        paths.write_atomic(self.work_dir, self.path(uri), data, staging=self._staging())

    def read_bytes(self, uri: str) -> bytes:
        path = self.path(uri)
        if not path.is_file():
            raise StoreError(f"no object at {uri}")
        return paths.read_bytes(path)

    def download(self, uri: str, destination: Path) -> None:
        """S3Prefix semantics: a single object lands as its file name; a prefix copies its tree."""
        source = self.path(uri)
        destination.mkdir(parents=True, exist_ok=True)
        if source.is_file():
            paths.copy_file(source, destination / source.name)
        elif source.is_dir():
            paths.copy_tree(source, destination)
        else:
            raise StoreError(f"nothing in the local object store at {uri}")

    def upload_dir(self, source: Path, uri: str) -> None:
        """Replace the prefix ``uri`` with the files under ``source`` (a job's output dir; a link
        in it is followed only when it stays inside ``source``)."""
        target = self.path(uri)
        paths.ensure_dir(self.work_dir, target.parent)
        staging = Path(tempfile.mkdtemp(prefix="upload.", dir=self._staging()))
        old = None
        try:
            paths.copy_tree(source, staging / "new", follow_within=source)
            try:
                mode = os.lstat(target).st_mode
            except FileNotFoundError:
                mode = None
            if mode is not None:
                old = staging / "old"
                os.rename(target, old)  # a link was refused by path(); a file or dir moves aside
            os.rename(staging / "new", target)
        except BaseException:
            if old is not None and not os.path.lexists(target):
                os.rename(old, target)  # put the previous objects back
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # with the previous objects, if replaced
