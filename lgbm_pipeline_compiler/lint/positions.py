"""Line and column of each value of a JSON text, for findings on a definition file.

``json.loads`` keeps no positions; this scanner walks the text once (strings are read by the json
module's own ``scanstring``) and records where each value starts, by its location (keys and list
indexes). A finding's place is its location, or the nearest enclosing value that exists (a missing
member is reported on the object that lacks it).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from json.decoder import scanstring

from .rules import LintFinding

Pointer = tuple[str | int, ...]
_SPACE = re.compile(r"[ \t\n\r]*")
_LITERAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.starts: dict[Pointer, int] = {}

    def skip(self, pos: int) -> int:
        return _SPACE.match(self.text, pos).end()

    def value(self, pos: int, where: Pointer) -> int:
        pos = self.skip(pos)
        self.starts[where] = pos
        char = self.text[pos]
        if char == "{":
            return self.members(pos + 1, where)
        if char == "[":
            return self.items(pos + 1, where)
        if char == '"':
            return scanstring(self.text, pos + 1)[1]
        match = _LITERAL.match(self.text, pos)
        if not match:
            raise ValueError(f"unexpected {char!r} at {pos}")
        return match.end()

    def members(self, pos: int, where: Pointer) -> int:
        pos = self.skip(pos)
        if self.text[pos] == "}":
            return pos + 1
        while True:
            key, pos = scanstring(self.text, self.skip(pos) + 1)
            pos = self.value(self.skip(pos) + 1, (*where, key))  # past the ':'
            pos = self.skip(pos)
            if self.text[pos] == "}":
                return pos + 1
            pos += 1  # the ','

    def items(self, pos: int, where: Pointer) -> int:
        pos = self.skip(pos)
        if self.text[pos] == "]":
            return pos + 1
        index = 0
        while True:
            pos = self.skip(self.value(pos, (*where, index)))
            if self.text[pos] == "]":
                return pos + 1
            pos, index = pos + 1, index + 1


def value_positions(text: str) -> dict[Pointer, tuple[int, int]]:
    """Location → (line, column), both 1-based, of every value in a JSON text ({} if it is not JSON)."""
    scanner = _Scanner(text)
    try:
        scanner.value(0, ())
    except (ValueError, IndexError):
        return {}
    lines = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    out = {}
    for where, offset in scanner.starts.items():
        line = bisect.bisect_right(lines, offset)
        out[where] = (line, offset - lines[line - 1] + 1)
    return out


def place(findings: list[LintFinding], text: str) -> list[LintFinding]:
    """The findings with line:col in the definition's text (a pipeline-level finding without a
    location stays without one)."""
    if not any(f.pointer for f in findings):
        return findings
    positions = value_positions(text)
    out = []
    for finding in findings:
        pointer = finding.pointer
        while pointer and pointer not in positions:
            pointer = pointer[:-1]
        where = positions.get(pointer) if pointer else None
        out.append(dataclasses.replace(finding, line=where[0], col=where[1]) if where else finding)
    return out
