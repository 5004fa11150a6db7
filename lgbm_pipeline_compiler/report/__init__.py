"""The bias and SHAP report: one self-contained HTML page and a markdown summary.

Rendered from what step_scripts/clarify_check.py writes into its output dir (by default; not with
``--report-data false``), never recomputed: :func:`write_report` for one output dir or those of
several checks (a bias check's and an explainability check's), or :func:`report_context` +
:func:`render_html` / :func:`render_markdown` for data in hand (the markdown escapes every
user-derived string: :func:`escape_markdown`). The SVG charts are in :mod:`.svg`.
"""

from .context import report_context
from .files import REPORT_DATA_FILE, ReportDataError, load_context, write_report
from .render import escape_markdown, render_html, render_markdown
from .svg import svg_beeswarm, svg_bias_bars, svg_disparate_impact, svg_importance

__all__ = [
    "REPORT_DATA_FILE",
    "ReportDataError",
    "escape_markdown",
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
