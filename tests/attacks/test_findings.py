"""Regression tests for the hostile-input review (issue 15): finding 6 (spec side) and finding 14.

Each test reproduces an attack as the review describes it, on ``_base.yaml`` as text, through
``lgbm-pipeline validate`` (``cli.main``), and checks the one located line it now gets (exit 2).
The facts the rules rest on are checked against their sources where those are at hand: train.py's
options and log lines, botocore's partitions, the SDK's compiled hyperparameters, LightGBM itself.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.spec.aws import partitions
from lgbm_pipeline_compiler.spec.hyperparameters import ADDED_BY_SAGEMAKER, SCRIPT_PATHS, reserved_reason
from lgbm_pipeline_compiler.spec.objective import TRAIN_LOG

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BASE = (HERE / "_base.yaml").read_text(encoding="utf-8")
FINDING = re.compile(r"^spec\.yaml:(\d+):(\d+): (\S+): (.+)$")


def _validate(tmp_path: Path, monkeypatch, capsys, edits: dict[str, str], make=None) -> tuple[int, str, str]:
    """Validate the base spec with each ``old`` text replaced by ``new``; (exit code, path, message)."""
    text = BASE
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    if make:
        make(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = main(["validate", "spec.yaml"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    match = FINDING.match(lines[0])
    assert match, lines[0]
    line = int(match[1])
    assert text.splitlines()[line - 1].strip(), "the finding points at a line of the spec"
    return code, match[3], match[4]


def _rejected(tmp_path, monkeypatch, capsys, edits, path, phrase, make=None) -> None:
    code, found_path, message = _validate(tmp_path, monkeypatch, capsys, edits, make)
    assert (code, found_path) == (2, path), message
    assert phrase in message, message


HYPERPARAMETERS = "    early_stopping_rounds: 50\n"


# --- finding 6 (spec side): hyperparameters that redirect outputs or are dropped ------------------


def test_model_dir_hyperparameter_is_rejected(tmp_path, monkeypatch, capsys):
    edits = {HYPERPARAMETERS: HYPERPARAMETERS + "    model-dir: /some/path\n"}
    _rejected(tmp_path, monkeypatch, capsys, edits, "training.hyperparameters.model-dir", "is reserved")


@pytest.mark.parametrize("name", ["sagemaker_program", "sagemaker_region", "_tuning_objective_metric"])
def test_names_sagemaker_drops_are_rejected(name, tmp_path, monkeypatch, capsys):
    edits = {HYPERPARAMETERS: HYPERPARAMETERS + f"    {name}: x\n"}
    _rejected(tmp_path, monkeypatch, capsys, edits, f"training.hyperparameters.{name}", "is reserved")


def test_reserved_script_paths_are_train_py_options():
    """Every path option train.py declares is reserved, in both spellings."""
    source = (REPO / "step_scripts" / "train.py").read_text(encoding="utf-8")
    for name in SCRIPT_PATHS:
        assert f'"--{name.replace("_", "-")}"' in source, name
        assert reserved_reason(name) and reserved_reason(name.replace("_", "-"))
    assert reserved_reason("early_stopping_rounds") is None and reserved_reason("num_leaves") is None


def test_sagemaker_adds_five_sagemaker_names_to_the_static_hyperparameters():
    """The committed census definition: what the SDK adds besides the spec's own hyperparameters
    (the tuning job adds _tuning_objective_metric at run time, the 6th)."""
    definition = json.loads((REPO / "specs" / "census.json").read_text())
    tuning = next(s for s in definition["Steps"] if s["Type"] == "Tuning")
    static = tuning["Arguments"]["TrainingJobDefinition"]["StaticHyperParameters"]
    added = sorted(k for k in static if k not in ("early_stopping_rounds", "seed"))
    assert len(added) == ADDED_BY_SAGEMAKER - 1 and all(k.startswith("sagemaker_") for k in added), added


# --- finding 14 ------------------------------------------------------------------------------------

TAGS = "    project: census-income\n"


@pytest.mark.parametrize(
    ("tag", "path", "phrase"),
    [
        ('    "aws:team": ml\n', "pipeline.tags.aws:team", "reserved for AWS"),
        ('    team: "ml\\u0007"\n', "pipeline.tags.team", "contains U+0007"),
        ('    team: "ml\\nops"\n', "pipeline.tags.team", "contains U+000A"),
        (
            "    team: " + "x" * 10_000 + "\n",
            "pipeline.tags.team",
            "10000 characters; SageMaker allows at most 256",
        ),
    ],
    ids=["aws-prefix", "control-character", "newline", "10k-value"],
)
def test_tags_aws_cannot_take(tag, path, phrase, tmp_path, monkeypatch, capsys):
    _rejected(tmp_path, monkeypatch, capsys, {TAGS: tag}, path, phrase)


ROLE = "arn:aws:iam::111122223333:role/SageMakerExecutionRole"


@pytest.mark.parametrize(
    ("role", "phrase"),
    [
        ("arn:aws:iam::111122223333:role/" + "R" * 65, "at most 64"),
        ("arn:aws:iam::111122223333:role/SageMakerRôle", "contains 'ô'"),
        (
            "arn:aws-cn:iam::111122223333:role/SageMakerExecutionRole",
            "partition aws-cn, but pipeline.region us-east-1",
        ),
        ("arn:aws-moon:iam::111122223333:role/SageMakerExecutionRole", "is not an AWS partition"),
    ],
    ids=["65-characters", "non-ascii", "china-partition-in-us-east-1", "bogus-partition"],
)
def test_role_arns_aws_cannot_take(role, phrase, tmp_path, monkeypatch, capsys):
    _rejected(tmp_path, monkeypatch, capsys, {ROLE: role}, "pipeline.role_arn", phrase)


def test_region_that_does_not_exist(tmp_path, monkeypatch, capsys):
    edits = {"region: us-east-1": "region: us-east-9"}
    _rejected(tmp_path, monkeypatch, capsys, edits, "pipeline.region", "is not an AWS region")


def test_regions_are_botocores():
    """The regions read from partitions.json as a file are the ones botocore's loader returns."""
    from botocore.loaders import Loader

    data = Loader().load_data("partitions")
    expected = {p["id"]: {r for r in p["regions"] if not r.endswith("-global")} for p in data["partitions"]}
    assert {p: set(r) for p, r in partitions().regions.items()} == expected
    assert (
        partitions().partition_of("us-east-1") == "aws"
        and partitions().partition_of("cn-north-1") == "aws-cn"
    )


WRITE = "s3://lgbm-pipelines-111122223333/census-income/dev"


@pytest.mark.parametrize(
    ("uri", "phrase"),
    [
        ("s3://lgbm-pipelines/" + "k" * 1025, "1025 bytes"),
        ("s3://lgbm-pipelines/census/../other", "'..' path segment"),
        ("s3://lgbm-pipelines/./census", "'.' path segment"),
        ("s3://lgbm-pipelines/census\\\\dev", "backslash"),
        ("s3://192.168.5.4/census", "IP address"),
        ("s3://xn--bcket-kva/census", "'xn--'"),
    ],
    ids=["key-1025", "dotdot", "dot", "backslash", "ip-bucket", "xn-bucket"],
)
def test_s3_uris_s3_cannot_take(uri, phrase, tmp_path, monkeypatch, capsys):
    _rejected(tmp_path, monkeypatch, capsys, {WRITE: f'"{uri}"'}, "storage.write", phrase)


def test_instance_count_true_is_not_an_integer(tmp_path, monkeypatch, capsys):
    edits = {
        "training:\n  instance_type: ml.m5.xlarge\n": "training:\n  instance_type: ml.m5.xlarge\n  instance_count: true\n"
    }
    _rejected(tmp_path, monkeypatch, capsys, edits, "training.instance_count", "got the boolean true")


def test_empty_facet_values(tmp_path, monkeypatch, capsys):
    edits = {"facet_values: [Female]": "facet_values: []"}
    _rejected(tmp_path, monkeypatch, capsys, edits, "clarify.bias.facet_values", "selects no rows")


def test_label_values_that_cannot_occur(tmp_path, monkeypatch, capsys):
    edits = {"facet_values: [Female]": 'facet_values: [Female]\n    label_values: [">50K"]'}
    _rejected(tmp_path, monkeypatch, capsys, edits, "clarify.bias.label_values[0]", "never occurs")


@pytest.mark.parametrize(
    ("bounds", "path", "phrase"),
    [("min: 1, max: 64", "min", "1 is below"), ("min: 2, max: 10000000000000000000", "max", "is above")],
    ids=["below-2", "ten-to-the-19"],
)
def test_num_leaves_outside_lightgbms_domain(bounds, path, phrase, tmp_path, monkeypatch, capsys):
    edits = {
        "    n_estimators: {type: integer, min: 10, max: 400}\n": "    n_estimators: {type: integer, min: 10, max: 400}\n"
        f"    num_leaves: {{type: integer, {bounds}}}\n"
    }
    _rejected(tmp_path, monkeypatch, capsys, edits, f"tuning.ranges.num_leaves.{path}", phrase)


REGEX = 'regex: "validation-f1: ([0-9\\\\.]+)"'


@pytest.mark.parametrize(
    ("regex", "phrase"),
    [
        ("validation-f1: ([a-z]+)", "cannot match a number"),
        ("validation-f1: ((?:[0-9]+)+\\\\.[0-9]+)", "backtrack"),
        ("(?:\\\\w+\\\\s?)+-f1: ([0-9.]+)", "backtrack"),
    ],
    ids=["group-cannot-match-a-number", "nested-quantifier-in-group", "nested-quantifier-before-group"],
)
def test_objective_regexes(regex, phrase, tmp_path, monkeypatch, capsys):
    _rejected(tmp_path, monkeypatch, capsys, {REGEX: f'regex: "{regex}"'}, "tuning.objective.regex", phrase)


def test_train_log_sample_is_what_train_py_prints():
    """objective.TRAIN_LOG restates train.py's log lines: its three metric prints (6 decimals), the
    threshold line, and LightGBM's log_evaluation line for the set train.py names "validation"."""
    source = (REPO / "step_scripts" / "train.py").read_text(encoding="utf-8")
    printed = re.findall(r'print\(f"([a-z0-9-]+): \{[^}]*:\.6f\}"', source)
    assert printed == ["train-f1", "validation-f1", "validation-auc"]
    for name in printed:
        assert any(re.fullmatch(rf"{name}: \d\.\d{{6}}", line) for line in TRAIN_LOG), name
    assert 'print(f"threshold: {threshold:.6f} best-iteration: {best_iteration}"' in source
    assert any(re.fullmatch(r"threshold: \d\.\d{6} best-iteration: \d+", line) for line in TRAIN_LOG)
    assert 'valid_names=["validation"]' in source and "lgb.log_evaluation(" in source
    assert any(line.startswith("[100]\tvalidation's ") for line in TRAIN_LOG)


def test_num_samples_ten_to_the_eleven(tmp_path, monkeypatch, capsys):
    edits = {"num_samples: 100": "num_samples: 100000000000"}
    _rejected(
        tmp_path,
        monkeypatch,
        capsys,
        edits,
        "clarify.explainability.shap.num_samples",
        "less than or equal to 2147483647",
    )


PREPROCESSING = "preprocessing:\n  instance_type: ml.m5.xlarge\n"


def test_script_etc_passwd(tmp_path, monkeypatch, capsys):
    edits = {PREPROCESSING: PREPROCESSING + "  script: /etc/passwd\n"}
    _rejected(tmp_path, monkeypatch, capsys, edits, "preprocessing.script", "is an absolute path")


def test_script_that_is_a_directory_is_located(tmp_path, monkeypatch, capsys):
    edits = {PREPROCESSING: PREPROCESSING + "  script: scripts\n"}
    make = lambda folder: (folder / "scripts").mkdir()  # noqa: E731
    _rejected(tmp_path, monkeypatch, capsys, edits, "preprocessing.script", "is a directory", make)


def test_script_that_is_not_a_regular_file_is_located(tmp_path, monkeypatch, capsys):
    """A named pipe stands in for a device (creating a device node needs privileges)."""
    edits = {PREPROCESSING: PREPROCESSING + "  script: prep.py\n"}
    make = lambda folder: os.mkfifo(folder / "prep.py")  # noqa: E731
    _rejected(tmp_path, monkeypatch, capsys, edits, "preprocessing.script", "not a regular file", make)


def test_script_that_is_a_device_is_located(tmp_path, monkeypatch, capsys):
    edits = {PREPROCESSING: PREPROCESSING + "  script: /dev/zero\n"}
    _rejected(tmp_path, monkeypatch, capsys, edits, "preprocessing.script", "is an absolute path")


def test_compile_refuses_etc_passwd_and_writes_nothing(tmp_path, monkeypatch, capsys):
    """Compile validates first: /etc/passwd never reaches the artifacts, and no output is written."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(BASE.replace(PREPROCESSING, PREPROCESSING + "  script: /etc/passwd\n"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["compile", "spec.yaml", "-o", "build"]) == 2
    err = capsys.readouterr().err
    assert "preprocessing.script: '/etc/passwd' is an absolute path" in err and "Traceback" not in err
    assert not (tmp_path / "build").exists()
