"""The loader: Jinja2 in a sandbox with StrictUndefined, safe YAML, source positions, refusals."""

from __future__ import annotations

import time

import pytest

from lgbm_pipeline_compiler.errors import Finding, SpecError
from lgbm_pipeline_compiler.spec.loader import (
    MAX_NODES,
    SourceDoc,
    load_document,
    parse_yaml,
    render_template,
)


def _only_finding(excinfo: pytest.ExceptionInfo[SpecError]) -> Finding:
    findings = excinfo.value.findings
    assert len(findings) == 1, [f.format() for f in findings]
    return findings[0]


# --- Jinja2 -------------------------------------------------------------------------------------


def test_variables_render_and_defaults_apply():
    text = 'name: census-{{ env | default("dev") }}\nregion: {{ region }}\n'
    assert render_template(text, "f.yaml", {"region": "eu-west-1"}) == "name: census-dev\nregion: eu-west-1\n"
    assert render_template(text, "f.yaml", {"env": "prod", "region": "x"}).startswith("name: census-prod\n")


def test_rendering_keeps_line_numbers_of_set_blocks():
    """`{% set %}` lines render as empty lines, so YAML positions still match the file."""
    text = '{% set env = env | default("dev") %}\n\nname: n-{{ env }}\nbad: [\n'
    with pytest.raises(SpecError) as excinfo:
        parse_yaml(render_template(text, "f.yaml", None), "f.yaml")
    assert _only_finding(excinfo).line == 5  # the flow sequence never closes: end of input


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: {{ env }}\n", 2),
        ("a: 1\n\n\n{% if flag %}b: 2{% endif %}\n", 4),
        ("a: 1\nb: {{ missing.attribute }}\n", 2),
    ],
)
def test_undefined_variable_is_an_error_at_its_line(text, line):
    with pytest.raises(SpecError) as excinfo:
        render_template(text, "spec.yaml", {})
    finding = _only_finding(excinfo)
    assert (finding.file, finding.line, finding.col, finding.path) == ("spec.yaml", line, 1, "")
    assert "is undefined" in finding.message
    assert "--var" in finding.message  # says how to fix it


def test_undefined_variable_inside_default_argument_is_still_strict():
    with pytest.raises(SpecError, match="'account' is undefined"):
        render_template('bucket: {{ bucket | default("b-" ~ account) }}\n', "f.yaml", {})
    assert render_template(
        'bucket: {{ bucket | default("b-" ~ account) }}\n', "f.yaml", {"account": "1"}
    ) == ("bucket: b-1\n")


def test_template_syntax_error_names_the_line():
    with pytest.raises(SpecError) as excinfo:
        render_template("a: 1\nb: 2\nc: {{ x }\n", "f.yaml", {"x": "1"})
    finding = _only_finding(excinfo)
    assert finding.line == 3
    assert finding.message.startswith("template error: ")


def test_sandbox_refuses_attribute_escapes():
    with pytest.raises(SpecError) as excinfo:
        render_template("a: {{ ''.__class__.__mro__ }}\n", "f.yaml", {})
    assert "unsafe" in _only_finding(excinfo).message


@pytest.mark.parametrize(
    "expression",
    ["{{ 1 / 0 }}", '{{ "a" + 1 }}', '{% include "other.yaml" %}'],
    ids=["zero-division", "type-error", "include"],
)
def test_any_template_runtime_error_is_a_finding(expression):
    with pytest.raises(SpecError) as excinfo:
        render_template(f"a: 1\nb: 2\nc: {expression}\n", "f.yaml", {})
    assert _only_finding(excinfo).line == 3


# --- YAML: positions ------------------------------------------------------------------------------

NESTED = """\
a:
  b:
    - x
    - {c: 1, d: [5, 6]}
  e: [p, q]
"""


@pytest.fixture
def nested() -> SourceDoc:
    return parse_yaml(NESTED, "f.yaml")


@pytest.mark.parametrize(
    ("loc", "position"),
    [
        ((), (1, 1)),
        (("a",), (2, 3)),  # a mapping value starts at its first key
        (("a", "b"), (3, 5)),  # block sequence: the first dash
        (("a", "b", 0), (3, 7)),  # block list item
        (("a", "b", 1), (4, 7)),  # flow mapping inside a list: its brace
        (("a", "b", 1, "c"), (4, 11)),
        (("a", "b", 1, "d", 1), (4, 21)),  # flow list item
        (("a", "e", 1), (5, 10)),
    ],
)
def test_position_of_values(nested, loc, position):
    assert nested.position(loc) == position


@pytest.mark.parametrize(
    ("loc", "position"),
    [(("a",), (1, 1)), (("a", "b"), (2, 3)), (("a", "b", 1, "d"), (4, 14)), (("a", "e"), (5, 3))],
)
def test_position_of_keys(nested, loc, position):
    assert nested.position(loc, key=True) == position


def test_position_of_unknown_path_falls_back_to_deepest_known_node(nested):
    assert nested.position(("a", "b", 1, "missing", "deeper")) == (4, 7)
    assert nested.position(("a", "b", 7)) == (3, 5)
    assert nested.position(("zzz",)) == (1, 1)
    # key=True for a key that is not in the document falls back to value positions
    assert nested.position(("a", "b", 1, "missing"), key=True) == (4, 7)


def test_finding_carries_file_position_and_path(nested):
    finding = nested.finding(("a", "e", 1), "a.e[1]", "bad item")
    assert finding.format() == "f.yaml:5:10: a.e[1]: bad item"


def test_values_are_plain_data(nested):
    assert nested.data == {"a": {"b": ["x", {"c": 1, "d": [5, 6]}], "e": ["p", "q"]}}


def test_small_aliases_expand_to_copies():
    doc = parse_yaml("base: &cols [a, b]\nother: *cols\n", "f.yaml")
    assert doc.data == {"base": ["a", "b"], "other": ["a", "b"]}
    assert doc.data["other"] is not doc.data["base"]


# --- YAML: refusals -----------------------------------------------------------------------------


def test_python_tag_is_refused_and_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    text = f'region: !!python/object/apply:os.system ["touch {marker}"]\nok: 1\n'
    with pytest.raises(SpecError) as excinfo:
        parse_yaml(text, "f.yaml")
    finding = _only_finding(excinfo)
    assert (finding.line, finding.col, finding.path) == (1, 9, "region")
    assert "unsupported YAML tag '!!python/object/apply:os.system'" in finding.message
    assert not marker.exists()


@pytest.mark.parametrize("tag", ["!!binary aGk=", "!!set {x}", "!!omap [a: 1]", "!custom x"])
def test_non_core_tags_are_refused(tag):
    with pytest.raises(SpecError, match="unsupported YAML tag"):
        parse_yaml(f"a: {tag}\n", "f.yaml")


def test_core_tags_are_accepted():
    doc = parse_yaml('a: !!str 5\nb: !!int "7"\nc: !!float 1\nd: !!bool "true"\ne: !!null ""\n', "f.yaml")
    assert doc.data == {"a": "5", "b": 7, "c": 1.0, "d": True, "e": None}


@pytest.mark.parametrize("value", ["!!int twenty", "!!float abc", "!!bool maybe", "!!timestamp someday"])
def test_core_tag_with_bad_value_is_a_finding(value):
    with pytest.raises(SpecError) as excinfo:
        parse_yaml(f"a: 1\nb: {value}\n", "f.yaml")
    finding = _only_finding(excinfo)
    assert (finding.line, finding.col, finding.path) == (2, 4, "b")


def test_alias_bomb_fails_fast():
    lines = ["l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    start = time.perf_counter()
    with pytest.raises(SpecError) as excinfo:
        parse_yaml("\n".join(lines) + "\n", "f.yaml")
    elapsed = time.perf_counter() - start
    finding = _only_finding(excinfo)
    assert f"more than {MAX_NODES} nodes (alias bomb?)" in finding.message
    assert 1 <= finding.line <= 9
    assert elapsed < 5, f"took {elapsed:.1f}s"


def test_node_limit_counts_plain_nodes_too(monkeypatch):
    """The limit is on built nodes (root mapping + list + items here), aliases or not."""
    monkeypatch.setattr("lgbm_pipeline_compiler.spec.loader.MAX_NODES", 50)
    assert len(parse_yaml(f"a: [{', '.join(['1'] * 48)}]\n", "f.yaml").data["a"]) == 48
    with pytest.raises(SpecError, match="more than 50 nodes"):
        parse_yaml(f"a: [{', '.join(['1'] * 49)}]\n", "f.yaml")


def test_deep_nesting_is_a_finding_not_a_crash():
    with pytest.raises(SpecError):
        parse_yaml("a: " + "[" * 1000 + "]" * 1000 + "\n", "f.yaml")


def test_duplicate_key_points_at_the_second_occurrence():
    with pytest.raises(SpecError) as excinfo:
        parse_yaml("data:\n  target: a\n  other: 1\n  target: b\n", "f.yaml")
    assert _only_finding(excinfo).format() == "f.yaml:4:3: data.target: duplicate key"


def test_all_loader_findings_are_reported_together():
    text = "a: 1\na: 2\nb: !!python/name:os.system ''\nc:\n  <<: {x: 1}\n"
    with pytest.raises(SpecError) as excinfo:
        parse_yaml(text, "f.yaml")
    assert [(f.line, f.path) for f in excinfo.value.findings] == [(2, "a"), (3, "b"), (5, "c")]


def test_non_scalar_keys_are_refused():
    with pytest.raises(SpecError, match="mapping keys must be plain strings"):
        parse_yaml("? [a, b]\n: c\n", "f.yaml")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "  \n# comment\n\n"])
def test_empty_documents(text):
    with pytest.raises(SpecError) as excinfo:
        parse_yaml(text, "f.yaml")
    assert _only_finding(excinfo).format() == "f.yaml:1:1: the spec is empty; start from specs/census.yaml"


def test_yaml_syntax_error_position():
    with pytest.raises(SpecError) as excinfo:
        parse_yaml("a:\n  b: 1\n   c: 2\n", "f.yaml")
    finding = _only_finding(excinfo)
    assert (finding.line, finding.col) == (3, 5)
    assert finding.message == "YAML syntax error: mapping values are not allowed here"


@pytest.mark.parametrize(
    ("text", "words"),
    [("a: &x 1\nb: &x 2\n", "duplicate anchor"), ("a: 1\n---\nb: 2\n", "single document")],
    ids=["duplicate-anchor", "two-documents"],
)
def test_yaml_error_message_keeps_its_context(text, words):
    with pytest.raises(SpecError) as excinfo:
        parse_yaml(text, "f.yaml")
    assert words in _only_finding(excinfo).message


# --- files --------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as excinfo:
        load_document(path)
    assert _only_finding(excinfo).format() == f"{path}:1:1: file not found"


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError) as excinfo:
        load_document(path)
    assert _only_finding(excinfo).message.startswith("cannot read spec: 'utf-8' codec can't decode")


def test_load_document_renders_then_parses(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("{% set x = 3 %}\nitems: [{{ x }}, {{ y }}]\n", encoding="utf-8")
    doc = load_document(path, {"y": "4"})
    assert doc.file == str(path)
    assert doc.data == {"items": [3, 4]}
    assert doc.position(("items", 0)) == (2, 9)
