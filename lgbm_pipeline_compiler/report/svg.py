"""Small inline SVG charts for the bias and SHAP report (no plotting library, no external files)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # (imported by svg_beeswarm when it runs: the other charts need neither)
    import numpy as np
    import pandas as pd

FOUR_FIFTHS = (0.8, 1.25)
"""The four-fifths rule band for disparate impact (DI)."""
SVG_FONT = "font-family='Helvetica,Arial,sans-serif' font-size='12'"
BLUE, RED, GREY, GREEN = "#1f77b4", "#d62728", "#7f7f7f", "#2ca02c"


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _nice_limit(value: float) -> float:
    """A round axis limit >= value (1, 2, 2.5, 5 x 10^k)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def svg_bias_bars(
    metrics: Sequence[Mapping], baseline: Mapping[str, float] | None = None, width: int = 560
) -> str:
    """Diverging bars around 0 for the difference metrics (DI has its own chart), baseline ticks."""
    rows = [m for m in metrics if m["name"] != "DI"]
    if not rows:
        return ""
    baseline = baseline or {}
    left, right, row_h, top = 70, 70, 22, 24
    height = top + row_h * len(rows) + 28
    values = [abs(m["value"]) for m in rows if m["value"] is not None]
    shown = [baseline.get(m["name"]) for m in rows]
    values += [abs(v) for v in shown if v is not None and math.isfinite(v)]
    limit = _nice_limit(max(values + [0.1]) * 1.05)
    plot_w = width - left - right
    zero = left + plot_w / 2

    def x(v: float) -> float:
        return zero + (max(-limit, min(limit, v)) / limit) * (plot_w / 2)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>",
        f"<text x='{zero:.1f}' y='14' text-anchor='middle' fill='#333'>value (0 = no bias)</text>",
    ]
    for tick in (-limit, -limit / 2, 0, limit / 2, limit):
        tx = x(tick)
        parts.append(f"<line x1='{tx:.1f}' y1='{top - 4}' x2='{tx:.1f}' y2='{height - 24}' stroke='#ddd'/>")
        parts.append(f"<text x='{tx:.1f}' y='{height - 8}' text-anchor='middle' fill='#555'>{tick:g}</text>")
    for i, m in enumerate(rows):
        y = top + i * row_h
        parts.append(f"<text x='{left - 8}' y='{y + 15}' text-anchor='end'>{_esc(m['name'])}</text>")
        if m["value"] is None:
            parts.append(f"<text x='{zero + 6:.1f}' y='{y + 15}' fill='{GREY}'>undefined</text>")
        else:
            v = m["value"]
            x0, x1 = sorted((zero, x(v)))
            colour = RED if v > 0 else BLUE
            parts.append(
                f"<rect x='{x0:.1f}' y='{y + 4}' width='{max(x1 - x0, 1):.1f}' height='{row_h - 8}' fill='{colour}' "
                f"opacity='0.8'><title>{_esc(m['name'])} = {v:.4f}</title></rect>"
            )
            label_x = x(v) + (6 if v >= 0 else -6)
            anchor = "start" if v >= 0 else "end"
            parts.append(f"<text x='{label_x:.1f}' y='{y + 15}' text-anchor='{anchor}'>{v:.3f}</text>")
        ref = baseline.get(m["name"])
        if ref is not None and math.isfinite(ref):
            bx = x(ref)
            parts.append(
                f"<line x1='{bx:.1f}' y1='{y + 1}' x2='{bx:.1f}' y2='{y + row_h - 1}' stroke='#000' stroke-width='2'>"
                f"<title>baseline {ref:.4f}</title></line>"
            )
    parts.append(f"<line x1='{zero:.1f}' y1='{top - 4}' x2='{zero:.1f}' y2='{height - 24}' stroke='#333'/>")
    parts.append("</svg>")
    return "".join(parts)


def svg_disparate_impact(value: float | None, baseline: float | None = None, width: int = 560) -> str:
    """DI on a 0..max scale with the four-fifths band [0.8, 1.25] marked."""
    left, right, height = 70, 70, 78
    hi = max(1.5, (value or 0) * 1.1, (baseline or 0) * 1.1)
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + max(0.0, min(hi, v)) / hi * plot_w

    low, high = FOUR_FIFTHS
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>",
        f"<rect x='{x(low):.1f}' y='16' width='{x(high) - x(low):.1f}' height='34' fill='{GREEN}' opacity='0.15'/>",
        f"<line x1='{x(low):.1f}' y1='12' x2='{x(low):.1f}' y2='54' stroke='{GREEN}' stroke-dasharray='4 3'/>",
        f"<line x1='{x(high):.1f}' y1='12' x2='{x(high):.1f}' y2='54' stroke='{GREEN}' stroke-dasharray='4 3'/>",
        f"<line x1='{x(1):.1f}' y1='16' x2='{x(1):.1f}' y2='50' stroke='#333'/>",
        f"<text x='{x(low):.1f}' y='10' text-anchor='middle' fill='{GREEN}'>0.8</text>",
        f"<text x='{x(high):.1f}' y='10' text-anchor='middle' fill='{GREEN}'>1.25</text>",
        f"<text x='{(x(low) + x(high)) / 2:.1f}' y='10' text-anchor='middle' fill='{GREEN}'>four-fifths rule</text>",
        f"<line x1='{left}' y1='50' x2='{left + plot_w}' y2='50' stroke='#999'/>",
        f"<text x='{left - 8}' y='38' text-anchor='end'>DI</text>",
    ]
    for tick in (0, 0.5, 1.0, 1.5) + ((hi,) if hi > 1.5 else ()):
        parts.append(f"<text x='{x(tick):.1f}' y='76' text-anchor='middle' fill='#555'>{tick:g}</text>")
    if value is None:
        parts.append(f"<text x='{left + 6}' y='38' fill='{GREY}'>undefined</text>")
    else:
        inside = low <= value <= high
        colour = GREEN if inside else RED
        parts.append(
            f"<rect x='{left}' y='24' width='{max(x(value) - left, 1):.1f}' height='18' fill='{colour}' opacity='0.8'>"
            f"<title>DI = {value:.4f}</title></rect>"
        )
        parts.append(f"<text x='{x(value) + 6:.1f}' y='38'>{value:.3f}</text>")
    if baseline is not None and math.isfinite(baseline):
        parts.append(
            f"<line x1='{x(baseline):.1f}' y1='20' x2='{x(baseline):.1f}' y2='46' stroke='#000' stroke-width='2'>"
            f"<title>baseline {baseline:.4f}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_importance(global_values: Mapping[str, float], top: int = 20, width: int = 560) -> str:
    """Horizontal bars of global SHAP values, largest magnitude first."""
    items = sorted(global_values.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:top]
    if not items:
        return ""
    left, right, row_h, top_pad = 150, 70, 20, 8
    height = top_pad + row_h * len(items) + 24
    limit = max(abs(v) for _, v in items) or 1.0
    plot_w = width - left - right
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>"
    ]
    for i, (name, v) in enumerate(items):
        y = top_pad + i * row_h
        w = abs(v) / limit * plot_w
        parts.append(f"<text x='{left - 8}' y='{y + 14}' text-anchor='end'>{_esc(name)}</text>")
        parts.append(
            f"<rect x='{left}' y='{y + 3}' width='{max(w, 1):.1f}' height='{row_h - 6}' "
            f"fill='{BLUE if v >= 0 else RED}'><title>{_esc(name)} = {v:.5f}</title></rect>"
        )
        parts.append(f"<text x='{left + w + 6:.1f}' y='{y + 14}'>{v:.4f}</text>")
    parts.append(f"<line x1='{left}' y1='{top_pad}' x2='{left}' y2='{height - 20}' stroke='#333'/>")
    parts.append("</svg>")
    return "".join(parts)


def _colour_scale(t: float) -> str:
    """Blue (low) to red (high) for t in [0, 1]."""
    t = min(1.0, max(0.0, t))
    r, g, b = (int(30 + 200 * t), int(100 - 60 * abs(t - 0.5) * 2 + 20), int(230 - 200 * t))
    return f"#{r:02x}{g:02x}{b:02x}"


def svg_beeswarm(
    values: np.ndarray,
    frame: pd.DataFrame,
    names: Sequence[str],
    numeric: Sequence[str],
    top: int = 12,
    max_points: int = 600,
    seed: int = 0,
    width: int = 900,
) -> str:
    """SHAP summary plot: one row per top feature, a dot per (sampled) row at its SHAP value.

    Dots are coloured by the feature's value (blue low to red high, by rank) for numeric
    features and grey for categoricals, and stacked into a beeswarm within each row.
    """
    if values.size == 0:
        return ""
    import numpy as np
    import pandas as pd

    order = np.argsort(-np.mean(np.abs(values), axis=0), kind="stable")[:top]
    rows = np.arange(values.shape[0])
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=max_points, replace=False))
    sample = values[rows][:, order]
    left, right, row_h, top_pad, radius = 150, 20, 34, 10, 2.2
    height = top_pad + row_h * len(order) + 40
    # A robust axis: the 99.5th percentile of |SHAP|; rarer outliers are drawn at the edge.
    limit = _nice_limit(float(np.quantile(np.abs(sample), 0.995)) * 1.02) if np.any(sample) else 1.0
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + (max(-limit, min(limit, v)) + limit) / (2 * limit) * plot_w

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>"
    ]
    zero = x(0.0)
    parts.append(f"<line x1='{zero:.1f}' y1='{top_pad}' x2='{zero:.1f}' y2='{height - 34}' stroke='#999'/>")
    for tick in (-limit, -limit / 2, limit / 2, limit):
        parts.append(
            f"<text x='{x(tick):.1f}' y='{height - 20}' text-anchor='middle' fill='#555'>{tick:g}</text>"
        )
    parts.append(
        f"<text x='{left + plot_w / 2:.1f}' y='{height - 4}' text-anchor='middle' fill='#333'>"
        f"SHAP value (log-odds; beyond ±{limit:g} drawn at the edge); colour: feature value low (blue) "
        "to high (red), grey = categorical</text>"
    )
    step = 2 * radius
    for i, j in enumerate(order):
        name = names[j]
        centre = top_pad + i * row_h + row_h / 2
        parts.append(f"<text x='{left - 8}' y='{centre + 4:.1f}' text-anchor='end'>{_esc(name)}</text>")
        colours = [GREY] * len(rows)
        if name in numeric:
            raw = pd.to_numeric(frame[name].iloc[rows], errors="coerce")
            ranks = raw.rank(pct=True).to_numpy()
            colours = [GREY if math.isnan(r) else _colour_scale(r) for r in ranks]
        xs = [x(float(v)) for v in sample[:, i]]
        bins: dict[int, int] = {}
        slots = []
        for px in xs:
            key = int(px // step)
            n = bins.get(key, 0)
            bins[key] = n + 1
            slots.append((n + 1) // 2 * (1 if n % 2 else -1))
        widest = max(abs(s) for s in slots) if slots else 0
        spacing = min(step * 0.9, (row_h / 2 - radius) / widest) if widest else 0
        for px, slot, colour in zip(xs, slots, colours, strict=True):
            parts.append(
                f"<circle cx='{px:.1f}' cy='{centre + slot * spacing:.1f}' r='{radius}' fill='{colour}' opacity='0.75'/>"
            )
    parts.append("</svg>")
    return "".join(parts)
