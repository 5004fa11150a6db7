"""The report as one self-contained HTML page (Jinja2, inline SVG) and a markdown summary."""

from __future__ import annotations

import re
from collections.abc import Mapping

import jinja2

REPORT_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:18px 0 6px} table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left} th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#666;font-size:12px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:bold;font-size:13px}
.PASSED,.NO-BASELINE{background:#2ca02c} .FAILED{background:#d62728} .SKIPPED,.NOT-ENFORCED{background:#ff7f0e}
.bad{color:#d62728;font-weight:bold} ul.notes{font-size:12px;color:#444}
</style></head><body>
<h1>{{ title }}</h1>
<p><span class="badge {{ status | replace(' ', '-') }}">{{ status }}</span>
&nbsp;{{ rows }} rows &middot; check: {{ check }} &middot; prediction threshold {{ "%g" | format(threshold) }}
&middot; label <b>{{ label }}</b> positive = {{ label_value }}</p>
{% if threshold_source == "the model's served labels" %}<p class="muted">Predictions are the model's served labels: probability &ge; its own F1 decision threshold ({{ "%.4f" | format(threshold) }}, metadata.json).</p>
{% elif model_threshold is not none %}<p class="muted">Predictions are probability &ge; the analysis config's probability_threshold
({{ "%g" | format(threshold) }}), as in Clarify; the model's own F1 decision threshold (metadata.json) is {{ "%.4f" | format(model_threshold) }}.</p>{% endif %}
<p class="muted">{{ baseline_note }}</p>
{% if violations %}<h2>Violations</h2><table><tr><th>Check</th><th>Where</th><th>Metric</th><th>Value</th><th>Baseline</th><th>Description</th></tr>
{% for v in violations %}<tr><td>{{ v.constraint_check_type }}</td><td>{{ v.where }}</td><td>{{ v.metric_name }}</td>
<td class="num">{{ v.value_text }}</td><td class="num">{{ v.baseline_text }}</td><td>{{ v.description }}</td></tr>{% endfor %}</table>{% endif %}
{% for stage in bias %}<h2>{{ stage.title }}</h2>
{% for facet in stage.facets %}<h3>Facet <code>{{ facet.name }}</code> = {{ facet.value }} <span class="muted">(facet d; facet a = all other rows)</span></h3>
<table><tr><th>Metric</th><th>Description</th><th>Value</th><th>Baseline</th><th></th></tr>
{% for m in facet.metrics %}<tr><td><b>{{ m.name }}</b></td><td>{{ m.description }}</td><td class="num">{{ m.value_text }}</td>
<td class="num">{{ m.baseline_text }}</td><td class="{{ 'bad' if m.flag else '' }}">{{ m.note }}</td></tr>{% endfor %}</table>
{% if facet.di_svg %}<div>{{ facet.di_svg | safe }}</div>{% endif %}
{% if facet.bars_svg %}<div>{{ facet.bars_svg | safe }}</div>{% endif %}
{% endfor %}{% endfor %}
{% if shap %}<h2>SHAP feature attributions</h2>
<p>Sample size: <b>{{ shap.rows }} rows explained</b> (exact TreeSHAP from LightGBM on each row, no sampling of
coalitions); values in log-odds (raw margin) units;
global aggregation <b>{{ shap.agg_method }}</b>; expected value {{ "%.5f" | format(shap.expected_value) }}{% if shap.ndcg is not none %};
nDCG against the baseline <b>{{ "%.4f" | format(shap.ndcg) }}</b> (threshold {{ "%.2f" | format(shap.ndcg_threshold) }}){% endif %}.</p>
<h3>Global importance</h3><div>{{ shap.bar_svg | safe }}</div>
<table><tr><th>#</th><th>Feature</th><th>{{ shap.agg_method }}</th></tr>{% for f in shap.top %}<tr><td>{{ loop.index }}</td><td>{{ f.name }}</td><td class="num">{{ "%.5f" | format(f.value) }}</td></tr>{% endfor %}</table>
<h3>Summary (beeswarm)</h3><div>{{ shap.beeswarm_svg | safe }}</div>{% endif %}
<h2>How these numbers are computed</h2><ul class="notes">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>
</body></html>
"""


def render_html(context: Mapping) -> str:
    """The self-contained HTML report (inline SVG, no external files)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(REPORT_TEMPLATE).render(**context)


_MARKDOWN_ESCAPES = {
    "&": "&amp;",  # entity references
    "<": "&lt;",  # raw HTML (<script>, <img onerror>) and autolinks
    ">": "&gt;",
    **{c: "\\" + c for c in "\\`*_[]|~$"},  # code spans, emphasis, links, table cells, GFM extras, math
}
_MARKDOWN_SPECIAL = re.compile("[" + re.escape("".join(_MARKDOWN_ESCAPES)) + "]")
_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x85\u2028\u2029]\s*")


def escape_markdown(value: object) -> str:
    """``value`` as literal text in a GitHub-flavoured Markdown table cell or paragraph.

    No raw HTML, links, images, code spans, emphasis or math can start in it, and it stays on one
    line in one cell: HTML's specials become entities, Markdown's are backslash-escaped (CommonMark
    allows that for any ASCII punctuation) and line breaks become one space.
    """
    text = _LINE_BREAKS.sub(" ", str(value))
    text = "".join(ch if ch.isprintable() or ch == " " else " " for ch in text)
    return _MARKDOWN_SPECIAL.sub(lambda m: _MARKDOWN_ESCAPES[m.group()], text)


def render_markdown(context: Mapping, top_features: int = 10) -> str:
    """A short markdown summary for a pull-request comment; every string that comes from the data,
    the config or the baseline is escaped (:func:`escape_markdown`)."""
    e = escape_markdown
    lines = [f"### {e(context['title'])} — **{e(context['status'])}**", ""]
    lines.append(
        f"{context['rows']} rows · prediction threshold {context['threshold']:g} · "
        f"label {e(context['label'])} positive = {e(context['label_value'])}"
    )
    lines += ["", f"_{e(context['baseline_note'])}_", ""]
    if context["violations"]:
        lines += ["**Violations**", "", "| Where | Metric | Value | Baseline |", "|---|---|---:|---:|"]
        for v in context["violations"]:
            lines.append(
                f"| {e(v['where'])} | {e(v['metric_name'])} | {e(v['value_text'])} | {e(v['baseline_text'])} |"
            )
        lines.append("")
    for stage in context["bias"]:
        lines += [
            f"**{e(stage['title'])}**",
            "",
            "| Facet | Metric | Value | Baseline | |",
            "|---|---|---:|---:|---|",
        ]
        for facet in stage["facets"]:
            for m in facet["metrics"]:
                mark = "⚠️ " + e(m["note"]) if m["flag"] else e(m["note"])
                lines.append(
                    f"| {e(facet['name'])}={e(facet['value'])} | {e(m['name'])} | {e(m['value_text'])} "
                    f"| {e(m['baseline_text'])} | {mark} |"
                )
        lines.append("")
    if context["shap"]:
        shap = context["shap"]
        extra = "" if shap["ndcg"] is None else f" · nDCG vs baseline {shap['ndcg']:.4f}"
        lines += [
            f"**SHAP global importance** ({shap['rows']} rows explained · {e(shap['agg_method'])}, log-odds; "
            f"expected value {shap['expected_value']:.4f}{extra})",
            "",
            "| # | Feature | Value |",
            "|---:|---|---:|",
        ]
        for i, f in enumerate(shap["top"][:top_features], 1):
            lines.append(f"| {i} | {e(f['name'])} | {f['value']:.5f} |")
        lines.append("")
    return "\n".join(lines)
