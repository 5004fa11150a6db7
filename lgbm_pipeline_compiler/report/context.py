"""What the report shows, as plain data: bias metrics per facet value, violations, SHAP importance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .svg import FOUR_FIFTHS, svg_beeswarm, svg_bias_bars, svg_disparate_impact, svg_importance

NDCG_THRESHOLD = 0.90  # Model Monitor's feature attribution drift threshold
ALIASES = {"DCACC": "DCA"}  # Clarify's docs say DCAcc; configs and analysis.json say DCA


REPORT_NOTES = (
    "Facet d = rows whose facet value is one of the configured values (or above the threshold of a "
    "numeric facet); facet a = all other rows, including rows with a missing facet value.",
    "Undefined values (a zero denominator or an empty facet) are shown as n/a and written as null with an "
    "error text; SageMaker Clarify's code returns 0 or Infinity in some of these cases.",
    "DI uses the four-fifths rule band [0.8, 1.25]; a DI outside it is commonly read as adverse impact.",
    "FT: k = 5 nearest facet-a neighbours (k = 1 when facet a has at most 9 rows) on standardised numeric and "
    "one-hot categorical features; F+ = d members predicted negative whose neighbours are predicted positive.",
    "CDDL/CDDPL need the analysis config's group_variable; without it they are undefined.",
    "Baseline rule (Model Monitor): a bias metric violates when it is farther from its ideal (1 for DI, "
    "0 otherwise) than the baseline value; SHAP violates when the nDCG of the feature ranking is below the threshold.",
)


def _fmt(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _metric_note(name: str, value: float | None) -> tuple[str, bool]:
    if value is None:
        return "undefined", False
    if name == "DI":
        low, high = FOUR_FIFTHS
        inside = low <= value <= high
        return (
            "within the four-fifths band" if inside else "outside the four-fifths band [0.8, 1.25]"
        ), not inside
    return "", False


def report_context(
    analysis: Mapping,
    violations: Sequence[Mapping],
    status: str,
    baseline_note: str,
    baseline: Mapping | None,
    meta: Mapping,
    shap_data: Mapping | None,
) -> dict:
    """Everything the HTML and markdown reports show, as plain data (pure: no I/O)."""
    bias = []
    stage_titles = (
        ("post_training_bias_metrics", "Post-training bias (model predictions)"),
        ("pre_training_bias_metrics", "Pre-training bias (labels)"),
    )
    for key, title in stage_titles:
        if key not in analysis:
            continue
        base_values = baseline_values(baseline[key]) if baseline and key in baseline else {}
        facets = []
        for facet, entries in analysis[key]["facets"].items():
            for entry in entries:
                ref = {
                    m: v
                    for (f, t, m), v in base_values.items()
                    if f == facet and t == entry["value_or_threshold"]
                }
                flagged = {
                    v["metric_name"]
                    for v in violations
                    if v.get("facet") == facet and v.get("facet_value") == entry["value_or_threshold"]
                }
                metrics = []
                for m in entry["metrics"]:
                    note, bad = _metric_note(m["name"], m["value"])
                    if m["name"] in flagged:
                        note, bad = ("violates the baseline; " + note).rstrip("; "), True
                    metrics.append(
                        {
                            "name": m["name"],
                            "description": m["description"],
                            "value": m["value"],
                            "value_text": _fmt(m["value"]),
                            "baseline_text": _fmt(ref.get(m["name"])) if m["name"] in ref else "",
                            "note": note,
                            "flag": bad,
                        }
                    )
                di = next((m for m in entry["metrics"] if m["name"] == "DI"), None)
                facets.append(
                    {
                        "name": facet,
                        "value": entry["value_or_threshold"],
                        "metrics": metrics,
                        "di_svg": svg_disparate_impact(di["value"], ref.get("DI")) if di else "",
                        "bars_svg": svg_bias_bars(entry["metrics"], ref),
                    }
                )
        bias.append({"title": title, "key": key, "facets": facets})
    shap = None
    if shap_data is not None:
        global_values = shap_data["global_values"]
        shap = {
            "rows": shap_data.get("rows", len(shap_data["values"])),
            "agg_method": shap_data["agg_method"],
            "expected_value": shap_data["expected_value"],
            "ndcg": shap_data.get("ndcg"),
            "ndcg_threshold": shap_data.get("ndcg_threshold", NDCG_THRESHOLD),
            "top": [
                {"name": n, "value": v}
                for n, v in sorted(global_values.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
            ],
            "bar_svg": svg_importance(global_values),
            "beeswarm_svg": svg_beeswarm(
                shap_data["values"], shap_data["frame"], shap_data["names"], shap_data["numeric"]
            ),
        }
    rows = []
    for v in violations:
        where = f"{v['facet']}={v['facet_value']}" if "facet" in v else v.get("label", "")
        rows.append(
            dict(v, where=where, value_text=_fmt(v.get("value")), baseline_text=_fmt(v.get("baseline_value")))
        )
    return {
        "title": f"Clarify check ({meta['check']}): {meta['model']}",
        "status": status,
        "check": meta["check"],
        "rows": meta["rows"],
        "threshold": meta["threshold"],
        "threshold_source": meta.get("threshold_source", "the analysis config"),
        "label": meta["label"],
        "label_value": meta["label_value"],
        "baseline_note": baseline_note,
        "model_threshold": meta.get("model_threshold"),
        "violations": rows,
        "bias": bias,
        "shap": shap,
        "notes": list(REPORT_NOTES),
    }


def _number(value: object) -> float | None:
    """A metric value from a constraints file: a number or +/-"Infinity"; None when undefined."""
    if isinstance(value, str) and value.lstrip("+-").lower() == "infinity":
        return -math.inf if value.startswith("-") else math.inf
    if isinstance(value, float) and math.isinf(value):
        return value
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def baseline_values(section: Mapping) -> dict[tuple[str, str, str], float | None]:
    """(facet, facet value, metric name) -> value, for one bias section of a baseline."""
    out = {}
    for facet, entries in (section.get("facets") or {}).items():
        for entry in entries or []:
            for metric in entry.get("metrics") or []:
                name = str(metric.get("name", "")).upper()
                key = (str(facet), str(entry.get("value_or_threshold")), ALIASES.get(name, name))
                out[key] = _number(metric.get("value"))
    return out
