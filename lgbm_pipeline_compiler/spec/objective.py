"""The tuning objective's regex, checked without running it on untrusted input.

SageMaker (and the local runner, ``re.findall`` + the last match's group) read the objective from
the training log with this regex. A regex that cannot produce a number, or captures only part of
one, silently tunes on nothing; one with nested quantifiers (``(a+)+``) can backtrack exponentially
on a long log line. So: it must compile, have exactly one capture group, have no repeated group
around a variable repeat, its group must be able to match a number, and against the lines the
bundled train.py prints it must capture whole numbers of one metric only.
"""

from __future__ import annotations

import re
import warnings

from pydantic_core import PydanticCustomError

try:  # Python 3.11+
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse  # type: ignore[no-redef]

EXAMPLE = "'validation-f1: ([0-9.]+)'"
# Numbers as training scripts print them (train.py: f"{x:.6f}"), and other usual spellings.
NUMBERS = ("0", "1", "12", "0.5", "100", "12.5", "0.723", "0.7234", "0.72345", "0.723456", "1e-05", "-0.25")
# What step_scripts/train.py prints (its `print(f"train-f1: ...")` lines and LightGBM's
# log_evaluation line for its "validation" set); tests/attacks checks these against train.py.
TRAIN_LOG = (
    "[100]\tvalidation's binary_logloss: 0.285610",
    "train-f1: 0.734512",
    "validation-f1: 0.723456",
    "validation-auc: 0.912345",
    "threshold: 0.380000 best-iteration: 123",
)
_REPEATS = {sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT} | (
    {sre_parse.POSSESSIVE_REPEAT} if hasattr(sre_parse, "POSSESSIVE_REPEAT") else set()
)


def _compile(value: str) -> re.Pattern[str]:
    try:
        with warnings.catch_warnings():  # e.g. FutureWarning "Possible nested set"
            warnings.simplefilter("ignore")
            return re.compile(value)
    except (re.error, RecursionError, OverflowError) as err:
        raise PydanticCustomError("regex", "invalid regular expression: {err}", {"err": str(err)}) from None


def _children(op: object, av: object) -> list[object]:
    """The sub-patterns of one parsed regex item."""
    if op in _REPEATS:
        return [av[2]]  # type: ignore[index]
    if op is sre_parse.SUBPATTERN:
        return [av[3]]  # type: ignore[index]
    if op is sre_parse.BRANCH:
        return list(av[1])  # type: ignore[index]
    if op in (sre_parse.ASSERT, sre_parse.ASSERT_NOT):
        return [av[1]]  # type: ignore[index]
    if op is sre_parse.GROUPREF_EXISTS:
        return [p for p in av[1:] if p is not None]  # type: ignore[index]
    if getattr(sre_parse, "ATOMIC_GROUP", None) is op:
        return [av]
    return []


def _variable(op: object, av: object) -> bool:
    return op in _REPEATS and av[0] != av[1]  # type: ignore[index]


def _widest_variable_repeat(pattern: object) -> int:
    """The largest max count of a variable-length repeat inside ``pattern`` (0 if none)."""
    widest = 0
    for op, av in pattern:  # type: ignore[attr-defined]
        if _variable(op, av):
            widest = max(widest, av[1])  # type: ignore[index]
        for child in _children(op, av):
            widest = max(widest, _widest_variable_repeat(child))
    return widest


def nested_quantifier(pattern: object) -> bool:
    """Whether a repeat that can run many times contains a repeat of variable length (both bounded
    and small, like ([0-9]{1,3}\\.?){1,4}, is allowed: at most 100 ways to split)."""
    for op, av in pattern:  # type: ignore[attr-defined]
        if op in _REPEATS and av[1] > 1 and av[0] != av[1]:  # type: ignore[index]
            inner = _widest_variable_repeat(av[2])  # type: ignore[index]
            if inner and (
                av[1] == sre_parse.MAXREPEAT or inner == sre_parse.MAXREPEAT or av[1] * inner > 100
            ):
                return True
        if any(nested_quantifier(c) for c in _children(op, av)):
            return True
    return False


def first_group_body(value: str) -> str | None:
    """The source text inside the first capturing group (None if it cannot be located)."""
    i, depth, start = 0, 0, None
    while i < len(value):
        char = value[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i = _class_end(value, i)
            continue
        if char == "(" and start is None:
            start = _capture_start(value, i)
            i = i + 1 if start is None else start
            continue
        if char == "(":
            depth += 1
        elif char == ")" and start is not None:
            if depth == 0:
                return value[start:i]
            depth -= 1
        i += 1
    return None


def _class_end(value: str, i: int) -> int:
    """The index after the character class opened at ``i`` (a leading ] or ^] is literal)."""
    j = i + 1
    j += value[j : j + 1] == "^"
    j += value[j : j + 1] == "]"
    while j < len(value) and value[j] != "]":
        j += 2 if value[j] == "\\" else 1
    return j + 1


def _capture_start(value: str, i: int) -> int | None:
    """Where the body of the group opened at ``i`` starts, if that group captures."""
    rest = value[i + 1 :]
    if not rest.startswith("?"):
        return i + 1
    named = re.match(r"\?P?<(?![=!])[^>]*>", rest)
    return i + 1 + named.end() if named else None


def check_regex(value: str) -> str:
    """The objective regex on its own: compiles, one group, no nested quantifiers, can match a number."""
    compiled = _compile(value)
    if compiled.groups < 1:
        raise PydanticCustomError(
            "regex_group", f"the regex needs a capture group around the number, e.g. {EXAMPLE}"
        )
    if compiled.groups > 1:
        raise PydanticCustomError(
            "regex_groups",
            "the regex has {n} capture groups; keep one around the number and write the others as (?:...)",
            {"n": compiled.groups},
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = sre_parse.parse(value)
    if nested_quantifier(parsed):
        raise PydanticCustomError(
            "regex_backtracking",
            "the regex repeats a group that itself repeats (like (a+)+), which can backtrack for hours "
            f"on one long log line; repeat only single characters or classes, e.g. {EXAMPLE}",
        )
    body = first_group_body(value)
    flags = compiled.flags & (re.IGNORECASE | re.VERBOSE | re.DOTALL | re.ASCII)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            group = re.compile(body, flags) if body is not None else None
    except (re.error, RecursionError, OverflowError):
        group = None  # e.g. a back-reference: not judged on its own
    if group is not None and not any(group.fullmatch(n) for n in NUMBERS):
        raise PydanticCustomError(
            "regex_number",
            "the capture group ({body}) cannot match a number such as 0.723456, so the objective "
            f"would never be read; capture the number, e.g. {EXAMPLE}",
            {"body": body},
        )
    return value


def train_log_problem(value: str) -> str | None:
    """What is wrong when the regex reads the lines the bundled train.py prints, or None."""
    compiled = _compile(value)
    matched: list[str] = []
    for line in TRAIN_LOG:
        for match in compiled.finditer(line):
            printed = re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", line)
            captured = match.group(1)
            if captured not in printed:
                return (
                    f"on train.py's line {line!r} the group captures {captured!r}, not the whole number; "
                    f"widen the group to the number, e.g. {EXAMPLE}"
                )
            matched.append(line)
    lines = list(dict.fromkeys(matched))
    if len(lines) > 1:
        more = f" (and {len(lines) - 2} more)" if len(lines) > 2 else ""
        shown = " and ".join(repr(line) for line in lines[:2]) + more
        return (
            f"the regex matches {shown}, lines of different metrics train.py prints; anchor it to the "
            f"objective's line, e.g. {EXAMPLE}"
        )
    return None
