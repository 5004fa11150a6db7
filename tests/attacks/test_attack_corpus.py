"""The spec-attack corpus: hostile values for every field `validate` checks, each answered exactly.

Every case in ``tests/attacks/<topic>.cases.yaml`` is a small patch of ``_base.yaml`` (see
``corpus.py`` for the format), written with its files into a fresh folder and validated through
``lgbm_pipeline_compiler.cli.main(["validate", "<case>.yaml"])`` from that folder. A rejected case
must exit 2 with exactly one line ``<case>.yaml:line:col: field: message``, at the line of that
field; an accepted case (``accept:`` says why the value is legal) must print ``<case>.yaml: ok``.
``tests/attacks/<topic>.expected`` holds the exact output of every case.

Regenerating the expected output, deliberately (then read ``git diff tests/attacks``)::

    LGBM_REGEN_GOLDEN=1 python -m pytest tests/attacks/test_attack_corpus.py -q -n 0

Speed: each case runs in-process (a subprocess costs about 0.5 s); two run as a subprocess too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from attack_corpus import (
    BASE,
    HERE,
    cases,
    materialise,
    patched,
    read_expected,
    spec_text,
    topics,
    write_expected,
)

from lgbm_pipeline_compiler.cli import main

REGEN = os.environ.get("LGBM_REGEN_GOLDEN") == "1"
ALL = [(topic, name) for topic in topics() for name in cases(topic)]
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<rest>.+)$")
# Cases run as a real subprocess too (one per kind of check).
SUBPROCESS = [("scripts", "script_etc_passwd"), ("numbers", "instance_count_true")]


def _run(topic: str, name: str, tmp_path: Path, monkeypatch, capsys) -> tuple[int, str, str, Path]:
    spec = materialise(name, cases(topic)[name], tmp_path)
    monkeypatch.chdir(spec.parent)
    code = main(["validate", spec.name])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, spec


def shown(text: str) -> str:
    """Text as findings show it: characters that are not printable as Python escapes (a key with a
    newline or an ANSI escape must not break the one-line output or drive the terminal)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _positions(node: yaml.Node, path: str) -> tuple[set[tuple[int, int]], bool]:
    """1-based (line, col) of the key and of the value the dotted ``path`` names in a composed
    document (or of its deepest existing ancestor: a defaulted field is reported at its section),
    and whether the whole path was found. Keys may contain dots, or be empty."""
    found, rest = {_mark(node)}, path
    while rest is not None:
        if isinstance(node, yaml.SequenceNode) and (m := re.match(r"\[(\d+)\]", rest)):
            node, rest = node.value[int(m[1])], rest[m.end() :]
            rest = None if rest == "" else rest.removeprefix(".")
            found = {_mark(node)}
            continue
        if not isinstance(node, yaml.MappingNode):
            return found, False
        options = []
        for key, value in node.value:
            k = shown(key.value)
            if rest == k:
                options.append((len(k), key, value, None))
            elif rest.startswith(k + ".") or rest.startswith(k + "["):
                options.append((len(k), key, value, rest[len(k) :].removeprefix(".")))
        if not options:
            return found, False
        _, key, node, rest = max(options, key=lambda o: o[0])
        found = {_mark(key), _mark(node)}
    return found, True


def _located(line: str, spec: Path) -> None:
    """The finding names a field, and its line:col is that field's key or value in the spec."""
    match = LINE.match(line)
    assert match, f"not a located finding: {line!r}"
    assert match["file"] == spec.name
    position = (int(match["line"]), int(match["col"]))
    # libyaml's composer: the same nodes and marks as PyYAML's pure-Python one on every case, ~10x faster
    document = yaml.compose(
        spec.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )
    rest = match["rest"]
    cuts = [i for i in range(len(rest)) if rest.startswith(": ", i)]
    for cut in cuts:
        spots, complete = _positions(document, rest[:cut])
        if complete:
            assert position in spots, (line, spots)
            return
    if position == (1, 1) and "in place of the bundled" in rest:
        return  # a file next to the spec that no field names (a bundled script's stand-in)
    # a defaulted field (not written in the spec): reported at its nearest written ancestor
    assert cuts and position in _positions(document, rest[: cuts[0]])[0], line


def _check(topic: str, name: str, tmp_path: Path, monkeypatch, capsys) -> list[str]:
    """Validate one case; assert the shape of its answer; return its output lines."""
    code, out, err, spec = _run(topic, name, tmp_path, monkeypatch, capsys)
    assert "Traceback" not in err, err
    assert out == "", out
    lines = err.splitlines()
    if "accept" in cases(topic)[name]:
        assert (code, lines) == (0, [f"{spec.name}: ok"]), err
    else:
        assert code == 2, f"exit code {code}: {err}"
        assert len(lines) == 1, f"one finding expected, got:\n{err}"
        _located(lines[0], spec)
    return lines


@pytest.mark.skipif(not REGEN, reason="regenerates the expected output (LGBM_REGEN_GOLDEN=1)")
@pytest.mark.parametrize("topic", topics())
def test_regenerate_expected(topic, tmp_path, monkeypatch, capsys):
    """Writes each topic's expected output in one atomic write (the cases then only check their shape)."""
    outputs = {}
    for name in cases(topic):
        with monkeypatch.context() as patch:
            outputs[name] = _check(topic, name, tmp_path / name, patch, capsys)
    write_expected(topic, outputs)


@pytest.mark.parametrize(("topic", "name"), ALL, ids=[f"{t}/{n}" for t, n in ALL])
def test_case(topic, name, tmp_path, monkeypatch, capsys):
    lines = _check(topic, name, tmp_path, monkeypatch, capsys)
    if not REGEN:  # when regenerating, test_regenerate_expected writes the files (maybe in another worker)
        assert lines == read_expected(topic).get(name), (
            f"{topic}/{name}: output differs from {topic}.expected"
        )


@pytest.mark.parametrize(("topic", "name"), SUBPROCESS)
def test_case_as_a_subprocess(topic, name, tmp_path):
    spec = materialise(name, cases(topic)[name], tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "lgbm_pipeline_compiler.cli", "validate", spec.name],
        cwd=spec.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.splitlines() == read_expected(topic)[name]


def test_base_spec_is_valid(tmp_path, monkeypatch, capsys):
    spec = tmp_path / "base.yaml"
    spec.write_text(spec_text({}))
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "base.yaml"]) == 0
    assert capsys.readouterr().err == "base.yaml: ok\n"
    assert patched({}) == yaml.safe_load(BASE.read_text())


def test_corpus_is_big_and_every_case_has_its_expected_output():
    assert len(ALL) >= 110
    rejected = [(t, n) for t, n in ALL if "accept" not in cases(t)[n]]
    assert len(rejected) >= 100
    names = [n for _, n in ALL]
    assert len(names) == len(set(names)), "case names are unique across topics (they name the spec file)"
    for topic in topics():
        assert set(read_expected(topic)) == set(cases(topic)), (
            f"{topic}.expected is out of step with its cases"
        )
    assert not (set(p.name for p in HERE.glob("*.expected")) - {f"{t}.expected" for t in topics()})
