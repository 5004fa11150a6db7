"""Template values: how a templated value is typed, `variables:`, --var overrides, located errors,
limits, and the regressions for issue 15's findings 7, 8 and 17."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.errors import SpecError
from lgbm_pipeline_compiler.spec import template
from lgbm_pipeline_compiler.spec.loader import apply_templates, parse_yaml

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "specs" / "census.yaml"


def rendered(text: str, overrides: dict[str, str] | None = None) -> dict:
    doc = parse_yaml(text, "f.yaml")
    apply_templates(doc, overrides)
    return doc.data


def problems(text: str, overrides: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as excinfo:
        rendered(text, overrides)
    return [f.format() for f in excinfo.value.findings]


VARS = 'variables:\n  n: 20\n  x: 0.5\n  flag: true\n  nothing: null\n  s: "007"\n  env: dev\n'


# --- how a templated value is typed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"{{ n }}"', 20),  # exactly one expression: the expression's type
        ('"{{ n * 2 + 1 }}"', 41),
        ('"{{ x }}"', 0.5),
        ('"{{ flag }}"', True),
        ('"{{ not flag }}"', False),
        ('"{{ nothing }}"', None),
        ('"{{ s }}"', "007"),  # a string stays a string, however it looks
        ("'{{ \"true\" }}'", "true"),
        ('"{{ n }} "', "20 "),  # anything around the expression: a string
        ('"n={{ n }}"', "n=20"),
        ("x{{ flag }}", "xtrue"),  # booleans are written as YAML writes them
        ("x{{ x }}", "x0.5"),
        ("{{ env }}-{{ n }}", None),  # (not a template: a flow mapping, see test_unquoted_template)
        ('"{{ env | upper }}-{{ s | int }}"', "DEV-7"),
        ("|\n  {{ env }}\n  line two\n", "dev\nline two\n"),  # block scalars keep their line breaks
        ("\"{{ env if flag else 'prod' }}\"", "dev"),
        ('"{{ env[:2] ~ s[-1] }}"', "de7"),
        ("20", 20),  # not a template: typed by YAML as written
    ],
)
def test_typing(value, expected):
    if value.startswith("{{"):
        assert problems(VARS + f"a: {value}\n")  # YAML reads an unquoted {{ as a mapping
        return
    assert rendered(VARS + f"a: {value}\n")["a"] == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"{{ [n, n] }}"', "the expression produced a list; a template value must be a string, number, boolean or null"),
        ('"{{ {\'a\': n} }}"', "the expression produced a mapping; a template value must be a string, number, boolean or null"),
        ('"{{ range(3) }}"', "the expression produced a range; a template value must be a string, number, boolean or null"),
        ('"x{{ [n] }}"', "an expression produced a list; a template must produce a scalar"),
        ('"x{{ nothing }}"', "an expression inserted into text is null; give the variable a value"),
    ],
)  # fmt: skip
def test_a_template_never_produces_a_structure(value, message):
    assert problems(VARS + f"a: {value}\n") == [f"f.yaml:8:4: a: template error: {message}"]


def test_a_value_that_only_looks_like_a_template_is_text():
    data = rendered(VARS + 'a: "{ {n} }"\nb: "%}"\nc: "#}"\n')
    assert (data["a"], data["b"], data["c"]) == ("{ {n} }", "%}", "#}")


def test_a_literal_brace_pair_is_written_as_an_expression():
    assert rendered(VARS + "a: 'x{{ \"{{\" }}y'\n")["a"] == "x{{y"


# --- variables: and --var --------------------------------------------------------------------------


def test_variables_use_those_above_them_and_the_section_holds_the_resolved_values():
    text = 'variables:\n  account: "1234"\n  bucket: b-{{ account }}\n  path: s3://{{ bucket }}/x\nw: "{{ path }}"\n'
    data = rendered(text)
    assert data["w"] == "s3://b-1234/x"
    assert data["variables"] == {"account": "1234", "bucket": "b-1234", "path": "s3://b-1234/x"}


def test_an_override_is_seen_by_the_variables_below_it_and_is_never_rendered():
    text = 'variables:\n  account: "1234"\n  bucket: b-{{ account }}\nw: "{{ bucket }}"\n'
    assert rendered(text, {"account": "99"})["w"] == "b-99"
    assert rendered(text, {"bucket": "{{ account }}"})["w"] == "{{ account }}"


def test_a_variable_below_or_itself_is_undefined_with_the_rule():
    text = "variables:\n  a: x-{{ b }}\n  b: y\n  c: z-{{ c }}\n"
    assert problems(text) == [
        "f.yaml:2:6: variables.a: template error: 'b' is undefined: a variable can use only the variables declared above it",
        "f.yaml:4:6: variables.c: template error: 'c' is undefined: a variable can use only the variables declared above it",
    ]


@pytest.mark.parametrize(
    ("override", "value"),
    [
        ("n=40", 40), ("n=-3", -3), ("x=2", 2.0), ("x=1e-3", 0.001), ("flag=False", False), ("flag=true", True),
        ("s=0x10", "0x10"), ("s=no", "no"), ("env=20", "20"), ("nothing=null", "null"),
    ],
)  # fmt: skip
def test_a_var_takes_the_type_of_the_default(override, value):
    name, given = override.split("=")
    data = rendered(VARS + f'a: "{{{{ {name} }}}}"\n', {name: given})
    assert data["a"] == value and type(data["a"]) is type(value)


@pytest.mark.parametrize(
    ("override", "line", "message"),
    [
        (
            "n=20.5",
            2,
            "--var n='20.5': 'n' is an integer (its default is 20); pass an integer, e.g. --var n=20",
        ),
        (
            "x=nan",
            3,
            "--var x='nan': 'x' is a number (its default is 0.5); pass a finite number, e.g. --var x=0.5",
        ),
        ("flag=1", 4, "--var flag='1': 'flag' is a boolean (its default is true); pass true or false"),
    ],
)
def test_a_var_that_is_not_of_the_default_type_is_located_at_the_variable(override, line, message):
    name, given = override.split("=")
    col = 5 + len(name)
    assert problems(VARS + "a: 1\n", {name: given}) == [f"f.yaml:{line}:{col}: variables.{name}: {message}"]


def test_a_var_used_but_not_declared_is_a_string():
    assert rendered('a: "{{ team }}"\nb: x-{{ team }}\n', {"team": "42"}) == {"a": "42", "b": "x-42"}


def test_a_var_the_spec_neither_declares_nor_uses_is_an_error():
    assert problems(VARS + "a: 1\n", {"enn": "prod"}) == [
        "f.yaml:1:1: variables: --var enn: the spec neither declares nor uses a variable 'enn'; did you mean "
        "'env'? (declared: n, x, flag, nothing, s, env)"
    ]
    assert problems("a: 1\n", {"env": "prod"}) == [
        "f.yaml:1:1: --var env: the spec neither declares nor uses a variable 'env' (it declares none)"
    ]


def test_variables_that_is_not_a_mapping_is_left_to_the_section_model(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(REPO)
    path = tmp_path / "s.yaml"
    path.write_text("variables: [a, b]\n" + (REPO / "tests/invalid/_base.yaml").read_text(), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}:1:12: variables: Input should be a valid dictionary\n"


# --- located errors -----------------------------------------------------------------------------


def test_undefined_variable_is_located_at_its_value_with_the_fix():
    text = VARS + "pipeline:\n  name: census-{{ enx }}\n"
    assert problems(text) == [
        "f.yaml:9:9: pipeline.name: template error: 'enx' is undefined; did you mean 'env'? or declare it under "
        "`variables:` (enx: VALUE) or pass --var enx=VALUE"
    ]


def test_a_failed_variable_is_reported_once_not_at_every_use():
    text = "variables:\n  a: x-{{ missing }}\nb: y-{{ a }}\nc: '{{ a }}'\n"
    assert problems(text) == [
        "f.yaml:2:6: variables.a: template error: 'missing' is undefined; declare it above 'a' under "
        "`variables:` or pass --var missing=VALUE"
    ]


def test_every_template_problem_is_reported_at_once():
    text = VARS + "a: x-{{ 1 / 0 }}\nb:\n  - ok\n  - y-{{ nope }}\n'{{ k }}': 1\n"
    assert problems(text) == [
        "f.yaml:8:4: a: template error: ZeroDivisionError: division by zero",
        "f.yaml:11:5: b[1]: template error: 'nope' is undefined; declare it under `variables:` (nope: VALUE) "
        "or pass --var nope=VALUE",
        "f.yaml:12:1: {{ k }}: templates are rendered in values only; write this key as it is",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: {{ env }}\n", "f.yaml:1:4: a: a value that starts with {{ must be quoted: write \"{{ env }}\""),
        ("a: [x, {{ env }}]\n", "f.yaml:1:8: a[1]: a value that starts with {{ must be quoted: write \"{{ env }}\""),
        ('a: {{ env | default("d") }}\n', "f.yaml:1:4: a: a value that starts with {{ must be quoted: write '{{ env | default(\"d\") }}'"),
    ],
)  # fmt: skip
def test_unquoted_template(text, expected):
    assert problems(text) == [expected + " (unquoted, YAML reads it as a mapping)"]


def test_an_unquoted_template_that_breaks_the_yaml_gets_the_hint():
    (line,) = problems("a: 1\nb: {{ env }}-suffix\n")
    assert line.startswith("f.yaml:2:13: YAML syntax error: ")
    assert line.endswith('; a value that starts with {{ must be quoted, e.g. region: "{{ region }}"')


# --- limits -------------------------------------------------------------------------------------


def test_the_time_limit_stops_rendering_at_the_value_being_rendered(monkeypatch):
    monkeypatch.setattr(template, "TIME_LIMIT", 0.0)
    assert problems("a: x-{{ 1 }}\n") == [
        "f.yaml:1:4: a: template error: the spec's templates took longer than 0 s to render"
    ]


def test_the_total_output_limit_counts_every_value(monkeypatch):
    monkeypatch.setattr(template, "MAX_TOTAL", 12)
    assert rendered("a: abc-{{ 1 }}\n") == {"a": "abc-1"}
    assert problems("a: abcdef-{{ 1 }}\nb: ghijkl-{{ 2 }}\n") == [
        "f.yaml:2:4: b: template error: the spec's templates render to more than 12 characters"
    ]


def test_the_limits_allow_what_a_spec_needs():
    text = (
        VARS
        + 'a: "{{ 2 ** 4000 > 0 }}"\nb: "{{ range(1000) | length }}"\nc: "{{ (\'x\' * 10000) | length }}"\n'
    )
    assert {k: v for k, v in rendered(text).items() if k != "variables"} == {"a": True, "b": 1000, "c": 10000}


# --- issue 15: the findings, reproduced as reported --------------------------------------------------


def _validate(capsys, *args: str) -> tuple[int, list[str]]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    return code, captured.err.splitlines()


def _position(text: str, needle: str) -> str:
    """line:col where ``needle`` starts in ``text``."""
    at = text.index(needle)
    return f"{text.count(chr(10), 0, at) + 1}:{at - text.rfind(chr(10), 0, at)}"


BOMBS = {
    "{{ 10**(10**10) }}": "template error: a power would exceed 4,096 bits, the limit for spec templates",
    "{{ 'a' * 10**8 }}": "template error: a repetition would exceed 10,000 characters, the limit for spec templates",
}
UNQUOTED = {  # written unquoted, as the text template allowed: not YAML, one located line saying so
    "{{ 10**(10**10) }}": "quality_gate.threshold: a value that starts with {{ must be quoted: write "
    '"{{ 10**(10**10) }}" (unquoted, YAML reads it as a mapping)',
    "{{ 'a' * 10**8 }}": "YAML syntax error: while scanning an alias: expected alphabetic or numeric character, "
    "but found ' '; a value that starts with {{ must be quoted, e.g. region: \"{{ region }}\"",
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_finding_7_value_bombs_are_one_located_error(bomb, tmp_path, monkeypatch, capsys):
    """`{{ 10**(10**10) }}` hung and `'a' * 10**8` took 31 s and 720 MB: now refused before running."""
    text = CENSUS.read_text(encoding="utf-8").replace("threshold: 0.68", f'threshold: "{bomb}"')
    (tmp_path / "census.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    where = _position(text, f'"{bomb}"')
    assert _validate(capsys, "census.yaml") == (
        2,
        [f"census.yaml:{where}: quality_gate.threshold: {BOMBS[bomb]}"],
    )
    (tmp_path / "census.yaml").write_text(text.replace(f'"{bomb}"', bomb), encoding="utf-8")
    code, lines = _validate(capsys, "census.yaml")
    assert (code, len(lines)) == (2, 1)
    line = where.split(":")[0]
    assert re.fullmatch(rf"census\.yaml:{line}:\d+: " + re.escape(UNQUOTED[bomb]), lines[0]), lines[0]


LOOPS = "{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}"


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        (lambda text: f"{LOOPS}\n{text}", ""),  # a line of its own, as in the text template
        (lambda text: text.replace("description: LightGBM", f"description: {LOOPS} LightGBM"), ""),
        (lambda text: text.replace("description: LightGBM", f"description: LightGBM {LOOPS}"), "pipeline.description: "),
    ],
    ids=["own-line", "starting-a-value", "inside-a-value"],
)  # fmt: skip
def test_finding_7_nested_range_loops_are_one_located_error(edit, path, tmp_path, monkeypatch, capsys):
    """Statements are not templates any more: the loops never run, wherever they are written."""
    text = edit(CENSUS.read_text(encoding="utf-8"))
    (tmp_path / "census.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    where = _position(text, "LightGBM {%" if path else LOOPS)
    assert _validate(capsys, "census.yaml") == (2, [f"census.yaml:{where}: {path}{template.STATEMENTS}"])


def test_finding_8_a_var_with_a_hash_is_never_truncated(monkeypatch, capsys):
    """`--var 'bucket=evil-bucket #'` silently made storage.write `s3://evil-bucket`: now the whole
    value reaches storage.write, which refuses it as an S3 URI, at its line:col."""
    monkeypatch.chdir(REPO)
    text = CENSUS.read_text(encoding="utf-8")
    where = _position(text, "s3://{{ bucket }}")
    assert _validate(capsys, "specs/census.yaml", "--var", "bucket=evil-bucket #") == (
        2,
        [
            f"specs/census.yaml:{where}: storage.write: 's3://evil-bucket #/census-income/dev' is not a valid S3 "
            "URI; expected s3://bucket-name/key/prefix (lower-case bucket name, no spaces, no empty path segments)"
        ],
    )


def test_finding_8_a_var_with_line_breaks_shifts_no_position(monkeypatch, capsys):
    """Each line of the output is one finding, at the line:col where its value stands in the file,
    whatever line breaks the --var value holds."""
    monkeypatch.chdir(REPO)
    text = CENSUS.read_text(encoding="utf-8")
    values = {
        "pipeline.name": "census-income-lgbm-{{ env }}",
        "pipeline.tags.environment": '"{{ env }}"',
        "storage.write": "s3://{{ bucket }}",
        "deploy.endpoint_name": "census-income-{{ env }}\n",
    }
    at = {path: f"specs/census.yaml:{_position(text, needle)}" for path, needle in values.items()}
    for breaks in [" ", "\n", "\r\n", "\n\n\n", "\u2028", "\u2029", "\x85", "\r"]:
        code, lines = _validate(capsys, "specs/census.yaml", "--var", f"env=Bad{breaks}Env")
        found = dict(reversed(line.split(": ")[:2]) for line in lines)
        assert code == 2 and len(found) == len(lines)
        assert {"pipeline.name", "storage.write", "deploy.endpoint_name"} <= set(found) <= set(at)
        assert found == {path: at[path] for path in found}


def test_finding_17_the_census_spec_is_yaml_as_written_and_points_at_the_schema():
    text = CENSUS.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schema/pipeline-spec.schema.json\n")
    data = yaml.safe_load(text)
    assert data["variables"] == {"env": "dev", "account": "111122223333", "region": "us-east-1",
                                 "bucket": "lgbm-pipelines-{{ account }}"}  # fmt: skip
    assert data["pipeline"]["region"] == "{{ region }}"
    assert not re.search(r"\{%|\{#", text)


def test_finding_17_the_old_census_text_fails_with_the_migration_path(tmp_path, capsys):
    """The Jinja-text spec (its {% set %} lines are not YAML) says what to do instead, at each line."""
    old = (
        '{% set env = env | default("dev") %}\n{% set account = account | default("111122223333") %}\n'
        'pipeline:\n  name: census-income-lgbm-{{ env }}\n  region: {{ region | default("us-east-1") }}\n'
    )
    (tmp_path / "old.yaml").write_text(old, encoding="utf-8")
    code, lines = _validate(capsys, str(tmp_path / "old.yaml"))
    assert (code, lines) == (2, [f"{tmp_path / 'old.yaml'}:{n}:1: {template.STATEMENTS}" for n in (1, 2)])
