"""Template attacks, table-driven, through the CLI (`lgbm_pipeline_compiler.cli.main`).

Each case puts a hostile template in a value of a valid spec (`pipeline.description`, or a
variable's default) or passes a hostile ``--var`` value, runs ``lgbm-pipeline validate`` in-process,
and asserts the exact stderr: one located line per problem and exit code 2, or ``ok`` and exit 0
for a case accepted on purpose (its ``why`` says why, and the value that reached the spec is
checked to be exactly what was given).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.spec.loader import load_document

REPO = Path(__file__).resolve().parents[2]
SPEC = "spec.yaml"

VARIABLES = """\
variables:
  note: hello
  bucket: lgbm-pipelines-111122223333
  jobs: 20
  flag: true
"""
"""The spec's variables: `note` is the description, `bucket` the write bucket, `jobs` max_jobs."""


def spec_text(description: str = "{{ note }}", variables: str = VARIABLES) -> str:
    """The valid base spec (tests/invalid/_base.yaml) with variables and template values."""
    text = variables + (REPO / "tests" / "invalid" / "_base.yaml").read_text(encoding="utf-8")
    edits = {
        "  name: census-income-lgbm-dev\n": f"  name: census-income-lgbm-dev\n  description: {json.dumps(description)}\n",
        "write: s3://lgbm-pipelines-111122223333/": "write: s3://{{ bucket }}/",
        "max_jobs: 20": 'max_jobs: "{{ jobs }}"',
    }
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def where(text: str, needle: str) -> str:
    """``spec.yaml:line:col`` of the value that follows ``needle`` (a key and its colon)."""
    at = text.index(needle) + len(needle)
    at += len(text[at:]) - len(text[at:].lstrip(" "))
    return f"{SPEC}:{text.count(chr(10), 0, at) + 1}:{at - text.rfind(chr(10), 0, at)}"


@dataclass
class Case:
    id: str
    description: str = "{{ note }}"
    """The description's value as written (a template)."""
    var: list[str] = field(default_factory=list)
    """--var pairs."""
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    """(the text before the located value, or "" for the `variables:` key at 1:1; dotted path;
    message) of each expected line; none: the case is accepted."""
    why: str = ""
    """For an accepted case: why it is accepted on purpose."""
    value: str | None = None
    """For an accepted case: the description that must reach the spec, exactly."""
    variables: str = VARIABLES


def err(message: str, key: str = "description: ", path: str = "pipeline.description") -> tuple[str, str, str]:
    return (key, path, message)


ATTR = "template error: attribute access (.{}) is not supported in spec templates; use a filter, e.g. {{{{ name | upper }}}}"
STATEMENTS = (
    "template statements ({% ... %}) are not supported: give defaults under `variables:` (override them with "
    "--var NAME=VALUE), write a conditional value as {{ a if condition else b }}, and keep a separate spec "
    "file for a different set of sections"
)
GLOBAL = "template error: '{}' is not available in spec templates (their one function is range())"
TOO_BIG = "template error: {} would exceed {} {}, the limit for spec templates"
S3 = (
    "'{}' is not a valid S3 URI; expected s3://bucket-name/key/prefix (lower-case bucket name, no spaces, "
    "no empty path segments)"
)
VERBATIM = "a --var value is data: inserted exactly as given, never parsed as YAML nor rendered"

CASES = [
    # --- sandbox escapes: no attribute access, no globals but range(), no calls, no format ---------
    Case("class", "{{ ''.__class__ }}", errors=[err(ATTR.format("__class__"))]),
    Case("subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}", errors=[err(ATTR.format("__class__"))]),
    Case("cycler-globals", "{{ cycler.__init__.__globals__.os.popen('id').read() }}", errors=[err(GLOBAL.format("cycler"))]),
    Case("joiner-globals", "{{ joiner.__init__.__globals__ }}", errors=[err(GLOBAL.format("joiner"))]),
    Case("namespace-globals", "{{ namespace.__init__.__globals__ }}", errors=[err(GLOBAL.format("namespace"))]),
    Case("lipsum-globals", "{{ lipsum.__globals__['os'].popen('id').read() }}", errors=[err(GLOBAL.format("lipsum"))]),
    Case("lipsum-huge", "{{ lipsum(n=100000, min=1000, max=1000) }}", errors=[err(GLOBAL.format("lipsum"))]),
    Case("dict-global", "{{ dict(a=1) }}", errors=[err(GLOBAL.format("dict"))]),
    Case("template-reference", "{{ self._TemplateReference__context }}", errors=[err(ATTR.format("_TemplateReference__context"))]),
    Case("self-init", "{{ self.__init__.__globals__ }}", errors=[err(ATTR.format("__init__"))]),
    Case("self-object", "{{ self }}", errors=[err(
        "template error: the expression produced a TemplateReference; a template value must be a string, number, boolean or null"
    )]),
    Case("range-self", "{{ range.__self__ }}", errors=[err(ATTR.format("__self__"))]),
    Case("item-dunder", "{{ note['__class__'] }}", errors=[err(
        "template error: only strings and lists can be indexed in spec templates, by integers or slices"
    )]),
    Case("attr-filter", "{{ note|attr('__class__') }}", errors=[err("template syntax error: No filter named 'attr'.")]),
    Case("map-filter", "{{ note|map('upper') }}", errors=[err("template syntax error: No filter named 'map'.")]),
    Case("method-call", "{{ note.upper() }}", errors=[err(ATTR.format("upper"))]),
    Case("format-class", "{{ '{0.__class__}'.format(note) }}", errors=[err(ATTR.format("format"))]),
    Case("format-map", "{{ '{x.__globals__}'.format_map(note) }}", errors=[err(ATTR.format("format_map"))]),
    Case("format-width", "{{ '{0:>999999999}'.format(1) }}", errors=[err(ATTR.format("format"))]),
    Case("percent-width", "{{ '%999999999d' % 1 }}", errors=[err(
        "template error: %-formatting of strings is not supported in spec templates; use ~ to join text"
    )]),
    Case("flask-config", "{{ config.items() }}", errors=[err(
        "template error: 'config' is undefined; declare it under `variables:` (config: VALUE) or pass --var config=VALUE"
    )]),
    # --- loops, ranges, recursion, include/import: statements are not templates here ----------------
    Case("nested-range-loops", "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}", errors=[err(STATEMENTS)]),
    Case("recursive-macro", "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", errors=[err(STATEMENTS)]),
    Case("include", "{% include '/etc/passwd' %}", errors=[err(STATEMENTS)]),
    Case("import", "{% import 'os' as os %}{{ os }}", errors=[err(STATEMENTS)]),
    Case("extends", "{% extends 'base.yaml' %}", errors=[err(STATEMENTS)]),
    Case("raw-block", "{% raw %}{{ note }}{% endraw %}", errors=[err(STATEMENTS)]),
    Case("set-statement", "{% set note = 'x' %}{{ note }}", errors=[err(STATEMENTS)]),
    Case("comment", "{# hidden #}{{ note }}", errors=[err("template comments ({# ... #}) are not supported; use a YAML comment (# ...)")]),
    Case("range-bomb", "{{ range(99999) | join }}", errors=[err(TOO_BIG.format("a list", "1,000", "items"))]),
    Case("range-astronomic", "{{ range(10**100) | join }}", errors=[err(TOO_BIG.format("a list", "1,000", "items"))]),
    Case("range-join-bomb", "{{ range(1000) | join('x' * 100) }}", errors=[err(TOO_BIG.format("join()", "10,000", "characters"))]),
    Case("nested-parentheses", "{{ " + "(" * 300 + "1" + ")" * 300 + " }}", errors=[err(
        "template error: the expression nests too deeply"
    )]),
    Case("filter-chain", "{{ note" + "|lower" * 30 + " }}", errors=[err(
        "template error: the expression nests more than 24 levels deep; simplify it"
    )]),
    Case("many-parts", "{{ [" + ", ".join(["1"] * 300) + "] | length }}", errors=[err(
        "template error: the value has more than 256 parts; simplify it"
    )]),
    Case("long-template", "{{ " + "-" * 5000 + "1 }}", errors=[err(
        "template error: a templated value is longer than 4,096 characters; shorten it"
    )]),
    # --- power, multiplication, repetition and output bombs ---------------------------------------
    Case("pow-bomb", "{{ 10**(10**10) }}", errors=[err(TOO_BIG.format("a power", "4,096", "bits"))]),
    Case("product-bomb", "n{{ 9**1000 * 9**1000 }}", errors=[err(TOO_BIG.format("a product", "4,096", "bits"))]),
    Case("string-repeat-bomb", "{{ 'a' * 10**8 }}", errors=[err(TOO_BIG.format("a repetition", "10,000", "characters"))]),
    Case("repeat-reversed", "{{ 10**8 * 'a' }}", errors=[err(TOO_BIG.format("a repetition", "10,000", "characters"))]),
    Case("list-repeat-bomb", "{{ [0] * 10**8 }}", errors=[err(TOO_BIG.format("a repetition", "1,000", "items"))]),
    Case("concat-output", "{{ 'a' * 10000 ~ 'b' * 10000 }}", errors=[err(TOO_BIG.format("a string", "10,000", "characters"))]),
    Case("replace-bomb", "{{ note|replace('', 'b' * 9999) }}", errors=[err(TOO_BIG.format("replace()", "10,000", "characters"))]),
    Case("doubling-variables", "{{ v4 }}", variables=VARIABLES + "  v0: " + "a" * 1000 + "\n" + "".join(
        f'  v{i}: "{{{{ v{i - 1} ~ v{i - 1} }}}}"\n' for i in range(1, 5)
    ), errors=[err(TOO_BIG.format("a string", "10,000", "characters"), key="  v4: ", path="variables.v4")]),
    Case("infinite-float", "{{ 1e308 * 10 }}", errors=[err("template error: the expression produced inf; use a finite number")]),
    Case("zero-division", "{{ 1 / 0 }}", errors=[err("template error: ZeroDivisionError: division by zero")]),
    Case("syntax", "{{ note }", errors=[err("template syntax error: unexpected '}'")]),
    # --- --var injection: values are data ---------------------------------------------------------
    Case("var-hash-truncation", var=["bucket=evil-bucket #"], errors=[err(
        S3.format("s3://evil-bucket #/census-income/dev"), key="write: ", path="storage.write"
    )]),
    Case("var-newline-in-bucket", var=["bucket=evil\nx: 1"], errors=[err(
        S3.format("s3://evil\\nx: 1/census-income/dev"), key="write: ", path="storage.write"
    )]),
    Case("var-hash", var=["note=a # b"], why=VERBATIM + ": `#` starts no comment", value="a # b"),
    Case("var-newline", var=["note=one\ntwo: 2\n- three"], why=VERBATIM + ": a line break adds no line", value="one\ntwo: 2\n- three"),
    Case("var-colon", var=["note=key: value"], why=VERBATIM + ": `: ` makes no mapping", value="key: value"),
    Case("var-brace", var=["note={a: 1, b: [2]}"], why=VERBATIM + ": a brace makes no flow mapping", value="{a: 1, b: [2]}"),
    Case("var-quotes", var=["note=it's \"quoted\"'"], why=VERBATIM + ": quotes close nothing", value="it's \"quoted\"'"),
    Case("var-anchor-alias", var=["note=&a [*a, *a]"], why=VERBATIM + ": no anchor, no alias", value="&a [*a, *a]"),
    Case("var-python-tag", var=["note=!!python/object/apply:os.system ['id']"], why=VERBATIM + ": no tag", value="!!python/object/apply:os.system ['id']"),
    Case("var-template", var=["note={{ 7 * 7 }}{% include 'x' %}"], why=VERBATIM + ": never rendered", value="{{ 7 * 7 }}{% include 'x' %}"),
    Case("var-line-separator", var=["note=a\u2028b\u2029c"], why=VERBATIM + ": U+2028/U+2029 are data", value="a\u2028b\u2029c"),
    Case("var-next-line", var=["note=a\x85b"], why=VERBATIM + ": U+0085 is data", value="a\x85b"),
    Case("var-nul", var=["note=a\x00b"], why=VERBATIM + ": a NUL is data (the description field takes any text)", value="a\x00b"),
    Case("var-typed-int", var=["jobs=lots"], errors=[err(
        "--var jobs='lots': 'jobs' is an integer (its default is 20); pass an integer, e.g. --var jobs=20",
        key="  jobs: ", path="variables.jobs",
    )]),
    Case("var-typed-bool", var=["flag=yes"], errors=[err(
        "--var flag='yes': 'flag' is a boolean (its default is true); pass true or false", key="  flag: ", path="variables.flag"
    )]),
    Case("var-unknown", var=["buket=evil"], errors=[err(
        "--var buket: the spec neither declares nor uses a variable 'buket'; did you mean 'bucket'? "
        "(declared: note, bucket, jobs, flag)", key="", path="variables",
    )]),
]  # fmt: skip


def test_the_table_is_big_enough_and_named_uniquely():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)
    assert all(bool(case.errors) != bool(case.why) for case in CASES), "each case fails or says why it passes"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_attack(case: Case, tmp_path, monkeypatch, capsys):
    text = spec_text(case.description, case.variables)
    (tmp_path / SPEC).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ["validate", SPEC] + [a for pair in case.var for a in ("--var", pair)]
    code = main(args)
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    if case.errors:
        expected = [
            f"{where(text, key) if key else SPEC + ':1:1'}: {path}: {msg}" for key, path, msg in case.errors
        ]
        assert (code, captured.err.splitlines()) == (2, expected)
    else:
        assert (code, captured.err) == (0, f"{SPEC}: ok\n")
        overrides = dict(pair.split("=", 1) for pair in case.var)
        assert load_document(SPEC, overrides).data["pipeline"]["description"] == case.value
