"""The one rule for turning a user- or definition-supplied name into a path under the work dir.

Run ids and model package ARNs from the command line, and S3 keys, step, model, group and channel
names and entry points from a (hand-editable) definition, all go through :func:`inside`:

- the name is relative and ``/``-separated, with no empty, ``.`` or ``..`` component, no NUL or
  other control character, no backslash, each component at most 255 bytes: nothing that could
  climb out of the root or mean something else on another system;
- no existing component below the root is a symlink: a link is never followed, wherever it leads
  (checked per component with ``lstat``). The root itself is the user's choice and is trusted.

Anything else raises :class:`UnsafePath` (a ``ValueError``: exit code 2), one line naming the value,
why, and the fix. Writes create missing directories one component at a time (refusing a link met
on the way), write a temporary file created with ``O_EXCL`` (never through an existing link) and
rename it over the target, so a reader sees the old file or the new one, never a part. Tree copies
refuse links (:func:`copy_tree`), or follow only those that stay inside the tree they copy.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

NAME_MAX = 255
CHUNK = 1 << 20


class UnsafePath(ValueError):
    """A name that would leave its root, follow a symlink, or is not a portable file name."""

    def __init__(self, what: str, value: str, reason: str, fix: str):
        self.what, self.value, self.reason, self.fix = what, value, reason, fix
        super().__init__(f"{what} {value!r}: {reason}; {fix}")


def _problem(component: str) -> str | None:
    if component == "":
        return "an empty path component"
    if component in (".", ".."):
        return f"a {component!r} path component"
    if "\\" in component:
        return "a backslash (not a path separator here, but one on Windows)"
    if any(ord(c) < 32 or ord(c) == 127 for c in component):
        return "a control character" if "\0" not in component else "a NUL character"
    try:
        encoded = os.fsencode(component)
    except UnicodeEncodeError:
        return "a character the file system cannot encode"
    if len(encoded) > NAME_MAX:
        return f"a component longer than {NAME_MAX} bytes"
    return None


def components(value: str, *, what: str, fix: str, single: bool = False) -> list[str]:
    """The components of a relative ``/``-separated name, or UnsafePath."""
    if not isinstance(value, str) or not value:
        raise UnsafePath(what, str(value), "it is empty", fix)
    if value.startswith("/"):
        raise UnsafePath(what, value, "an absolute path", fix)
    parts = value.split("/")
    for part in parts:
        problem = _problem(part)
        if problem:
            detail = " (it would leave its directory)" if part == ".." else ""
            raise UnsafePath(what, value, f"{problem}{detail}", fix)
    if single and len(parts) > 1:
        raise UnsafePath(what, value, "it contains '/' (it names one file, not a path)", fix)
    return parts


def refuse_links(root: Path, parts: Iterable[str], *, what: str, value: str, fix: str) -> None:
    """UnsafePath if an existing component of root/parts (below root) is a symlink."""
    current = Path(root)
    for part in parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return  # nothing further exists to follow
        if stat.S_ISLNK(mode):
            target = os.readlink(current)
            raise UnsafePath(
                what,
                value,
                f"{current} is a symlink (to {target}), and links under the work dir are never followed",
                f"{fix}; remove the link (the work dir holds only what lgbm-pipeline wrote)",
            )


def inside(
    root: str | Path, value: str, *, what: str, fix: str, prefix: Iterable[str] = (), single: bool = False
) -> Path:
    """``root/prefix/value`` after the checks in the module docstring; ``prefix`` is ours (trusted
    names such as ``runs``), ``value`` the supplied one (one file name if ``single``)."""
    parts = [*prefix, *components(value, what=what, fix=fix, single=single)]
    refuse_links(Path(root), parts, what=what, value=value, fix=fix)
    return Path(root).joinpath(*parts)


def name(value: str, *, what: str, fix: str) -> str:
    """A supplied value that must be one file name (a run id, a group, a step name)."""
    return components(value, what=what, fix=fix, single=True)[0]


def _link_error(path: Path) -> UnsafePath:
    return UnsafePath(
        "path",
        str(path),
        f"a symlink (to {os.readlink(path)}) appeared under the work dir",
        "remove the link; links under the work dir are never followed",
    )


def ensure_dir(root: str | Path, path: str | Path) -> Path:
    """Create ``path`` (under ``root``) one component at a time; a link met on the way is refused."""
    root, path = Path(root), Path(path)
    root.mkdir(parents=True, exist_ok=True)
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        try:
            os.mkdir(current)
        except FileExistsError:
            mode = os.lstat(current).st_mode
            if stat.S_ISLNK(mode):
                raise _link_error(current) from None
            if not stat.S_ISDIR(mode):
                raise NotADirectoryError(f"{current} exists and is not a directory") from None
    return path


def _write(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` to ``fd`` (the one place every write of this module goes through)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _temporary(directory: Path, name_hint: str) -> tuple[int, Path]:
    fd, tmp = tempfile.mkstemp(prefix=f".{name_hint[:100]}.", dir=directory)  # O_EXCL: a new file
    return fd, Path(tmp)


def write_atomic(root: str | Path, path: str | Path, data: bytes, staging: Path | None = None) -> None:
    """Write ``data`` to ``path`` under ``root`` via a temporary file and a rename.

    ``staging``: where the temporary file goes (same file system), when a half-written sibling
    must never be seen in the target's directory (the object store lists directories).
    """
    path = Path(path)
    ensure_dir(root, path.parent)
    fd, tmp = _temporary(staging or path.parent, path.name)
    try:
        with os.fdopen(fd, "wb", closefd=True) as handle:
            _write(handle.fileno(), data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _copy_into(source: Path, fd: int) -> None:
    with open(source, "rb") as src:
        while chunk := src.read(CHUNK):
            _write(fd, chunk)


def copy_file(source: str | Path, target: str | Path) -> None:
    """Copy a regular file (not a link) to ``target`` in a directory the caller owns."""
    if Path(source).is_symlink():
        raise _link_error(Path(source))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(target, flags, 0o644), "wb") as handle:
        _copy_into(Path(source), handle.fileno())


def copy_atomic(root: str | Path, source: str | Path, path: str | Path, staging: Path | None = None) -> None:
    """Copy the file ``source`` to ``path`` under ``root`` via a temporary file and a rename."""
    path = Path(path)
    ensure_dir(root, path.parent)
    fd, tmp = _temporary(staging or path.parent, path.name)
    try:
        with os.fdopen(fd, "wb", closefd=True) as handle:
            _copy_into(Path(source), handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, refusing a symlink in its last component (O_NOFOLLOW)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        if Path(path).is_symlink():
            raise _link_error(Path(path)) from None
        raise err from None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def copy_tree(source: Path, destination: Path, *, follow_within: Path | None = None) -> int:
    """Copy the regular files and directories under ``source`` into ``destination`` (a directory
    the caller owns); returns the number of files. A symlink is refused, unless ``follow_within``
    is given and the link resolves inside it (then its target's content is copied). Anything but
    files, directories and such links (sockets, devices, fifos) is refused."""
    destination.mkdir(parents=True, exist_ok=True)
    allowed = Path(os.path.realpath(follow_within)) if follow_within is not None else None
    seen: set[str] = set()

    def walk(src: Path, dst: Path) -> int:
        real = os.path.realpath(src)
        if real in seen:
            raise UnsafePath("tree", str(source), f"{src} loops back to {real}", "remove the looping link")
        seen.add(real)
        count = 0
        with os.scandir(src) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                path, target = Path(entry.path), dst / entry.name
                if entry.is_symlink():
                    resolved = Path(os.path.realpath(path))
                    if allowed is None or not resolved.is_relative_to(allowed) or not resolved.exists():
                        raise UnsafePath(
                            "file",
                            str(path),
                            f"a symlink to {os.readlink(path)}, "
                            + (
                                "which is never followed here"
                                if allowed is None
                                else f"which leads outside {allowed}"
                            ),
                            "write regular files (a job's outputs are its own files)",
                        )
                    path = resolved
                if path.is_dir():
                    target.mkdir(exist_ok=True)
                    count += walk(path, target)
                elif stat.S_ISREG(os.stat(path).st_mode):
                    copy_file(path, target)
                    count += 1
                else:
                    raise UnsafePath(
                        "file", str(path), "not a regular file or directory", "write regular files"
                    )
        seen.discard(real)
        return count

    return walk(Path(source), destination)
