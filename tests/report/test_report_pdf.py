"""The PDF copy of a report (report/pdf.py): pages, the report's headings and numbers, the charts'
text, read back with pypdf."""

# numpy, pandas (lgbm_pipeline_compiler.report imports both) and pypdf are imported in the tests that
# use them, not when the suite is collected.

from __future__ import annotations

import io

META = {"check": "all", "model": "m", "rows": 3, "threshold": 0.5, "label": "Target", "label_value": "1"}


def report_page() -> str:
    import numpy as np
    import pandas as pd

    from lgbm_pipeline_compiler.report import render_html, report_context

    metrics = [
        {"name": "DPPL", "description": "DPPL", "value": 0.19},
        {"name": "DI", "description": "DI", "value": 0.29},
    ]
    analysis = {
        "post_training_bias_metrics": {
            "label": "Target",
            "label_value_or_threshold": "1",
            "facets": {"Sex": [{"value_or_threshold": "Female", "metrics": metrics}]},
        },
        "explanations": {
            "kernel_shap": {
                "label0": {"global_shap_values": {"Age": 0.7, "Sex": 0.2}, "expected_value": -1.0}
            }
        },
    }
    shap_data = {
        "values": np.array([[0.5, -0.1], [-0.9, 0.3], [0.2, 0.0]]),
        "frame": pd.DataFrame({"Age": [30.0, 50.0, 20.0], "Sex": ["Male", "Female", "Male"]}),
        "names": ["Age", "Sex"],
        "numeric": ["Age"],
        "agg_method": "mean_abs",
        "expected_value": -1.0,
        "global_values": {"Age": 0.7, "Sex": 0.2},
        "ndcg": 0.95,
    }
    return render_html(report_context(analysis, [], "PASSED", "compared", None, META, shap_data))


def pdf_text(data: bytes) -> tuple[int, str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_has_the_reports_headings_tables_and_charts(tmp_path):
    from lgbm_pipeline_compiler.report.pdf import write_pdf

    html_path = tmp_path / "report.html"
    html_path.write_text(report_page())
    pdf_path = write_pdf(html_path, "Run r1: bias and SHAP report")
    assert pdf_path == tmp_path / "report.pdf"
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-")
    pages, text = pdf_text(data)
    assert pages >= 1
    for heading in (
        "Clarify check (all): m",
        "Post-training bias (model predictions)",
        "SHAP feature attributions",
        "Global importance",
        "Summary (beeswarm)",
        "How these numbers are computed",
    ):
        assert heading in text, heading
    assert "0.2900" in text and "0.1900" in text  # the metric table
    assert "four-fifths rule" in text  # the DI chart's own text
    assert "value (0 = no bias)" in text  # the bias bars chart
    from pypdf import PdfReader

    assert PdfReader(io.BytesIO(data)).metadata.title == "Run r1: bias and SHAP report"
    assert not list(tmp_path.glob(".report.pdf.*"))  # written through a temporary sibling


def test_text_outside_latin1_is_written_as_its_closest_latin1():
    from lgbm_pipeline_compiler.report.pdf import html_to_pdf, latin1

    assert latin1("p ≥ 0.5 — ok ✓ ⚠️ 中") == "p >= 0.5 - ok ok ! ?"
    pages, text = pdf_text(html_to_pdf("<h1>Drift ≥ 0.1 — 中</h1><p>x · y</p>", "t"))
    assert pages == 1 and "Drift >= 0.1 - ?" in text and "x · y" in text


def test_every_chart_dot_is_drawn_as_a_square_of_its_width():
    """fpdf2 draws a circle as arcs (seconds for a beeswarm): each dot of this package's charts goes
    to the PDF as a square with the circle's centre and width, its fill and opacity kept."""
    import re

    from lgbm_pipeline_compiler.report.pdf import CIRCLE, SVG, _square

    page = report_page()
    circles = re.findall(r"<circle\b[^>]*>", page)
    assert len(circles) == 3 * 2  # the beeswarm: three rows, two features
    squares = [CIRCLE.sub(_square, svg) for svg in SVG.findall(page)]
    assert not any("<circle" in svg for svg in squares)
    dot = "<circle cx='10.5' cy='27.0' r='2.2' fill='#2f46d4' opacity='0.75'/>"
    assert CIRCLE.sub(_square, dot) == (
        "<rect x='8.30' y='24.80' width='4.40' height='4.40' fill='#2f46d4' opacity='0.75'/>"
    )
