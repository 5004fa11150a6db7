"""Properties of variable insertion (hypothesis): whatever text a variable holds, the rendered value
is exactly that text (or the section model refuses it, at the value's own line:col), and every other
finding keeps its position and message."""

from __future__ import annotations

import copy
import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spec_helpers import base_text

from lgbm_pipeline_compiler.errors import SpecError
from lgbm_pipeline_compiler.spec import spec_from_document
from lgbm_pipeline_compiler.spec.loader import SourceDoc, apply_templates, parse_yaml

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The valid base spec with two deliberate problems elsewhere, and a description made of a variable.
SPEC = 'variables:\n  note: "x"\n' + base_text().replace(
    "  name: census-income-lgbm-dev\n", '  name: census-income-lgbm-dev\n  description: "<{{ note }}>"\n'
).replace("threshold: 0.68", "threshold: 1.5").replace(
    "  max_parallel_jobs: 2\n", "  max_parallel_jobs: 2\n  max_paralel: 3\n"
)
DESCRIPTION = (
    SPEC[: SPEC.index('"<{{')].count("\n") + 1,
    len(SPEC[: SPEC.index('"<{{')].rsplit("\n", 1)[1]) + 1,
)


def yaml_quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar: printable characters as they are, others escaped."""
    out = []
    for char in value:
        code = ord(char)
        printable = (
            0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000
        )
        if char in '"\\':
            out.append("\\" + char)
        elif printable and code not in (0x2028, 0x2029, 0xFEFF):
            out.append(char)
        else:
            out.append(
                f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
            )
    return '"' + "".join(out) + '"'


def test_yaml_quoted_round_trips_through_yaml():
    value = 'a"b\\c\n\x00\x85\u2028\ufeff\U0001f600\x7f\t'
    assert parse_yaml(f"a: {yaml_quoted(value)}\n", "f.yaml").data == {"a": value}


@functools.cache
def _parsed(text: str) -> SourceDoc:
    return parse_yaml(text, "f.yaml")


def findings(text: str, overrides: dict[str, str] | None = None) -> tuple[dict, list[tuple]]:
    """The rendered data and the (line, col, path, message) of every finding. Only the overrides
    vary in most examples: the text is parsed once and each example renders a copy of it."""
    doc = copy.deepcopy(_parsed(text)) if overrides is not None else parse_yaml(text, "f.yaml")
    apply_templates(doc, overrides)
    try:
        spec_from_document(doc)
    except SpecError as err:
        return doc.data, [(f.line, f.col, f.path, f.message) for f in err.findings]
    raise AssertionError("the spec has two deliberate problems and validated")


BASELINE = findings(SPEC)[1]


def test_the_baseline_has_the_two_problems_and_nothing_at_the_description():
    assert [path for _, _, path, _ in BASELINE] == ["tuning.max_paralel", "quality_gate.threshold"]


def _same_elsewhere(found: list[tuple]) -> None:
    at_description = [f for f in found if f[2] == "pipeline.description"]
    assert [f for f in found if f[2] != "pipeline.description"] == BASELINE
    assert all(f[:2] == DESCRIPTION for f in at_description)
    assert all("\n" not in f[3] and "\r" not in f[3] and "\u2028" not in f[3] for f in at_description)


@PROPERTY
@given(value=st.text(max_size=60))
def test_a_var_value_is_inserted_exactly(value):
    data, found = findings(SPEC, {"note": value})
    assert data["pipeline"]["description"] == f"<{value}>"
    assert data["variables"] == {"note": value}
    _same_elsewhere(found)


@PROPERTY
@given(value=st.text(max_size=60))
def test_a_default_value_is_inserted_exactly(value):
    """The default as written in YAML (a double-quoted scalar) reaches the description exactly; a
    default is rendered too, so one holding `{{`, `{%` or `{#` is either rendered or refused at the
    variable, never inserted as text."""
    text = SPEC.replace('note: "x"', f"note: {yaml_quoted(value)}")
    try:
        data, found = findings(text)
    except SpecError as err:
        assert any(marker in value for marker in ("{{", "{%", "{#"))
        assert [(f.line, f.col, f.path) for f in err.findings] == [(2, 9, "variables.note")]
        return
    if not any(marker in value for marker in ("{{", "{%", "{#")):
        assert data["pipeline"]["description"] == f"<{value}>"
    _same_elsewhere(found)


@settings(PROPERTY, max_examples=25)
@given(value=st.text(min_size=2000, max_size=4000))
def test_long_and_odd_values_are_inserted_or_refused_at_the_value(value):
    """Up to 4000 characters (over the description's 3072 limit): exact, or one finding at the value."""
    data, found = findings(SPEC, {"note": value})
    assert data["pipeline"]["description"] == f"<{value}>"
    _same_elsewhere(found)
