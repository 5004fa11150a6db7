"""Golden corpus of broken definitions and specs: `lgbm-pipeline validate` on each prints exactly
the expected finding lines (full equality).

``tests/lint/corpus/<case>.json`` is a compiled definition with one deliberate problem (written by
``make_corpus.py``, which says what each one is); ``<case>.yaml`` is a spec, checked with
``validate --deep`` (its first line says what is wrong). ``<case>.expected`` holds the exact stdout
of ``lgbm-pipeline validate`` run from the repository root. The exit code follows the findings: 1
with an error finding, else 0; stderr holds only the one-line summary.

Regenerate deliberately, then read every changed file::

    LGBM_REGEN_GOLDEN=1 python -m pytest tests/lint/test_lint_corpus.py -q
    git diff tests/lint/corpus

Every case runs in-process (``cli.main``); a few also run as a real subprocess.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "lint" / "corpus"
REGEN = os.environ.get("LGBM_REGEN_GOLDEN") == "1"
CASES = sorted(
    p.name for p in CORPUS.iterdir() if p.suffix in (".json", ".yaml") and not p.name.startswith("_")
)
SUBPROCESS_CASES = ["cycle.json", "gate_path_not_in_report.json", "spec_misspelt_hyperparameter.yaml"]
LINE = re.compile(r"^tests/lint/corpus/[\w.]+(:\d+:\d+)?: (?P<code>[EWI]\d{4}) \[[^\]]+\]")


def _argv(case: str) -> list[str]:
    return ["validate", f"tests/lint/corpus/{case}"] + (["--deep"] if case.endswith(".yaml") else [])


def _check(case: str, code: int, out: str, err: str) -> None:
    assert "Traceback" not in err, err
    lines = out.splitlines()
    assert lines, f"{case}: no finding"
    assert all(LINE.match(line) for line in lines), lines
    assert len(err.splitlines()) == 1 and err.startswith(f"tests/lint/corpus/{case}: "), err
    has_error = any(LINE.match(line)["code"].startswith("E") for line in lines)
    assert code == (1 if has_error else 0), f"exit code {code} for:\n{out}"
    expected = CORPUS / f"{Path(case).stem}.expected"
    if REGEN:
        expected.write_text(out, encoding="utf-8")
    assert lines == expected.read_text(encoding="utf-8").splitlines()


def test_corpus_is_big_enough_and_paired():
    stems = sorted(Path(case).stem for case in CASES)
    assert len(stems) == len(set(stems)), "a case name is used by both a .json and a .yaml"
    assert sorted(p.stem for p in CORPUS.glob("*.expected")) == stems
    caught = [c for c in CASES if re.search(r": E\d{4} ", (CORPUS / f"{Path(c).stem}.expected").read_text())]
    assert len(caught) >= 40, f"only {len(caught)} cases with an error finding"


def test_the_corpus_is_what_make_corpus_writes(tmp_path, monkeypatch):
    """The committed definitions are make_corpus.py's output (from the bases as they were when
    it was run): every case it lists has a file, and every .json file is one of its cases."""
    sys.path.insert(0, str(CORPUS.parent))
    try:
        import make_corpus
    finally:
        sys.path.remove(str(CORPUS.parent))
    assert sorted(f"{case}.json" for case in make_corpus.CASES) == [c for c in CASES if c.endswith(".json")]


@pytest.mark.parametrize("case", CASES)
def test_case_in_process(case, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    code = main(_argv(case))
    captured = capsys.readouterr()
    _check(case, code, captured.out, captured.err)


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_case_subprocess(case):
    proc = subprocess.run(
        [sys.executable, "-m", "lgbm_pipeline_compiler.cli", *_argv(case)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    _check(case, proc.returncode, proc.stdout, proc.stderr)
