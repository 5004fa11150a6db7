"""The contents of a changed artifact as a unified diff: step scripts as text, JSON configs
pretty-printed, tarballs (``sourcedir.tar.gz``) and bundles (a content-addressed prefix such as
``lib``) member by member."""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import tarfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sides import Side


def _files(side: Side, uri: str, sha: str, name: str) -> dict[str, bytes] | None:
    """The artifact's files by name (one for a plain file), or None when its bytes are not at hand."""
    if any(key.startswith(uri + "/") for key in side.blobs):
        return side.members(uri)
    data = side.read(uri, sha, name)
    if data is None:
        return None
    if name.endswith((".tar.gz", ".tgz")):
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
        except (tarfile.TarError, OSError, EOFError):
            return {name: data}
    return {name: data}


def _lines(name: str, data: bytes | None) -> list[str] | None:
    """Text lines of a file (JSON pretty-printed); None for binary content."""
    if data is None:
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if name.endswith(".json"):
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text.splitlines()


def unified(label: str, old: bytes | None, new: bytes | None) -> list[str]:
    """A file's unified diff lines (``a/label`` → ``b/label``); one line for binary files."""
    a, b = _lines(label, old), _lines(label, new)
    if a is None or b is None:
        return [f"Binary files a/{label} and b/{label} differ"] if old != new else []
    return list(difflib.unified_diff(a, b, f"a/{label}", f"b/{label}", lineterm=""))


def content_diff(
    name: str, old: Side, new: Side, old_uri: str, new_uri: str, old_sha: str, new_sha: str
) -> tuple[str, ...] | None:
    """The unified diff of an artifact's two versions; None unless both are at hand."""
    a, b = _files(old, old_uri, old_sha, name), _files(new, new_uri, new_sha, name)
    if a is None or b is None:
        return None
    single = set(a) == set(b) == {name}
    out: list[str] = []
    for member in sorted(a.keys() | b.keys()):
        out += unified(name if single else f"{name}/{member}", a.get(member), b.get(member))
    return tuple(out)
