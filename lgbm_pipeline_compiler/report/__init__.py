"""The bias and SHAP report: one self-contained HTML page and a markdown summary.

Rendered from what step_scripts/clarify_check.py writes (``--report-data``): :func:`write_report`
for an output dir, or :func:`report_context` + :func:`render_html` / :func:`render_markdown` for
data in hand. The SVG charts are in :mod:`.svg`.
"""

from .context import report_context
from .files import REPORT_DATA_FILE, ReportDataError, load_context, write_report
from .render import render_html, render_markdown
from .svg import svg_beeswarm, svg_bias_bars, svg_disparate_impact, svg_importance

__all__ = [
    "REPORT_DATA_FILE",
    "ReportDataError",
    "load_context",
    "render_html",
    "render_markdown",
    "report_context",
    "svg_beeswarm",
    "svg_bias_bars",
    "svg_disparate_impact",
    "svg_importance",
    "write_report",
]
