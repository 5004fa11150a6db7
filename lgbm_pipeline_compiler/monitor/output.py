"""What `monitor` writes: constraint_violations.json, monitor.json, report.html (and report.pdf).

``constraint_violations.json`` is Model Monitor's violations file (AWS, "Schema for Violations
(constraint_violations.json file)"): ``{"violations": [...]}``. Entries keep the schema of the
monitor that found them: data quality and prediction drift ``{feature_name, constraint_check_type,
description}``; bias drift ``{facet, facet_value, metric_name, constraint_check_type:
"bias_drift_check", description}`` and feature attribution ``{label, metric_name: "shap",
constraint_check_type: "feature_attribution_drift_check", description}`` as Clarify's monitors
write them (with the value and the baseline value beside). SageMaker writes one file per monitoring
schedule; here one run of the four checks writes them together.

``monitor.json`` holds every number the report shows (distances and thresholds per feature, the
nDCG, the bias metrics), for scripts. Every file is written through a temporary sibling and a rename.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from ..emit import write_text_atomic
from ..report.svg import svg_importance
from ..report.svg_drift import shares_on_edges, svg_category_drift, svg_histograms, svg_numeric_drift
from .checks import CheckResult

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px} h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:18px 0 6px} table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left} th{background:#f4f4f4}
td.num{text-align:right} .muted{color:#666;font-size:12px} .bad{color:#d62728;font-weight:bold}
</style></head><body>
<h1>{{ title }}</h1>
<p><b>{{ verdict }}</b>: {{ violation_count }} violation(s). {{ rows }} captured rows
({{ window }}) from variant(s) {{ variants }}; model package {{ package }}.</p>
<h2>Checks</h2><table><tr><th>Check</th><th>Status</th><th>Violations</th><th>Notes</th></tr>
{% for c in checks %}<tr><td>{{ c.name }}</td><td class="{{ 'bad' if c.status == 'violations' else '' }}">{{ c.status }}</td>
<td class="num">{{ c.count }}</td><td>{{ c.note }}</td></tr>{% endfor %}</table>
{% if violations %}<h2>Violations</h2><table><tr><th>Check type</th><th>Where</th><th>Description</th></tr>
{% for v in violations %}<tr><td>{{ v.constraint_check_type }}</td><td>{{ v.where }}</td><td>{{ v.description }}</td></tr>{% endfor %}</table>{% endif %}
{% if features %}<h2>Data quality</h2>
<table><tr><th>Feature</th><th>Type</th><th>Distance</th><th>Threshold</th><th>Violated constraints</th></tr>
{% for f in features %}<tr><td>{{ f.feature }}</td><td>{{ f.kind or '' }}</td><td class="num">{{ f.distance_text }}</td>
<td class="num">{{ f.threshold_text }}</td><td class="{{ 'bad' if f.violations else '' }}">{{ f.violations | join(', ') }}</td></tr>{% endfor %}</table>
{% for f in features if f.svg %}<div>{{ f.svg | safe }}</div>{% endfor %}{% endif %}
{% if outputs %}<h2>Prediction drift</h2>
<table><tr><th>Output</th><th>Captured mean</th><th>Baseline mean</th><th>Distance</th><th>Threshold</th></tr>
{% for o in outputs %}<tr><td>{{ o.output }}</td><td class="num">{{ "%.4f" | format(o.current_mean) }}</td>
<td class="num">{{ "%.4f" | format(o.baseline_mean) }}</td><td class="num">{{ "%.4f" | format(o.distance) }}</td>
<td class="num">{{ "%g" | format(o.threshold) }}</td></tr>{% endfor %}</table>
{% if prediction_svg %}<div>{{ prediction_svg | safe }}</div>{% endif %}{% endif %}
{% if bias %}<h2>Bias drift</h2><table><tr><th>Facet</th><th>Metric</th><th>Captured</th><th>Baseline</th></tr>
{% for b in bias %}<tr><td>{{ b.facet }}</td><td>{{ b.metric }}</td><td class="num">{{ b.value }}</td><td class="num">{{ b.baseline }}</td></tr>{% endfor %}</table>{% endif %}
{% if attribution %}<h2>Feature attribution drift</h2>
<p>nDCG of the captured global SHAP ranking against the baseline: <b>{{ attribution.ndcg }}</b> (violation below {{ attribution.threshold }}).</p>
<h3>Captured</h3><div>{{ attribution.current_svg | safe }}</div><h3>Baseline</h3><div>{{ attribution.baseline_svg | safe }}</div>{% endif %}
<h2>How these numbers are computed</h2><ul class="muted">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>
</body></html>
"""
NOTES = (
    "Data quality: Model Monitor's checks (step_scripts/data_quality.py) of the captured features against the "
    "registered statistics and constraints; distance = Deequ's L-infinity distance (Robust: minus the KS term), "
    "threshold from the constraints' monitoring_config.",
    "Prediction drift: the captured probabilities and labels against the registered model's predictions on the "
    "test split, with the same distance and thresholds as a feature.",
    "Bias drift: the registered bias metrics on captured rows with ground truth; a metric violates when farther "
    "from its ideal (1 for DI, 0 otherwise) than the baseline.",
    "Feature attribution drift: nDCG of the global SHAP ranking (exact TreeSHAP) against the baseline's; "
    "a violation below the threshold.",
)


def _where(violation: Mapping[str, Any]) -> str:
    if "feature_name" in violation:
        return str(violation["feature_name"])
    if "facet" in violation:
        return f"{violation['facet']}={violation['facet_value']} {violation['metric_name']}"
    return f"{violation.get('label', '')} {violation.get('metric_name', '')}".strip()


def _text(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _feature_rows(result: CheckResult) -> list[dict[str, Any]]:
    rows = []
    for f in result.details.get("features", []):
        drifted = "baseline_drift_check" in f["violations"]
        svg = ""
        if f["baseline"] and f["kind"] == "numeric":
            svg = svg_numeric_drift(f["baseline"]["buckets"], f["current"]["buckets"], f["feature"], drifted)
        elif f["baseline"] and f["kind"] == "categorical":
            svg = svg_category_drift(f["baseline"]["counts"], f["current"]["counts"], f["feature"], drifted)
        rows.append(
            dict(f, distance_text=_text(f["distance"]), threshold_text=_text(f["threshold"], 2), svg=svg)
        )
    return rows


def _bias_rows(result: CheckResult, baseline: Mapping | None) -> list[dict[str, str]]:
    analysis = result.details.get("analysis") or {}
    section = analysis.get("post_training_bias_metrics") or {}
    base = (baseline or {}).get("post_training_bias_metrics") or {}
    base_values = {
        (facet, e["value_or_threshold"], m["name"]): m.get("value")
        for facet, entries in (base.get("facets") or {}).items()
        for e in entries
        for m in e.get("metrics", [])
    }
    rows = []
    for facet, entries in (section.get("facets") or {}).items():
        for entry in entries:
            for metric in entry["metrics"]:
                reference = base_values.get((facet, entry["value_or_threshold"], metric["name"]))
                rows.append(
                    {
                        "facet": f"{facet}={entry['value_or_threshold']}",
                        "metric": metric["name"],
                        "value": _text(metric.get("value")),
                        "baseline": _text(reference if isinstance(reference, (int, float)) else None),
                    }
                )
    return rows


def summary(results: Sequence[CheckResult], meta: Mapping[str, Any]) -> dict[str, Any]:
    """monitor.json: every check's status, note, violations and numbers (no arrays of rows)."""
    checks = {}
    for r in results:
        details = {k: v for k, v in r.details.items() if k not in ("statistics", "analysis")}
        if "features" in details:
            details["features"] = [
                {k: f[k] for k in ("feature", "kind", "distance", "threshold", "violations")}
                for f in details["features"]
            ]
        if "outputs" in details:
            details["outputs"] = [
                {k: v for k, v in o.items() if k not in ("current", "baseline")} for o in details["outputs"]
            ]
        if r.details.get("analysis"):
            details["analysis"] = r.details["analysis"]
        checks[r.name] = {"status": r.status, "note": r.note, "violations": r.violations, "details": details}
    return {**meta, "checks": checks}


def render(results: Sequence[CheckResult], meta: Mapping[str, Any], bias_baseline: Mapping | None) -> str:
    """The self-contained HTML report (inline SVG)."""
    by_name = {r.name: r for r in results}
    violations = [dict(v, where=_where(v)) for r in results for v in r.violations]
    prediction = by_name.get("prediction drift")
    outputs = prediction.details.get("outputs", []) if prediction else []
    prediction_svg = ""
    for o in outputs:
        if o["output"] == "probability":
            edges = np.linspace(0.0, 1.0, 21)
            prediction_svg = svg_histograms(
                list(edges),
                shares_on_edges(o["baseline"], edges),
                shares_on_edges(o["current"], edges),
                "probability",
                o["distance"] > o["threshold"],
            )
    attribution = None
    shap = by_name.get("feature attribution drift")
    if shap and shap.details:
        attribution = {
            "ndcg": _text(shap.details["ndcg"]),
            "threshold": f"{shap.details['threshold']:g}",
            "current_svg": svg_importance(shap.details["current"]),
            "baseline_svg": svg_importance(shap.details["baseline"]),
        }
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    quality = by_name.get("data quality")
    return env.from_string(TEMPLATE).render(
        title=f"Model monitor: endpoint {meta['endpoint']}",
        verdict="VIOLATIONS" if violations else "NO VIOLATIONS",
        violation_count=len(violations),
        rows=meta["rows"],
        window=f"{meta['first_inference']} to {meta['last_inference']}",
        variants=", ".join(meta["variants"]),
        package=meta["model_package"],
        checks=[
            {"name": r.name, "status": r.status, "count": len(r.violations), "note": r.note} for r in results
        ],
        violations=violations,
        features=_feature_rows(quality) if quality else [],
        outputs=outputs,
        prediction_svg=prediction_svg,
        bias=_bias_rows(by_name["bias drift"], bias_baseline) if "bias drift" in by_name else [],
        attribution=attribution,
        notes=NOTES,
    )


def _finite(data: Any) -> Any:
    """``data`` with NaN and infinities as null (JSON has no such numbers)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, Mapping):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v) for v in data]
    return data


def _json(data: Any) -> str:
    return json.dumps(_finite(data), indent=2, allow_nan=False, default=lambda v: None) + "\n"


def write_outputs(
    out: Path,
    results: Sequence[CheckResult],
    meta: Mapping[str, Any],
    bias_baseline: Mapping | None,
    pdf: bool,
) -> list[Path]:
    """Write the files (see the module docstring) into ``out``; their paths."""
    violations = [v for r in results for v in r.violations]
    paths = [out / "constraint_violations.json", out / "monitor.json", out / "report.html"]
    write_text_atomic(paths[0], _json({"violations": violations}))
    write_text_atomic(paths[1], _json(summary(results, meta)))
    write_text_atomic(paths[2], render(results, meta, bias_baseline))
    if pdf:
        from ..report.pdf import write_pdf

        paths.append(write_pdf(paths[2], f"Model monitor: endpoint {meta['endpoint']}"))
    return paths
