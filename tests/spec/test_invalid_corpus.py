"""Golden corpus of broken specs: `lgbm-pipeline validate` on each must print exactly the expected lines.

Every ``tests/invalid/<case>.yaml`` is a complete spec (a copy of ``tests/invalid/_base.yaml``, which
is valid) with one deliberate problem -- or several, where the case name says so -- and
``tests/invalid/<case>.expected`` holds the exact stderr lines ``lgbm-pipeline validate`` prints when
run from the repository root. Each case must exit with code 2, print nothing on stdout, and no
traceback.

Speed: one subprocess per case costs about 0.5 s (56 cases: about 30 s on two cores), so every case
runs in-process through ``lgbm_pipeline_compiler.cli.main`` (stderr captured with capsys), and a
handful of cases, chosen to cover each layer (template, YAML, sections, cross-section checks), also
run as a real subprocess (``python -m lgbm_pipeline_compiler.cli validate``). Set
``LGBM_CORPUS_SUBPROCESS=all`` to run every case as a subprocess too.

Regenerating the golden files, deliberately::

    LGBM_REGEN_GOLDEN=1 python -m pytest tests/spec/test_invalid_corpus.py -q

rewrites every ``.expected`` from the current output (still requiring exit code 2 and no
traceback). Read every changed file with ``git diff tests/invalid`` before committing: a golden file
that enshrines a wrong message is worse than none. Cases listed in ``KNOWN_BUGS`` are never
regenerated: their ``.expected`` holds the correct output the spec layer does not produce yet, and
they are strict xfails until it does (then remove them from ``KNOWN_BUGS``).

To add a case: copy ``_base.yaml`` to ``<case>.yaml``, replace the header comment with one saying
what is broken, break it, run with ``LGBM_REGEN_GOLDEN=1 ... -k <case>``, and read the result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main

REPO = Path(__file__).resolve().parents[2]
INVALID = REPO / "tests" / "invalid"
BASE = INVALID / "_base.yaml"
REGEN = os.environ.get("LGBM_REGEN_GOLDEN") == "1"
ALL_SUBPROCESS = os.environ.get("LGBM_CORPUS_SUBPROCESS") == "all"

CASES = sorted(p.stem for p in INVALID.glob("*.yaml") if not p.name.startswith("_"))

# Cases run as a real subprocess as well: one or more per validation layer.
SUBPROCESS_CASES = [
    "empty_file",  # reading
    "template_undefined_variable",  # template values
    "template_set_statement_lines",  # template statements (not YAML)
    "python_tag",  # YAML tags
    "alias_bomb",  # YAML aliases
    "yaml_bad_indentation",  # YAML syntax
    "document_is_list",  # document shape
    "several_errors_in_three_sections",  # section models, several findings
    "several_cross_section_errors",  # cross-section checks, several findings
]

# Case -> what is wrong in the spec layer. The .expected file holds the CORRECT output.
KNOWN_BUGS: dict[str, str] = {}


def _rel(case: str) -> str:
    return f"tests/invalid/{case}.yaml"


def _expected_path(case: str) -> Path:
    return INVALID / f"{case}.expected"


def _check(case: str, code: int, out: str, err: str) -> None:
    assert "Traceback" not in err, err
    assert code == 2, f"exit code {code}; stderr:\n{err}"
    assert out == "", f"stdout must be empty, got:\n{out}"
    lines = err.splitlines()
    assert lines, "no finding printed"
    assert all(line.startswith(f"{_rel(case)}:") for line in lines), lines
    expected_file = _expected_path(case)
    if REGEN and case not in KNOWN_BUGS:
        expected_file.write_text(err, encoding="utf-8")
    assert lines == expected_file.read_text(encoding="utf-8").splitlines()


def _params(names: list[str]) -> list[object]:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name]))
        if name in KNOWN_BUGS
        else name
        for name in names
    ]


def test_base_spec_is_valid(monkeypatch, capsys):
    """Every case is the base with something broken, so the base itself must validate."""
    monkeypatch.chdir(REPO)
    assert main(["validate", "tests/invalid/_base.yaml"]) == 0
    assert capsys.readouterr().err == "tests/invalid/_base.yaml: ok\n"


def test_corpus_is_big_enough_and_paired():
    assert len(CASES) >= 30
    expected = sorted(p.stem for p in INVALID.glob("*.expected"))
    assert expected == CASES, "every <case>.yaml needs a <case>.expected and vice versa"
    assert set(SUBPROCESS_CASES) <= set(CASES)
    assert set(KNOWN_BUGS) <= set(CASES)


@pytest.mark.parametrize("case", _params(CASES))
def test_case_in_process(case, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    code = main(["validate", _rel(case)])
    captured = capsys.readouterr()
    _check(case, code, captured.out, captured.err)


@pytest.mark.parametrize("case", _params(CASES if ALL_SUBPROCESS else SUBPROCESS_CASES))
def test_case_subprocess(case):
    proc = subprocess.run(
        [sys.executable, "-m", "lgbm_pipeline_compiler.cli", "validate", _rel(case)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    _check(case, proc.returncode, proc.stdout, proc.stderr)
