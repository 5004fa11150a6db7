"""Errors as values: one type that carries file:line:col and a dotted path, one formatter."""

from __future__ import annotations

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
