"""`lgbm-pipeline graph`: Mermaid and DOT text, and both rendered by the real tools (the Mermaid CLI
with Chromium, Graphviz's dot)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from tiny import definition

from lgbm_pipeline_compiler.review import graph, render
from lgbm_pipeline_compiler.review.cli import main
from lgbm_pipeline_compiler.review.diff import compare
from lgbm_pipeline_compiler.review.model import view

pytestmark = pytest.mark.xdist_group("review-census-variants")  # one worker compiles the variants

SMALL_MERMAID = """flowchart TD
  s0["Prep<br/>Processing"]
  s1["Train<br/>Training"]
  s2["Check<br/>ClarifyCheck"]
  s3{"Gate<br/>Condition"}
  s4["Register<br/>RegisterModel"]
  s5["Stop<br/>Fail"]
  p0[/"InstanceType = ml.m5.xlarge"/]
  p1[/"Threshold = 0.7"/]
  p2[/"SkipCheck = false"/]
  p3[/"Approval = PendingManualApproval"/]
  s0 --> s1
  s1 -.-> s2
  s0 --> s3
  s2 -.-> s3
  s3 -->|if| s4
  s3 -->|else| s5
  p0 -.- s0
  p1 -.- s3
  p2 -.- s2
  p3 -.- s4
  classDef param fill:#f6f8fa,stroke:#8c959f,color:#1f2328
  class p0,p1,p2,p3 param
"""

SMALL_DOT = """digraph pipeline {
  rankdir=TB;
  node [shape=box, fontname="Helvetica"];
  "Prep" [label="Prep\\nProcessing"];
  "Train" [label="Train\\nTraining"];
  "Check" [label="Check\\nClarifyCheck"];
  "Gate" [label="Gate\\nCondition", shape=diamond];
  "Register" [label="Register\\nRegisterModel"];
  "Stop" [label="Stop\\nFail"];
  "Prep" -> "Train";
  "Train" -> "Check" [style=dashed];
  "Prep" -> "Gate";
  "Check" -> "Gate" [style=dashed];
  "Gate" -> "Register" [label="if"];
  "Gate" -> "Stop" [label="else"];
}
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(definition()))
    return path


def test_mermaid_with_parameters(small, capsys):
    assert main(["graph", str(small), "--params"]) == 0
    assert capsys.readouterr().out == SMALL_MERMAID


def test_dot_to_a_file(small, tmp_path, capsys):
    out = tmp_path / "g" / "pipeline.dot"
    assert main(["graph", str(small), "--format", "dot", "-o", str(out)]) == 0
    assert out.read_text() == SMALL_DOT
    assert capsys.readouterr().out == ""


def test_labels_are_escaped():
    drawing = graph.Drawing({"A": "Processing"}, [], parameters={"P": 'say "hi" <b>'}, reads={"P": ["A"]})
    assert '  p0[/"P = say #quot;hi#quot; #lt;b#gt;"/]\n' in graph.mermaid(drawing)
    assert '  "param:P" [shape=note, label="P = say \\"hi\\" <b>"];\n' in graph.dot(drawing)


def test_dot_is_valid_graphviz(variants, tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (apt-get install -y graphviz)")
    text = graph.dot(graph.drawing(view(variants.side("base").definition), params=True))
    svg = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=True).stdout
    titles = set(re.findall(r"<title>([^<]*)</title>", svg))
    assert {"F1Gate", "Deploy", "param:F1Threshold", "F1Gate&#45;&gt;Deploy"} <= titles


def _mermaid_cli() -> tuple[str, str]:
    mmdc = shutil.which("mmdc")
    if mmdc is None:
        pytest.skip(
            "the Mermaid CLI is not installed and cannot be here without npm's registry "
            "(PUPPETEER_SKIP_DOWNLOAD=true npm install -g @mermaid-js/mermaid-cli)"
        )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no Chromium for the Mermaid CLI's puppeteer (apt-get install -y chromium)")
    return mmdc, chromium


def _expected(text: str) -> tuple[set[str], set[str]]:
    """Node labels and edge ids a Mermaid source asks for, as the renderer writes them in its SVG."""
    labels = {
        m.group(2).replace("<br/>", "<br />").replace("#quot;", '"')
        for m in re.finditer(r'^  (\w+)(?:\["|\{"|\[/")(.*?)(?:"\]|"\}|"/\])$', text, re.M)
    }
    edges = {f"L_{a}_{b}_0" for a, b in re.findall(r"^  (\w+) -[-.]+(?:>|-)?(?:\|\w+\|)? (\w+)$", text, re.M)}
    return labels, edges


def test_mermaid_cli_renders_the_graph_and_the_diffs_graph(variants, tmp_path):
    mmdc, chromium = _mermaid_cli()
    census = graph.mermaid(graph.drawing(view(variants.side("base").definition), params=True))
    pr_comment = render.markdown(compare(variants.side("base"), variants.side("no_deploy")))
    (changed,) = re.findall(r"```mermaid\n(.*?)```", pr_comment, re.S)
    diagrams = [census, changed, SMALL_MERMAID]
    doc = tmp_path / "diagrams.md"
    doc.write_text("".join(f"```mermaid\n{text}```\n\n" for text in diagrams))
    config = tmp_path / "puppeteer.json"
    config.write_text(json.dumps({"executablePath": chromium, "args": ["--no-sandbox", "--disable-gpu"]}))
    proc = subprocess.run(
        [mmdc, "--quiet", "-p", str(config), "-i", str(doc), "-o", str(tmp_path / "out.md")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for i, text in enumerate(diagrams, start=1):
        svg = (tmp_path / f"out-{i}.svg").read_text()
        labels, edges = _expected(text)
        assert set(re.findall(r"<p>(.*?)</p>", svg)) >= labels, f"diagram {i}"
        assert set(re.findall(r'data-id="(L_\w+_\d+)"', svg)) == edges, f"diagram {i}"
    assert len(_expected(changed)[0]) == 9  # the census diff draws the removed Deploy and 8 neighbours
