"""lgbm_pipeline_compiler.report: the bias and SHAP report rendered from plain data and from the
files clarify_check.py writes (end to end on Adult: tests/clarify)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lgbm_pipeline_compiler.report import (
    ReportDataError,
    load_context,
    render_html,
    render_markdown,
    report_context,
    svg_bias_bars,
    svg_disparate_impact,
    svg_importance,
    write_report,
)
from lgbm_pipeline_compiler.report.files import read_local_shap

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
    svg = svg_bias_bars([{"name": "<b>", "value": None}, {"name": "TE", "value": 12.0}])
    assert "&lt;b&gt;" in svg and "undefined" in svg
    assert "undefined" in svg_disparate_impact(None)
    assert svg_importance({}) == ""


def test_output_dir_without_report_data_is_a_clear_error(tmp_path):
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
    values = np.random.default_rng(3).normal(size=(50, 3)) * 10.0 ** np.arange(-8, 7, 5)
    pd.DataFrame(values, columns=["a", "b c", "d"]).to_csv(tmp_path / "out.csv", index=False)
    names, read = read_local_shap(tmp_path / "out.csv")
    assert names == ["a", "b c", "d"] and read.dtype == np.float64
    assert np.array_equal(read, values)
