"""Errors as values: one type that carries file:line:col and a dotted path, one formatter; and the
errors and OS error numbers that choose an exit code (cli.py: 2 bad input, 3 environment, 130)."""

from __future__ import annotations

import errno
import re
from collections.abc import Sequence
from dataclasses import dataclass

Loc = tuple[str | int, ...]


def dotted(loc: Loc) -> str:
    """Render a location tuple as ``a.b[0].c`` (list indexes in brackets)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Finding:
    """One problem in a spec: where it is, what is wrong and how to fix it."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class SpecError(Exception):
    """A spec could not be loaded or validated; carries every finding at once."""

    def __init__(self, findings: Sequence[Finding]):
        self.findings = sorted(findings, key=lambda f: (f.file, f.line, f.col, f.path, f.message))
        super().__init__("\n".join(f.format() for f in self.findings))


class CompileError(Exception):
    """The compiler could not turn a valid spec into a definition (one clear line)."""


class OfflineViolation(CompileError):
    """The SageMaker SDK tried to reach AWS while compiling, which must never happen."""


ENVIRONMENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,  # no space left on device
        errno.EDQUOT,  # disk quota exceeded
        errno.EACCES,  # permission denied
        errno.EPERM,  # operation not permitted
        errno.EROFS,  # read-only file system
        errno.EMFILE,  # too many open files (this process)
        errno.ENFILE,  # too many open files (the system)
        errno.ENOMEM,  # out of memory
        errno.EIO,  # an I/O error of the device
    }
)
"""OS errors that say something about the machine (disk, permissions, limits), not the input."""

_DISK_ERRNOS = "|".join(str(n) for n in sorted(ENVIRONMENT_ERRNOS - {errno.EACCES, errno.EPERM}))
_ENVIRONMENT_TEXT = re.compile(
    rf"\[Errno (?:{_DISK_ERRNOS})\]|No space left on device|Disk quota exceeded|Read-only file system"
)


def is_environment_error(err: BaseException) -> bool:
    """An OSError whose errno is one of ENVIRONMENT_ERRNOS."""
    return isinstance(err, OSError) and err.errno in ENVIRONMENT_ERRNOS


def mentions_environment_error(text: str) -> bool:
    """A job's log tail that shows it died of a full disk, a quota or a read-only file system (a
    permission error inside a job is the job's own business: it may be its input)."""
    return bool(_ENVIRONMENT_TEXT.search(text))


class EnvironmentFailure(Exception):
    """The machine, not the input, stopped the command: a full disk, missing permissions, a
    read-only file system, too many open files (exit code 3)."""


class RunStopped(KeyboardInterrupt):
    """A run was stopped by SIGINT, SIGTERM or SIGHUP; its message says how to resume it (exit 130)."""
