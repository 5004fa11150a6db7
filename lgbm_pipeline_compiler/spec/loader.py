"""Spec text → Python data with source positions: Jinja2 (sandboxed) → safe YAML → values + marks.

Only the YAML 1.1 core tags are accepted; anything else (``!!python/object``, custom tags) is an
error, and alias expansion is bounded so a "billion laughs" document fails fast instead of eating
memory.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

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
        return Finding(self.file, line, col, path, message)


def render_template(text: str, file: str, variables: Mapping[str, str] | None) -> str:
    """Render spec text with Jinja2 in a sandbox; undefined variables are errors."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    try:
        return env.from_string(text).render(**dict(variables or {}))
    except jinja2.TemplateSyntaxError as err:
        raise SpecError([Finding(file, err.lineno or 1, 1, "", f"template error: {err.message}")]) from None
    except jinja2.UndefinedError as err:
        line = _template_line(err)
        hint = "pass it with --var NAME=VALUE or give it a default: {{ name | default('...') }}"
        raise SpecError([Finding(file, line, 1, "", f"template error: {err.message}; {hint}")]) from None
    except jinja2.TemplateError as err:
        raise SpecError([Finding(file, _template_line(err), 1, "", f"template error: {err}")]) from None
    except Exception as err:  # errors raised by expressions: 1 / 0, "a" + 1, include without loader
        message = f"template error: {type(err).__name__}: {err}"
        raise SpecError([Finding(file, _template_line(err), 1, "", message)]) from None


def _template_line(err: BaseException) -> int:
    """Template line of a render-time error, read from Jinja2's rewritten traceback."""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        if frame.filename == "<template>" and frame.lineno:
            return frame.lineno
    return 1


def parse_yaml(text: str, file: str) -> SourceDoc:
    """Compose YAML safely and turn nodes into plain data, recording every node's mark."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = ": ".join(p for p in (err.context, err.problem) if p) or "invalid YAML"
        raise SpecError([Finding(file, line, col, "", f"YAML syntax error: {problem}")]) from None
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
    """Read, render and parse one spec file."""
    file = str(path)
    text = read_spec_text(path)
    return parse_yaml(render_template(text, file, variables), file)
