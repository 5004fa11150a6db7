"""`lgbm-pipeline diff` and `graph` as commands: exit codes, formats, `--base GIT_REF`, bad input."""

from __future__ import annotations

import json
import subprocess

import pytest
from tiny import BUCKET, PREP_V1, edited, sha, write_output

from lgbm_pipeline_compiler.review.cli import main

PREP_V2 = b"print('prep v2')\n"


def output(folder, prep: bytes = PREP_V1, **edits):  # noqa: ANN201 - a Path
    return write_output(folder, edited(prep=prep, **edits), {f"{BUCKET}/artifacts/{sha(prep)}/prep.py": prep})


def test_exit_codes_and_no_change(tmp_path, capsys):
    a, b = output(tmp_path / "a"), output(tmp_path / "b")
    assert main(["diff", str(a), str(b)]) == 0
    assert capsys.readouterr().out == f"--- {a}\n+++ {b}\nno changes\n"
    c = output(tmp_path / "c", prep=PREP_V2)
    assert main(["diff", str(a), str(c), "--color", "never"]) == 1
    assert capsys.readouterr().out == (
        f"--- {a}\n+++ {c}\n"
        "risk: none (gate, checks, approval status and instances unchanged)\n"
        "artifacts:\n"
        f"  ~ prep.py {sha(PREP_V1)[:12]} → {sha(PREP_V2)[:12]} (Prep: ProcessingInputs[code].S3Input.S3Uri)\n"
        "      --- a/prep.py\n"
        "      +++ b/prep.py\n"
        "      @@ -1 +1 @@\n"
        "      -print('prep v1')\n"
        "      +print('prep v2')\n"
    )


def test_colours_only_when_asked_or_on_a_terminal(tmp_path, capsys):
    a = output(tmp_path / "a")
    b = output(tmp_path / "b", parameters=lambda p: p["Threshold"].update(DefaultValue=0.5))
    assert main(["diff", str(a), str(b), "--color", "always"]) == 1
    out = capsys.readouterr().out
    assert "\x1b[1;31mrisk: gate Gate threshold 0.7 → 0.5 (looser)\x1b[0m\n" in out
    assert "\x1b[33m  ~ Threshold: default 0.7 → 0.5\x1b[0m\n" in out
    assert main(["diff", str(a), str(b)]) == 1  # capsys is no terminal: plain
    assert "\x1b[" not in capsys.readouterr().out


def test_json_and_markdown_formats(tmp_path, capsys):
    a = output(tmp_path / "a")
    b = output(tmp_path / "b", Check=lambda s: s.update(FailOnViolation=False))
    assert main(["diff", str(a), str(b), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["risk"] == ["check Check no longer fails on a violation"]
    assert data["fields"] == [
        {"step": "Check", "path": "FailOnViolation", "old_value": True, "new_value": False}
    ]
    assert main(["diff", str(a), str(b), "--format", "markdown"]) == 1
    md = capsys.readouterr().out
    assert md.startswith("<!-- lgbm-pipeline-diff -->\n")
    assert (
        "| spec key | step | field | old | new |\n|---|---|---|---|---|\n|  | Check | `FailOnViolation` | `true` | `false` |\n"
        in md
    )


def test_bad_input_is_one_located_line_and_exit_2(tmp_path, capsys):
    a = output(tmp_path / "a")
    missing = tmp_path / "nope.json"
    assert main(["diff", str(a), str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"{missing}:1:1: file not found; pass a spec (.yaml), a compiled output directory or a pipeline.json\n"
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "Steps": [,]\n}\n')
    assert main(["diff", str(a), str(broken)]) == 2
    assert capsys.readouterr().err == (
        f"{broken}:2:13: invalid JSON: Expecting value; pass a pipeline definition\n"
    )
    other = tmp_path / "other.json"
    other.write_text('{"Resources": {}}\n')
    assert main(["graph", str(other)]) == 2
    assert capsys.readouterr().err == (
        f"{other}:1:1: not a pipeline definition (no Steps list); pass a spec, pipeline.json or its directory\n"
    )
    bad_ref = edited(Gate=lambda s: s.update(DependsOn=["Nowhere"]))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "pipeline.json").write_text(json.dumps(bad_ref))
    assert main(["diff", str(a), str(tmp_path / "bad")]) == 2
    assert capsys.readouterr().err == (
        f"{tmp_path / 'bad'}:1:1: error: the definition refers to unknown steps: Nowhere\n"
    )
    spec = tmp_path / "broken.yaml"
    spec.write_text("pipeline: [\n")
    assert main(["diff", str(spec), str(a)]) == 2
    assert capsys.readouterr().err.startswith(f"{spec}:2:1: ")


def git(repo, *args: str) -> str:
    command = [
        "git",
        "-c",
        "user.email=t@example.com",
        "-c",
        "user.name=t",
        "-c",
        "commit.gpgsign=false",
        *args,
    ]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    output(tmp_path / "compiled")
    git(tmp_path, "add", "compiled")
    git(tmp_path, "commit", "-q", "-m", "compiled")
    return tmp_path


def test_base_compares_with_the_output_committed_at_a_ref(repo, capsys):
    output(
        repo / "compiled",
        prep=PREP_V2,
        Train=lambda s: s["Arguments"]["ResourceConfig"].update(InstanceCount=2),
    )
    assert main(["diff", "--base", "HEAD", str(repo / "compiled")]) == 1
    assert capsys.readouterr().out == (
        f"--- HEAD:compiled/pipeline.json\n+++ {repo / 'compiled'}\n"
        "risk: Train InstanceCount 1 → 2\n"
        "fields:\n  ~ Train: ResourceConfig.InstanceCount: 1 → 2\n"
        "artifacts:\n"
        f"  ~ prep.py {sha(PREP_V1)[:12]} → {sha(PREP_V2)[:12]} (Prep: ProcessingInputs[code].S3Input.S3Uri)\n"
        "      --- a/prep.py\n      +++ b/prep.py\n      @@ -1 +1 @@\n"
        "      -print('prep v1')\n      +print('prep v2')\n"
    )
    git(repo, "commit", "-q", "-am", "v2")
    assert main(["diff", "--base", "HEAD", str(repo / "compiled" / "pipeline.json")]) == 0


def test_base_errors(repo, capsys):
    target = str(repo / "compiled")
    assert main(["diff", "--base", "no-such-ref", target]) == 2
    assert capsys.readouterr().err == (
        f"{target}:1:1: --base no-such-ref: no such git ref; fetch it (git fetch origin) or name a commit\n"
    )
    spec = repo / "spec.yaml"
    spec.write_text("pipeline: {}\n")
    assert main(["diff", "--base", "HEAD", str(spec)]) == 2
    assert capsys.readouterr().err == (
        f"{spec}:1:1: error: --base needs the committed compiled output of {spec}: pass --compiled "
        f"DIR_OR_JSON (e.g. --compiled {repo / 'spec.json'}), or diff that output itself\n"
    )
    assert main(["diff", "--base", "HEAD", target, target]) == 2
    assert "--base REF takes one path (NEW)" in capsys.readouterr().err
    git(repo, "mv", "compiled", "moved")
    git(repo, "commit", "-q", "-m", "moved")
    assert main(["diff", "--base", "HEAD~1", str(repo / "moved")]) == 2
    assert capsys.readouterr().err == (
        f"{repo / 'moved'}:1:1: HEAD~1:moved/pipeline.json does not exist; commit the compiled output "
        "at HEAD~1 or diff two files\n"
    )
