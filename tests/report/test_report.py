"""lgbm_pipeline_compiler.report: the bias and SHAP report rendered from plain data and from the
files clarify_check.py writes (end to end on Adult: tests/clarify)."""

# numpy and pandas (lgbm_pipeline_compiler.report imports both) are imported in the tests that use
# them, not when the suite is collected.

from __future__ import annotations

import json

import pytest

META = {"check": "all", "model": "m", "rows": 3, "threshold": 0.5, "label": "Target", "label_value": "1"}


def bias_analysis(values: dict[str, float | None]) -> dict:
    metrics = [{"name": n, "description": n, "value": v} for n, v in values.items()]
    facets = {"Sex": [{"value_or_threshold": "Female", "metrics": metrics}]}
    return {
        "version": "1.0",
        "post_training_bias_metrics": {"label": "Target", "label_value_or_threshold": "1", "facets": facets},
    }


def shap_analysis(values: dict[str, float]) -> dict:
    return {
        "explanations": {"kernel_shap": {"label0": {"global_shap_values": values, "expected_value": -1.0}}}
    }


def test_report_renders_bias_and_shap():
    import numpy as np
    import pandas as pd

    from lgbm_pipeline_compiler.report import (
        render_html,
        render_markdown,
        report_context,
    )

    analysis = bias_analysis({"DPPL": 0.19, "DI": 0.29, "AD": None})
    analysis.update(shap_analysis({"Age": 0.7, "Sex": 0.2}))
    values = np.array([[0.5, -0.1], [-0.9, 0.3], [0.2, 0.0]])
    frame = pd.DataFrame({"Age": [30.0, 50.0, 20.0], "Sex": ["Male", "Female", "Male"]})
    shap_data = {
        "values": values,
        "frame": frame,
        "names": ["Age", "Sex"],
        "numeric": ["Age"],
        "agg_method": "mean_abs",
        "expected_value": -1.0,
        "global_values": {"Age": 0.7, "Sex": 0.2},
        "ndcg": 0.95,
    }
    context = report_context(analysis, [], "NO BASELINE", "no baseline", None, META, shap_data)
    page = render_html(context)
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 4  # DI, bars, importance, beeswarm
    for text in (
        "Sex",
        "DPPL",
        "outside the four-fifths band",
        "four-fifths rule",
        "1.25",
        "0.8",
        "Age",
        "n/a",
    ):
        assert text in page, text
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained
    markdown = render_markdown(context)
    assert "| Sex=Female | DI | 0.2900 |" in markdown and "outside the four-fifths band" in markdown
    assert "| 1 | Age | 0.70000 |" in markdown


def test_baseline_values_and_violations_are_shown():
    """Baseline values by facet value and metric (DCAcc is DCA; "Infinity" texts allowed)."""
    from lgbm_pipeline_compiler.report import render_html, report_context

    analysis = bias_analysis({"DPPL": 0.19, "DI": 0.29, "DCA": 0.1, "TE": 2.0})
    baseline = bias_analysis({"DPPL": 0.01, "DI": 0.5, "DCAcc": 0.2, "TE": "Infinity"})
    violation = {
        "facet": "Sex",
        "facet_value": "Female",
        "metric_name": "DPPL",
        "constraint_check_type": "bias_drift_check",
        "description": "farther from 0",
        "value": 0.19,
        "baseline_value": 0.01,
    }
    context = report_context(analysis, [violation], "FAILED", "compared", baseline, META, None)
    (facet,) = context["bias"][0]["facets"]
    shown = {m["name"]: (m["baseline_text"], m["flag"], m["note"]) for m in facet["metrics"]}
    assert shown["DPPL"] == ("0.0100", True, "violates the baseline")
    assert shown["DCA"] == ("0.2000", False, "")
    assert shown["TE"] == ("n/a", False, "")
    assert shown["DI"][:2] == ("0.5000", True)  # outside the four-fifths band, not a violation
    assert context["violations"][0]["where"] == "Sex=Female"
    page = render_html(context)
    assert "FAILED" in page and "violates the baseline" in page and context["shap"] is None


def test_svg_helpers_escape_and_handle_undefined():
    from lgbm_pipeline_compiler.report import (
        svg_bias_bars,
        svg_disparate_impact,
        svg_importance,
    )

    svg = svg_bias_bars([{"name": "<b>", "value": None}, {"name": "TE", "value": 12.0}])
    assert "&lt;b&gt;" in svg and "undefined" in svg
    assert "undefined" in svg_disparate_impact(None)
    assert svg_importance({}) == ""


def test_output_dir_without_report_data_is_a_clear_error(tmp_path):
    from lgbm_pipeline_compiler.report import (
        ReportDataError,
        load_context,
        write_report,
    )

    (tmp_path / "analysis.json").write_text(json.dumps(bias_analysis({"DI": 1.0})))
    with pytest.raises(ReportDataError, match="report_data.json not found .*--report-data"):
        write_report(tmp_path)
    (tmp_path / "report_data.json").write_text(json.dumps({"status": "PASSED"}))
    (tmp_path / "violations.json").write_text(json.dumps({"version": "1.0", "violations": []}))
    with pytest.raises(ReportDataError, match="does not hold what clarify_check.py writes"):
        load_context(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_local_shap_values_round_trip_exactly(tmp_path):
    """The beeswarm is drawn from the values clarify_check.py computed, to the last bit."""
    import numpy as np
    import pandas as pd

    from lgbm_pipeline_compiler.report.files import read_local_shap

    values = np.random.default_rng(3).normal(size=(50, 3)) * 10.0 ** np.arange(-8, 7, 5)
    pd.DataFrame(values, columns=["a", "b c", "d"]).to_csv(tmp_path / "out.csv", index=False)
    names, read = read_local_shap(tmp_path / "out.csv")
    assert names == ["a", "b c", "d"] and read.dtype == np.float64
    assert np.array_equal(read, values)


# ---------------------------------------------------------------- issue 15, finding 15: escaping

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img": "<img src=x onerror=alert(1)>",
    "pipe": "a|b",
    "backticks": "`rm -rf` ``x``",
    "link": "[x](javascript:alert(1))",
    "newlines": "first\nsecond\r\nthird",
}


def hostile_context() -> dict:
    """A report whose facet, facet values, features, label, label value, baseline source and
    violation all carry the payloads (a dataset and config anyone could write)."""
    import numpy as np
    import pandas as pd

    from lgbm_pipeline_compiler.report import report_context

    facet = PAYLOADS["script"]
    metrics = [{"name": "DI", "description": PAYLOADS["img"], "value": 0.5}]
    analysis = {
        "post_training_bias_metrics": {
            "label": PAYLOADS["pipe"],
            "label_value_or_threshold": "1",
            "facets": {
                facet: [{"value_or_threshold": value, "metrics": metrics} for value in PAYLOADS.values()]
            },
        }
    }
    violation = {
        "facet": facet,
        "facet_value": PAYLOADS["link"],
        "metric_name": PAYLOADS["backticks"],
        "constraint_check_type": "bias_drift_check",
        "description": PAYLOADS["img"],
        "value": 0.5,
        "baseline_value": 0.9,
    }
    features = list(PAYLOADS.values())
    shap_data = {
        "values": np.array([[0.1 * (i + 1) for i in range(len(features))]]),
        "frame": pd.DataFrame({f: ["v"] for f in features}),
        "names": features,
        "numeric": [],
        "agg_method": "mean_abs",
        "expected_value": -1.0,
        "global_values": {f: 0.1 * (i + 1) for i, f in enumerate(features)},
        "ndcg": None,
    }
    meta = dict(META, label=PAYLOADS["pipe"], label_value=PAYLOADS["newlines"])
    note = f"Compared with baseline '{PAYLOADS['link']}': 1 violation(s)."
    return report_context(analysis, [violation], "FAILED", note, None, meta, shap_data)


def test_markdown_escapes_every_payload_exactly():
    from lgbm_pipeline_compiler.report import render_markdown

    markdown = render_markdown(hostile_context())
    assert "<" not in markdown and ">" not in markdown.replace("->", "")  # no tag can open
    assert "](" not in markdown.replace("\\](", "")  # no link syntax survives unescaped
    expected = {
        "script": "&lt;script&gt;alert(1)&lt;/script&gt;",
        "img": "&lt;img src=x onerror=alert(1)&gt;",
        "pipe": "a\\|b",
        "backticks": "\\`rm -rf\\` \\`\\`x\\`\\`",
        "link": "\\[x\\](javascript:alert(1))",
        "newlines": "first second third",
    }
    for name, text in expected.items():
        assert f"| {expected['script']}={text} | DI | 0.5000 |" in markdown, name  # facet=value cells
        assert f"| {text} |" in markdown, name  # a SHAP feature row
    assert (
        f"| {expected['script']}={expected['link']} | {expected['backticks']} | 0.5000 | 0.9000 |" in markdown
    )
    assert f"label {expected['pipe']} positive = {expected['newlines']}" in markdown
    assert f"_Compared with baseline '{expected['link']}': 1 violation(s)._" in markdown


def test_markdown_renders_the_payloads_as_text():
    """A CommonMark + GFM-table renderer with raw HTML allowed (as GitHub's, before sanitising)
    shows each payload as the literal text, one table cell each: no tag, link or code span."""
    from lgbm_pipeline_compiler.report import render_markdown

    markdown_it = pytest.importorskip("markdown_it")
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        """Every tag's name, and each table row's cells as text (entities decoded)."""

        def __init__(self) -> None:
            super().__init__()
            self.tags: set[str] = set()
            self.rows: list[list[str]] = []
            self.in_cell = False

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.tags.add(tag)
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.rows[-1].append("")
                self.in_cell = True

        def handle_endtag(self, tag: str) -> None:
            if tag in ("td", "th"):
                self.in_cell = False

        def handle_data(self, data: str) -> None:
            if self.in_cell:
                self.rows[-1][-1] += data

    html = (
        markdown_it.MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .render(render_markdown(hostile_context()))
    )
    cells = Cells()
    cells.feed(html)
    assert not cells.tags & {"script", "img", "a", "code"}
    assert "<em>Compared with baseline '[x](javascript:alert(1))': 1 violation(s).</em>" in html  # ours only
    shown = [" ".join(value.split()) for value in PAYLOADS.values()]  # line breaks become spaces
    facet_cells = [row[0] for row in cells.rows if len(row) == 5 and row[1] == "DI"]
    assert facet_cells == [f"{PAYLOADS['script']}={value}" for value in shown]
    features = [row[1] for row in cells.rows if len(row) == 3 and row[0].isdigit()]
    assert sorted(features) == sorted(shown)
    assert all(len(row) in (3, 4, 5) for row in cells.rows)  # no payload split or merged a cell


def test_html_report_escapes_the_payloads():
    from lgbm_pipeline_compiler.report import render_html

    page = render_html(hostile_context())
    for tag in ("<script", "<img", "<a "):
        assert tag not in page, tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def _check_output(folder, check: str, status: str, analysis: dict, violations: list) -> None:
    folder.mkdir()
    meta = dict(META, check=check)
    data = {"meta": meta, "status": status, "baseline_note": f"{check} note.", "baseline": None, "shap": None}
    (folder / "report_data.json").write_text(json.dumps(data))
    (folder / "analysis.json").write_text(json.dumps(analysis))
    (folder / "violations.json").write_text(json.dumps({"version": "1.0", "violations": violations}))


def test_two_checks_outputs_make_one_report_with_the_most_severe_status(tmp_path):
    from lgbm_pipeline_compiler.report import load_context, write_report

    violation = {
        "facet": "Sex",
        "facet_value": "Female",
        "metric_name": "DPPL",
        "constraint_check_type": "bias_drift_check",
        "description": "farther from 0",
        "value": 0.19,
        "baseline_value": 0.01,
    }
    _check_output(tmp_path / "bias", "bias", "FAILED", bias_analysis({"DPPL": 0.19}), [violation])
    _check_output(tmp_path / "explain", "explainability", "NO BASELINE", shap_analysis({"Age": 0.7}), [])
    context = load_context([tmp_path / "bias", tmp_path / "explain"])
    assert context["status"] == "FAILED" and context["check"] == "bias + explainability"
    assert (
        context["baseline_note"]
        == "Bias check (FAILED): bias note. Explainability check (NO BASELINE): explainability note."
    )
    assert [v["where"] for v in context["violations"]] == ["Sex=Female"]
    assert context["bias"][0]["facets"][0]["metrics"][0]["flag"] is True
    html, markdown = write_report([tmp_path / "bias", tmp_path / "explain"], tmp_path / "report")
    assert html.parent == tmp_path / "report" and "**FAILED**" in markdown.read_text()
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "report.html",
        "report.md",
    ]  # no partial files
