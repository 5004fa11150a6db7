"""Template values: ``{{ expression }}`` inside a spec's string values, in a bounded Jinja2 sandbox.

The spec is parsed as YAML first; only string values holding ``{{`` are templates, each rendered
on its own, so a variable's value is data and never spec text. What a template may do:

- ``{{ expression }}`` only: statements (``{% ... %}``) and comments (``{# ... #}``) are errors;
- names are the spec's `variables:` and ``--var`` values (undefined names are errors), and
  ``range()`` is the only global (at most ``MAX_ITEMS`` items);
- no attribute access and no calls but ``range()``; indexing and slicing of strings and lists;
- the filters in ``FILTERS`` and Jinja2's tests; operators are checked before they run (no string
  or list over ``MAX_TEXT`` / ``MAX_ITEMS``, no integer over ``MAX_INT_BITS`` bits, no ``%``
  formatting of strings);
- a value is at most ``MAX_SOURCE`` characters as written, ``MAX_DEPTH`` levels and ``MAX_NODES``
  nodes as parsed (compiling costs grow with both), and renders to at most ``MAX_TEXT``
  characters, a spec to ``MAX_TOTAL``, in ``TIME_LIMIT`` seconds.

Types: a value that is exactly one ``{{ expression }}`` takes the expression's type (string,
integer, float, boolean or null; never a list or mapping); any other templated value is a string,
with numbers written as Python writes them and booleans as ``true``/``false``.
"""

from __future__ import annotations

import difflib
import math
import re
import time
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import filters as jfilters
from jinja2 import meta, nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_SOURCE = 4_096
"""Characters of one templated value as written."""
MAX_DEPTH = 24
"""Levels of a value's syntax tree (compiling a chain costs about depth³)."""
MAX_NODES = 256
"""Nodes of a value's syntax tree."""
MAX_TEXT = 10_000
"""Characters of a rendered value, and of any string made while rendering it."""
MAX_TOTAL = 1_000_000
"""Characters rendered for the whole spec."""
MAX_ITEMS = 1_000
"""Items of a range() or of a list made while rendering."""
MAX_INT_BITS = 4_096
"""Bits of an integer made while rendering."""
TIME_LIMIT = 2.0
"""Seconds for all of a spec's templates (checked between operations)."""

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""A variable name."""
RESERVED = frozenset({"true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if"})
RESERVED |= {"else", "range", "self", "loop", "super", "caller", "varargs", "kwargs"}
JINJA_GLOBALS = frozenset({"dict", "lipsum", "cycler", "joiner", "namespace"})
STATEMENTS = (
    "template statements ({% ... %}) are not supported: give defaults under `variables:` (override "
    "them with --var NAME=VALUE), write a conditional value as {{ a if condition else b }}, and keep "
    "a separate spec file for a different set of sections"
)
COMMENTS = "template comments ({# ... #}) are not supported; use a YAML comment (# ...)"
_RESULT = "lgbm_value"  # the name each expression is assigned to (never a variable: see NAME)

Scalar = str | int | float | bool | None


class TemplateProblem(Exception):
    """A template that cannot be rendered; ``undefined`` names the missing variable, if that is why."""

    def __init__(self, message: str, undefined: str | None = None):
        super().__init__(message)
        self.message = message
        self.undefined = undefined


def _too_big(kind: str, limit: int, unit: str) -> SecurityError:
    return SecurityError(f"{kind} would exceed {limit:,} {unit}, the limit for spec templates")


def _check_value(value: Any) -> Any:
    """Raise if a value made on the way is bigger than the limits allow."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise _too_big("a string", MAX_TEXT, "characters")
    if isinstance(value, (list, tuple, range)) and len(value) > MAX_ITEMS:
        raise _too_big("a list", MAX_ITEMS, "items")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise _too_big("an integer", MAX_INT_BITS, "bits")
    return value


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, range)) else 0


def _bits(value: Any) -> int:
    return abs(value).bit_length() if isinstance(value, int) and not isinstance(value, bool) else 0


def _precheck(op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too big, before it is computed."""
    if op == "%" and isinstance(left, str):
        raise SecurityError("%-formatting of strings is not supported in spec templates; use ~ to join text")
    powers = op == "**" and _bits(left) > 1 and isinstance(right, int) and right > 0
    if powers and right * math.log2(abs(left)) + 1 > MAX_INT_BITS:
        raise _too_big("a power", MAX_INT_BITS, "bits")
    if op == "*":
        for seq, count in ((left, right), (right, left)):
            if _size(seq) and isinstance(count, int) and count > 0:
                limit, unit = (MAX_TEXT, "characters") if isinstance(seq, str) else (MAX_ITEMS, "items")
                if _size(seq) * count > limit:
                    raise _too_big("a repetition", limit, unit)
        if _bits(left) + _bits(right) > MAX_INT_BITS:
            raise _too_big("a product", MAX_INT_BITS, "bits")
    if op == "+" and _size(left) and _size(right):
        limit, unit = (MAX_TEXT, "characters") if isinstance(left, str) else (MAX_ITEMS, "items")
        if _size(left) + _size(right) > limit:
            raise _too_big("a sum", limit, unit)


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    found = text.count(old) if count is None else min(text.count(old), max(count, 0))
    if len(text) + found * (len(new) - len(old)) > MAX_TEXT:
        raise _too_big("replace()", MAX_TEXT, "characters")
    return text.replace(old, new) if count is None else text.replace(old, new, count)


def _join(value: Any, separator: str = "") -> str:
    items = [str(item) for item in _check_value(list(value) if not isinstance(value, str) else value)]
    if sum(map(len, items)) + len(separator) * max(len(items) - 1, 0) > MAX_TEXT:
        raise _too_big("join()", MAX_TEXT, "characters")
    return separator.join(items)


FILTERS: dict[str, Any] = {
    "default": jfilters.do_default,
    "d": jfilters.do_default,
    "lower": jfilters.do_lower,
    "upper": jfilters.do_upper,
    "title": jfilters.do_title,
    "capitalize": jfilters.do_capitalize,
    "trim": jfilters.do_trim,
    "replace": _replace,
    "join": _join,
    "string": str,
    "int": jfilters.do_int,
    "float": jfilters.do_float,
    "round": jfilters.do_round,
    "abs": abs,
    "length": len,
}
"""The filters a spec template may use (each one's output is bounded by its input or checked)."""


class BoundedSandbox(SandboxedEnvironment):
    """Jinja2's sandbox with resource limits and no attribute access (see the module docstring)."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def __init__(self, time_limit: float | None = None) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
        self.globals.clear()
        self.globals["range"] = self._range
        self.filters = dict(FILTERS)
        self.time_limit = TIME_LIMIT if time_limit is None else time_limit
        self.deadline = time.monotonic() + self.time_limit
        self.rendered = 0
        self.expressions: dict[str, _Expression] = {}

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise SecurityError(f"the spec's templates took longer than {self.time_limit:g} s to render")

    def _range(self, *args: int) -> range:
        self.check_time()
        for arg in args:
            if isinstance(arg, jinja2.Undefined):
                str(arg)  # "'x' is undefined"
            if not isinstance(arg, int):
                raise TypeError("range() takes integers")
        items = range(*args)
        try:
            len(items)
        except OverflowError:  # more items than an index can count
            raise _too_big("a list", MAX_ITEMS, "items") from None
        return _check_value(items)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.check_time()
        _precheck(operator, left, right)
        return _check_value(self.binop_table[operator](left, right))

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        self.check_time()
        return self.unop_table[operator](arg)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, jinja2.Undefined):
            str(obj)  # StrictUndefined: raises "'x' is undefined"
        raise SecurityError(
            f"attribute access (.{attribute}) is not supported in spec templates; use a filter, "
            "e.g. {{ name | upper }}"
        )

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.check_time()
        if isinstance(obj, jinja2.Undefined):
            str(obj)
        index_ok = isinstance(argument, int) or (
            isinstance(argument, slice)
            and all(p is None or isinstance(p, int) for p in (argument.start, argument.stop, argument.step))
        )
        if isinstance(obj, (str, list, tuple, range)) and index_ok:
            return obj[argument]
        raise SecurityError("only strings and lists can be indexed in spec templates, by integers or slices")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self.check_time()
        if __obj != __self._range:
            raise SecurityError("calls are not supported in spec templates (only range())")
        return __obj(*args, **kwargs)


class _Expression:
    """One compiled expression: called with the variables, returns its value (not its text)."""

    def __init__(self, template: Template):
        self.template = template

    def __call__(self, variables: dict[str, Scalar]) -> Any:
        context = self.template.new_context(dict(variables))
        for _ in self.template.root_render_func(context):
            pass
        return context.vars[_RESULT]


def _shape(node: nodes.Node) -> tuple[int, int]:
    """(depth, number of nodes) of a syntax tree."""
    deepest, count, stack = 0, 0, [(node, 1)]
    while stack:
        node, depth = stack.pop()
        deepest, count = max(deepest, depth), count + 1
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest, count


@dataclass(frozen=True)
class ValueTemplate:
    """One templated string value, compiled: literal text and expressions, in order."""

    parts: tuple[str | _Expression, ...]
    names: frozenset[str]
    """The variables it uses."""

    @property
    def single(self) -> bool:
        """Exactly one expression and no text: the value takes the expression's type."""
        return len(self.parts) == 1 and not isinstance(self.parts[0], str)


def _compile_expression(env: BoundedSandbox, node: nodes.Expr) -> _Expression:
    """An expression compiled once per spec (`{{ env }}` is in many values)."""
    key = repr(node)
    if key not in env.expressions:
        env.check_time()
        body = [nodes.Assign(nodes.Name(_RESULT, "store"), node, lineno=1)]
        env.expressions[key] = _Expression(env.from_string(nodes.Template(body, lineno=1)))
    return env.expressions[key]


def compile_value(env: BoundedSandbox, source: str) -> ValueTemplate:
    """Compile a string value; statements, comments and syntax errors are TemplateProblems."""
    if len(source) > MAX_SOURCE:
        raise TemplateProblem(
            f"template error: a templated value is longer than {MAX_SOURCE:,} characters; shorten it"
        )
    try:
        for _, kind, _ in env.lex(source):
            if kind in ("block_begin", "raw_begin", "linestatement_begin"):
                raise TemplateProblem(STATEMENTS)
            if kind in ("comment_begin", "linecomment_begin"):
                raise TemplateProblem(COMMENTS)
        tree = env.parse(source)
        depth, count = _shape(tree)
        if depth > MAX_DEPTH + 2:  # + the template and its output node
            raise TemplateProblem(
                f"template error: the expression nests more than {MAX_DEPTH} levels deep; simplify it"
            )
        if count > MAX_NODES:
            raise TemplateProblem(f"template error: the value has more than {MAX_NODES} parts; simplify it")
        parts: list[str | _Expression] = []
        for output in tree.body:
            assert isinstance(output, nodes.Output)  # no statements: the lexer found none
            for node in output.nodes:
                if isinstance(node, nodes.TemplateData):
                    parts.append(node.data)
                else:
                    parts.append(_compile_expression(env, node))
        names = frozenset(meta.find_undeclared_variables(tree)) - set(env.globals)
    except TemplateProblem:
        raise
    except jinja2.TemplateSyntaxError as err:
        raise TemplateProblem(f"template syntax error: {err.message}") from None
    except SecurityError as err:
        raise TemplateProblem(f"template error: {err}") from None
    except RecursionError:
        raise TemplateProblem("template error: the expression nests too deeply") from None
    except Exception as err:  # the generated code did not compile (e.g. too many nested parentheses)
        raise TemplateProblem(f"template error: {type(err).__name__}: {err}") from None
    return ValueTemplate(tuple(parts), names)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if value is None:
        raise TemplateProblem(
            "template error: an expression inserted into text is null; give the variable a value"
        )
    raise TemplateProblem(
        f"template error: an expression produced {_kind(value)}; a template must produce a scalar"
    )


def _kind(value: Any) -> str:
    names = {list: "a list", tuple: "a list", dict: "a mapping", range: "a range"}
    return names.get(type(value), f"a {type(value).__name__}")


def evaluate(env: BoundedSandbox, template: ValueTemplate, variables: dict[str, Scalar]) -> Scalar:
    """The value of a compiled template with ``variables``; failures are TemplateProblems."""
    try:
        values: list[Any] = []
        for part in template.parts:
            env.check_time()
            if isinstance(part, str):
                values.append(part)
                continue
            value = part(variables)
            if isinstance(value, jinja2.Undefined):
                str(value)  # raises UndefinedError for StrictUndefined
            values.append(_check_value(value))
        if template.single:
            result = values[0]
            if not isinstance(result, (str, int, float, bool, type(None))):
                raise TemplateProblem(
                    f"template error: the expression produced {_kind(result)}; a template value must be a string, "
                    "number, boolean or null"
                )
            if isinstance(result, float) and not math.isfinite(result):
                raise TemplateProblem(
                    f"template error: the expression produced {result}; use a finite number"
                )
        else:
            result = "".join(map(_as_text, values))
        env.rendered += len(str(result))
    except TemplateProblem:
        raise
    except jinja2.UndefinedError as err:
        match = re.fullmatch(r"'(\w+)' is undefined", err.message or "")
        raise TemplateProblem(f"template error: {err.message}", match and match.group(1)) from None
    except SecurityError as err:
        raise TemplateProblem(f"template error: {err}") from None
    except RecursionError:
        raise TemplateProblem("template error: the expression nests too deeply") from None
    except Exception as err:  # errors raised by expressions: 1 / 0, "a" + 1, int("x", 99)
        raise TemplateProblem(f"template error: {type(err).__name__}: {err}") from None
    if isinstance(result, str) and len(result) > MAX_TEXT:
        raise TemplateProblem(f"template error: the value renders to more than {MAX_TEXT:,} characters")
    if env.rendered > MAX_TOTAL:
        raise TemplateProblem(
            f"template error: the spec's templates render to more than {MAX_TOTAL:,} characters"
        )
    return result


def render_text(source: str, variables: dict[str, Scalar]) -> str:
    """A templated string rendered as text (for callers that want text whatever the expression)."""
    env = BoundedSandbox()
    template = compile_value(env, source)
    value = evaluate(env, template, variables)
    return _as_text(value) if template.single else str(value)


# --- messages for the loader ----------------------------------------------------------------------


def variable_problem(name: str, value: Any) -> tuple[bool, str] | None:
    """What is wrong with a `variables:` entry, as (on the key?, message), or None."""
    if not NAME.fullmatch(name):
        return True, f"{name!r} is not a variable name: use letters, digits and _, starting with a letter"
    if name in RESERVED:
        return True, f"{name!r} is a reserved word in templates; choose another variable name"
    if isinstance(value, (dict, list)):
        kind = "a mapping" if isinstance(value, dict) else "a list"
        return False, f"a variable is a string, number, boolean or null, not {kind}"
    return None


def unknown_var(name: str, declared: list[str]) -> str:
    """The message for a --var that the spec neither declares nor uses."""
    close = difflib.get_close_matches(name, declared, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    listed = f" (declared: {', '.join(declared)})" if declared else " (it declares none)"
    return f"--var {name}: the spec neither declares nor uses a variable {name!r}{hint}{listed}"


def explain(problem: TemplateProblem, loc: tuple[str | int, ...], names: list[str]) -> str:
    """The problem's message, with how to fix it when a variable is undefined."""
    name = problem.undefined
    if name is None:
        return problem.message
    if name in JINJA_GLOBALS:
        return f"template error: {name!r} is not available in spec templates (their one function is range())"
    close = difflib.get_close_matches(name, [n for n in names if n != name], n=1)
    hint = f"did you mean {close[0]!r}? or " if close else ""
    if loc[0] == "variables" and len(loc) == 2:
        if name in names:
            return f"{problem.message}: a variable can use only the variables declared above it"
        return f"{problem.message}; {hint}declare it above {loc[1]!r} under `variables:` or pass --var {name}=VALUE"
    return (
        f"{problem.message}; {hint}declare it under `variables:` ({name}: VALUE) or pass --var {name}=VALUE"
    )
