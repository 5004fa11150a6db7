"""Spec text → Python data with source positions: safe YAML → values + marks → template values.

The text is parsed as YAML first, so every position is the file's own; then each string value
holding ``{{ ... }}`` is rendered on its own (``template.py``: a bounded Jinja2 sandbox) with the
spec's `variables:` and the ``--var`` overrides, which are values, never spec text.

Only the YAML 1.1 core tags are accepted; anything else (``!!python/object``, custom tags) is an
error, and alias expansion is bounded so a "billion laughs" document fails fast instead of eating
memory.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import Finding, Loc, SpecError
from ..errors import dotted as _dotted

MAX_NODES = 100_000
MAX_DEPTH = 100
_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


@dataclass
class SourceDoc:
    """A parsed spec document: its data and the (line, col) of every node, 1-based."""

    file: str
    data: Any
    marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def position(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """Position of the deepest known node on ``loc`` (the key itself when ``key``)."""
        if key and loc in self.key_marks:
            return self.key_marks[loc]
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.marks:
                return self.marks[loc[:end]]
        return (1, 1)

    def finding(self, loc: Loc, path: str, message: str, *, key: bool = False) -> Finding:
        line, col = self.position(loc, key=key)
        return Finding(one_line(self.file), line, col, one_line(path), one_line(message))


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with control characters and line breaks escaped (``\\n``), so that a finding is one
    line whatever the values it quotes (a --var value, a key) hold."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _one_line_findings(err: SpecError) -> SpecError:
    clean = [
        Finding(one_line(f.file), f.line, f.col, one_line(f.path), one_line(f.message)) for f in err.findings
    ]
    return SpecError(clean)


def parse_yaml(text: str, file: str) -> SourceDoc:
    """Compose YAML safely and turn nodes into plain data, recording every node's mark."""
    try:
        return _parse_yaml(text, file)
    except SpecError as err:
        raise _one_line_findings(err) from None


def _parse_yaml(text: str, file: str) -> SourceDoc:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = ": ".join(p for p in (err.context, err.problem) if p) or "invalid YAML"
        findings = _template_lines(text, file)  # the likely cause; the YAML error if it is elsewhere
        if all(f.line != line for f in findings):
            findings.append(_yaml_error(text, file, line, col, problem))
        raise SpecError(findings) from None
    except RecursionError:
        raise SpecError(
            [Finding(file, 1, 1, "", f"the document nests more than {MAX_DEPTH} levels deep")]
        ) from None
    except yaml.YAMLError as err:
        raise SpecError([Finding(file, 1, 1, "", f"YAML error: {err}")]) from None
    doc = SourceDoc(file=file, data=None)
    if node is None:
        raise SpecError([Finding(file, 1, 1, "", "the spec is empty; start from specs/census.yaml")])
    builder = _Builder(doc)
    doc.data = builder.build(node, ())
    if builder.findings:
        raise SpecError(builder.findings)
    return doc


_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # YAML's line breaks
_TEMPLATE_LINE = re.compile(r"(?:[ \t]*-)*[ \t]*(?:[^\s#'\"{][^:#]*:[ \t]+)?(\{%|\{#)")
"""A statement or comment where a line or a value starts: a place where YAML cannot read it."""
_UNQUOTED = re.compile(r"(?:^|[:,\[-])[ \t]+\{\{")
QUOTE_HINT = 'a value that starts with {{ must be quoted, e.g. region: "{{ region }}"'


def _template_lines(text: str, file: str) -> list[Finding]:
    """Template statements or comments that start a line or a value: why the text is not YAML."""
    from .template import COMMENTS, STATEMENTS

    out = []
    for number, line in enumerate(_LINE_BREAK.split(text), 1):
        if match := _TEMPLATE_LINE.match(line):
            message = STATEMENTS if match.group(1) == "{%" else COMMENTS
            out.append(Finding(file, number, match.start(1) + 1, "", message))
    return out


def _yaml_error(text: str, file: str, line: int, col: int, problem: str) -> Finding:
    lines = _LINE_BREAK.split(text)
    near = lines[max(line - 2, 0) : line]  # an unquoted {{ often breaks the YAML a line later
    hint = f"; {QUOTE_HINT}" if any(_UNQUOTED.search(t) for t in near) else ""
    return Finding(file, line, col, "", f"YAML syntax error: {problem}{hint}")


def _unquoted_template(node: yaml.Node) -> str | None:
    """``{{ x }}`` written unquoted, which YAML reads as the flow mapping {{x: null}: null}: x."""
    if not (isinstance(node, yaml.MappingNode) and node.flow_style and len(node.value) == 1):
        return None
    key, value = node.value[0]
    if not (isinstance(key, yaml.MappingNode) and key.flow_style and len(key.value) == 1):
        return None
    inner, inner_value = key.value[0]
    empty = all(isinstance(n, yaml.ScalarNode) and n.value == "" for n in (value, inner_value))
    return inner.value if isinstance(inner, yaml.ScalarNode) and inner.style is None and empty else None


class _Builder:
    """Turns a composed node graph into data; counts nodes so alias bombs stop early."""

    def __init__(self, doc: SourceDoc):
        self.doc = doc
        self.visited = 0
        self.findings: list[Finding] = []
        self._scalars = yaml.SafeLoader("")

    def _mark(self, node: yaml.Node) -> tuple[int, int]:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            line, col = self._mark(node)
            raise SpecError(
                [
                    Finding(
                        self.doc.file,
                        line,
                        col,
                        "",
                        f"document expands to more than {MAX_NODES} nodes (alias bomb?); "
                        "remove the repeated aliases",
                    )
                ]
            )
        if len(loc) > MAX_DEPTH:
            raise SpecError(
                [
                    Finding(
                        self.doc.file,
                        *self._mark(node),
                        "",
                        f"the document nests more than {MAX_DEPTH} levels deep",
                    )
                ]
            )
        self.doc.marks.setdefault(loc, self._mark(node))
        if (expression := _unquoted_template(node)) is not None:
            quote = "'" if '"' in expression else '"'
            self.findings.append(
                Finding(
                    self.doc.file,
                    *self._mark(node),
                    _dotted(loc),
                    f"a value that starts with {{{{ must be quoted: write {quote}{{{{ {expression} }}}}{quote} "
                    "(unquoted, YAML reads it as a mapping)",
                )
            )
            return None
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            return [self.build(item, loc + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and node.tag in _SCALAR_TAGS:
            try:
                return self._scalars.construct_object(node, deep=True)
            except Exception:  # e.g. "!!bool maybe", "!!int twenty", "!!timestamp foo"
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                self.findings.append(
                    Finding(
                        self.doc.file,
                        *self._mark(node),
                        _dotted(loc),
                        f"{node.value!r} is not a valid {tag} value",
                    )
                )
                return None
        line, col = self._mark(node)
        self.findings.append(
            Finding(
                self.doc.file,
                line,
                col,
                _dotted(loc),
                f"unsupported YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')!r}; only plain YAML values are allowed",
            )
        )
        return None

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.findings.append(
                    Finding(
                        self.doc.file,
                        *self._mark(key_node),
                        _dotted(loc),
                        "YAML merge keys (<<) are not supported",
                    )
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                self.findings.append(
                    Finding(
                        self.doc.file,
                        *self._mark(key_node),
                        _dotted(loc),
                        "mapping keys must be plain strings",
                    )
                )
                continue
            key = str(key_node.value)  # keys stay as written: `on:` is "on", not True
            if key in out:
                self.findings.append(
                    Finding(self.doc.file, *self._mark(key_node), _dotted(loc + (key,)), "duplicate key")
                )
                continue
            self.doc.key_marks[loc + (key,)] = self._mark(key_node)
            out[key] = self.build(value_node, loc + (key,))
        return out


def read_spec_text(path: str | Path) -> str:
    """Read a spec file, turning OS errors into a finding."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Finding(str(path), 1, 1, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError([Finding(str(path), 1, 1, "", f"cannot read spec: {err}")]) from None


def load_document(path: str | Path, variables: Mapping[str, str] | None = None) -> SourceDoc:
    """Read and parse one spec file, then render its template values with ``variables`` (--var)."""
    try:
        doc = parse_yaml(read_spec_text(path), str(path))
        apply_templates(doc, variables)
    except SpecError as err:
        raise _one_line_findings(err) from None
    return doc


def render_template(text: str, file: str, variables: Mapping[str, Any] | None) -> str:
    """One string value rendered as text with ``variables`` (what a spec's template value does)."""
    from .template import TemplateProblem, render_text

    try:
        return render_text(text, dict(variables or {}))
    except TemplateProblem as problem:
        raise SpecError([Finding(file, 1, 1, "", problem.message)]) from None


# --- template values --------------------------------------------------------------------------

_MARKERS = ("{{", "{%", "{#")


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and any(marker in value for marker in _MARKERS)


def _templates(node: Any, loc: Loc, values: dict[Loc, str], keys: list[Loc]) -> None:
    """Collect the templated string values (and the keys that look like templates) under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if _is_template(key):
                keys.append(loc + (key,))
            _templates(value, loc + (key,), values, keys)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _templates(value, loc + (i,), values, keys)
    elif _is_template(node):
        values[loc] = node


def _put(data: Any, loc: Loc, value: Any) -> None:
    for part in loc[:-1]:
        data = data[part]
    data[loc[-1]] = value


def apply_templates(doc: SourceDoc, overrides: Mapping[str, str] | None = None) -> None:
    """Render every templated string value of ``doc`` in place, with the spec's `variables:`
    (each may use those above it) and ``overrides`` (--var: values, never rendered, typed like the
    variable's default). A --var the spec neither declares nor uses is an error (a misspelt name
    would otherwise change nothing, silently). Every problem is a finding at the value's line:col;
    raises SpecError with all of them."""
    overrides = dict(overrides or {})
    data = doc.data
    values: dict[Loc, str] = {}
    keys: list[Loc] = []
    _templates(data, (), values, keys)
    if not isinstance(data, dict) or not (values or keys or overrides or "variables" in data):
        return
    from ..variables import typed_var
    from .template import (
        BoundedSandbox,
        TemplateProblem,
        compile_value,
        evaluate,
        explain,
        unknown_var,
        variable_problem,
    )

    env = BoundedSandbox()
    message = "templates are rendered in values only; write this key as it is"
    findings = [doc.finding(loc, _dotted(loc), message, key=True) for loc in keys]
    compiled = {}
    for loc, source in values.items():
        try:
            compiled[loc] = compile_value(env, source)
        except TemplateProblem as problem:
            findings.append(doc.finding(loc, _dotted(loc), problem.message))
    section = data.get("variables") if isinstance(data.get("variables"), dict) else {}
    declared = {}
    for name, default in section.items():
        if (problem := variable_problem(name, default)) is not None:
            on_key, message = problem
            findings.append(doc.finding(("variables", name), f"variables.{name}", message, key=on_key))
        else:
            declared[name] = default
    used = {name for template in compiled.values() for name in template.names}
    for name in sorted(set(overrides) - set(section) - used):
        message = unknown_var(name, list(declared))
        if "variables" in data:
            findings.append(doc.finding(("variables",), "variables", message, key=True))
        else:
            findings.append(Finding(doc.file, 1, 1, "", message))
    context: dict[str, Any] = {name: value for name, value in overrides.items() if name not in section}
    failed = set(section) - set(declared)  # declared wrongly, or (below) failed to compile or render
    failed |= {loc[1] for loc in values if loc[0] == "variables" and loc not in compiled}

    def render(loc: Loc) -> tuple[bool, Any]:
        try:
            return True, evaluate(env, compiled[loc], context)
        except TemplateProblem as problem:
            if problem.undefined not in failed:
                message = explain(problem, loc, [*context, *declared])
                findings.append(doc.finding(loc, _dotted(loc), message))
            return False, None

    for name, default in declared.items():
        loc = ("variables", name)
        ok, value = True, default
        if name in overrides:
            try:
                value = typed_var(name, overrides[name], default)
            except ValueError as err:
                ok = False
                findings.append(doc.finding(loc, _dotted(loc), str(err)))
        elif loc in compiled:
            ok, value = render(loc)
        if ok and name not in failed:
            context[name] = value
        else:
            failed.add(name)
    for loc in compiled:
        if loc[0] != "variables":
            _put(data, loc, render(loc)[1])
    if findings:
        raise SpecError(findings)
    if section:
        data["variables"] = {name: context[name] for name in declared}
