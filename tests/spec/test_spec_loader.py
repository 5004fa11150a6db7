"""The loader: safe YAML, source positions, refusals, one-line findings; then template values."""

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


# --- render_template: one string value (the template rules are in test_template_*.py) ------------


def test_render_template_renders_one_value_as_text():
    assert render_template("census-{{ env }}", "f.yaml", {"env": "prod"}) == "census-prod"
    assert render_template("{{ n * 2 }}", "f.yaml", {"n": 21}) == "42"
    assert render_template("{{ flag }}", "f.yaml", {"flag": True}) == "true"


def test_render_template_problems_are_findings():
    with pytest.raises(SpecError) as excinfo:
        render_template("x{{ missing }}", "f.yaml", {})
    assert _only_finding(excinfo).format() == "f.yaml:1:1: template error: 'missing' is undefined"


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


def test_load_document_parses_then_renders_values(tmp_path):
    """The file is YAML as written; each templated value is rendered where it stands."""
    path = tmp_path / "s.yaml"
    path.write_text('variables:\n  x: 3\nitems: ["{{ x }}", "{{ y }}", "n-{{ x }}"]\n', encoding="utf-8")
    doc = load_document(path, {"y": "4"})
    assert doc.file == str(path)
    assert doc.data == {"variables": {"x": 3}, "items": [3, "4", "n-3"]}
    assert doc.position(("items", 0)) == (3, 9)
    assert doc.position(("items", 2)) == (3, 31)


def test_findings_are_one_line_whatever_the_keys_and_values_hold():
    """A key or value with a line break or control character is quoted escaped in the finding."""
    with pytest.raises(SpecError) as excinfo:
        parse_yaml('a: 1\n"b\\nc\\u2028d\\x85e": 1\n"b\\nc\\u2028d\\x85e": 2\n', "f.yaml")
    assert _only_finding(excinfo).format() == "f.yaml:3:1: b\\nc\\u2028d\\x85e: duplicate key"
    doc = parse_yaml('a: "x\\ny"\n', "f.yaml")
    finding = doc.finding(("a",), "a", f"{doc.data['a']!s} is wrong\r\x00")
    assert finding.format() == "f.yaml:1:4: a: x\\ny is wrong\\r\\x00"
