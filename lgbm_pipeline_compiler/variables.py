"""Template variables from the command line: `--var KEY=VALUE` pairs."""

from __future__ import annotations

from collections.abc import Sequence


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    """`--var KEY=VALUE` pairs → dict; a malformed pair is a ValueError naming the fix."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(
                f"--var {pair!r}: expected KEY=VALUE with KEY a plain identifier, e.g. --var env=prod"
            )
        out[key.strip()] = value
    return out
