"""Template variables from the command line: `--var KEY=VALUE` pairs, and their types.

A value is data: it is inserted into the spec's template values exactly as given (never parsed as
YAML, never rendered as a template). Only a variable whose default in the spec's `variables:` is a
boolean or a number takes that type, so `--var max_jobs=40` is an integer where `max_jobs: 20` is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_INT = re.compile(r"[+-]?[0-9]{1,100}")


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    """`--var KEY=VALUE` pairs → dict; a malformed pair is a ValueError naming the fix."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _NAME.fullmatch(key.strip()):
            raise ValueError(
                f"--var {pair!r}: expected KEY=VALUE with KEY a variable name (letters, digits and _, "
                "starting with a letter), e.g. --var env=prod"
            )
        out[key.strip()] = value
    return out


def typed_var(name: str, value: str, default: object) -> object:
    """A --var value with the type of the variable's default (boolean, integer, float; else text)."""
    shown = "true" if default is True else "false" if default is False else default
    if isinstance(default, bool):
        if value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        kind, example = "a boolean", "true or false"
    elif isinstance(default, int):
        if _INT.fullmatch(value.strip()):
            return int(value)
        kind, example = "an integer", f"an integer, e.g. --var {name}={default}"
    elif isinstance(default, float):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
        kind, example = "a number", f"a finite number, e.g. --var {name}={default}"
    else:
        return value
    raise ValueError(f"--var {name}={value!r}: {name!r} is {kind} (its default is {shown}); pass {example}")
