"""Text edits of spec files for tests: drop a top-level section and the parameters that expose it."""

from __future__ import annotations


def strip_section(text: str, section: str) -> str:
    """``text`` without the top-level ``section:`` block and without `parameters:` lines under it."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(f"{section}:"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        if f": {section}." not in line:
            out.append(line)
    return "".join(out)
