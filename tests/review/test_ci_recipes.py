"""The CI recipes: the GitHub Actions workflow in examples/ci/ and .pre-commit-hooks.yaml.

Every `lgbm-pipeline` command they run is parsed by the CLI's own argparse parser, so a recipe that
names a subcommand or flag the CLI does not have fails here.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lgbm_pipeline_compiler.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "ci" / "pipeline-review.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
KNOWN_ACTIONS = {
    "actions/checkout",
    "actions/setup-python",
    "actions/github-script",
    "actions/upload-artifact",
    "actions/cache",
    "github/codeql-action/upload-sarif",
}
PINNED = re.compile(r"^(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&", "(", ")"}


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps() -> list[dict]:
    return [step for job in workflow()["jobs"].values() for step in job["steps"]]


def cli_invocations(script: str) -> list[list[str]]:
    """The argument lists of every `lgbm-pipeline` command in a shell script."""
    found = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            if token == "lgbm-pipeline":
                args = []
                for arg in tokens[i + 1 :]:
                    if arg in SHELL_OPERATORS or arg.startswith("#"):
                        break
                    args.append(arg)
                found.append(args)
    return found


def parses(args: list[str]) -> str:
    """'' when the CLI's parser accepts the arguments, else argparse's complaint."""
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:
        return f"lgbm-pipeline {' '.join(args)}: rejected by the CLI's parser (exit {exc.code})"
    return ""


def test_workflow_shape():
    data = workflow()
    on = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert "pull_request" in on
    assert data["permissions"] == {"contents": "read", "pull-requests": "write", "security-events": "write"}
    for step in steps():
        assert ("uses" in step) != ("run" in step), step
    ids = [s.get("id") for s in steps() if s.get("id")]
    assert "validate" in ids


def test_every_action_is_a_well_known_public_one_pinned_to_a_version():
    used = [step["uses"] for step in steps() if "uses" in step]
    assert used, "the workflow uses no action"
    for ref in used:
        action, _, version = ref.partition("@")
        assert action in KNOWN_ACTIONS, ref
        assert PINNED.match(version), f"{ref}: pin a version (vN, vN.N.N or a commit sha)"
    assert {u.partition("@")[0] for u in used} >= {
        "github/codeql-action/upload-sarif",
        "actions/github-script",
    }


def test_every_lgbm_pipeline_command_in_the_workflow_exists():
    calls = [args for step in steps() if "run" in step for args in cli_invocations(step["run"])]
    assert {args[0] for args in calls} == {"validate", "compile", "diff"}
    assert ["compile", "$SPEC", "--check", "-o", "$OUT"] in calls
    assert [p for p in map(parses, calls) if p] == []


def test_the_sarif_file_uploaded_is_the_one_validate_writes():
    (writer,) = [s for s in steps() if s.get("id") == "validate"]
    (upload,) = [s for s in steps() if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert writer["run"].endswith(f"> {upload['with']['sarif_file']}")
    assert "--format sarif" in writer["run"]


def test_workflow_against_schemastores_schema():
    pytest.importorskip(
        "check_jsonschema", reason="check-jsonschema (PyPI) vendors SchemaStore's workflow schema"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_comment_script_is_valid_javascript(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (github-script runs the script on Node)")
    (step,) = [s for s in steps() if s.get("uses", "").startswith("actions/github-script@")]
    # github-script runs the script as the body of an async function with these arguments
    source = tmp_path / "script.js"
    source.write_text(
        "async function main(github, context, core, glob, io, exec, require) {\n"
        + step["with"]["script"]
        + "}\n"
    )
    proc = subprocess.run([node, "--check", str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "<!-- lgbm-pipeline-diff -->" in step["with"]["script"]


def test_pre_commit_hooks_manifest():
    hooks = yaml.safe_load(HOOKS.read_text())
    assert [h["id"] for h in hooks] == ["lgbm-pipeline-validate", "lgbm-pipeline-check"]
    for hook in hooks:
        args = shlex.split(hook["entry"])[1:] + hook.get("args", [])
        assert shlex.split(hook["entry"])[0] == "lgbm-pipeline"
        assert parses(args) == ""
        assert hook["pass_filenames"] is False  # each command takes one spec, named in args
    clientlib = pytest.importorskip(
        "pre_commit.clientlib", reason="pre-commit (PyPI) validates hook manifests"
    )
    assert [h["id"] for h in clientlib.load_manifest(str(HOOKS))] == [h["id"] for h in hooks]


def test_the_validate_hook_runs_on_the_census_spec():
    """The validate hook's command as pre-commit runs it (the check hook: tests/review/test_stale.py)."""
    validate = yaml.safe_load(HOOKS.read_text())[0]
    spec = REPO / "specs" / "census.yaml"
    command = [
        sys.executable,
        "-m",
        "lgbm_pipeline_compiler.cli",
        *shlex.split(validate["entry"])[1:],
        str(spec),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert (proc.returncode, proc.stderr) == (0, f"{spec}: ok\n")
