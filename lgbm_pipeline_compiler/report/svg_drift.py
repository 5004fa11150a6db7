"""Inline SVG charts of a baseline distribution against the current one (the monitor report)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .svg import BLUE, GREY, RED, SVG_FONT, _esc

BASELINE_COLOUR, CURRENT_COLOUR = GREY, BLUE


def _legend(x: float, y: float, drifted: bool) -> str:
    current = RED if drifted else CURRENT_COLOUR
    return (
        f"<rect x='{x:.1f}' y='{y - 9:.1f}' width='10' height='10' fill='{BASELINE_COLOUR}' opacity='0.6'/>"
        f"<text x='{x + 14:.1f}' y='{y:.1f}'>baseline</text>"
        f"<rect x='{x + 80:.1f}' y='{y - 9:.1f}' width='10' height='10' fill='{current}' opacity='0.6'/>"
        f"<text x='{x + 94:.1f}' y='{y:.1f}'>captured</text>"
    )


def svg_histograms(
    edges: Sequence[float],
    baseline: Sequence[float],
    current: Sequence[float],
    title: str,
    drifted: bool = False,
    width: int = 560,
) -> str:
    """Two histograms of shares over the same ``edges`` (len(edges) - 1 bins), overlaid."""
    if len(edges) < 2 or len(baseline) != len(edges) - 1 or len(current) != len(edges) - 1:
        return ""
    left, right, top, height = 50, 20, 30, 170
    plot_w, plot_h = width - left - right, height - top - 30
    high = max([*baseline, *current, 1e-9])
    low_x, high_x = float(edges[0]), float(edges[-1])
    span = (high_x - low_x) or 1.0

    def x(v: float) -> float:
        return left + (float(v) - low_x) / span * plot_w

    def bars(shares: Sequence[float], colour: str) -> list[str]:
        out = []
        for i, share in enumerate(shares):
            h = share / high * plot_h
            x0, x1 = x(edges[i]), x(edges[i + 1])
            out.append(
                f"<rect x='{x0:.1f}' y='{top + plot_h - h:.1f}' width='{max(x1 - x0 - 1, 1):.1f}' height='{h:.1f}' "
                f"fill='{colour}' opacity='0.55'><title>[{edges[i]:g}, {edges[i + 1]:g}): {share:.3f}</title></rect>"
            )
        return out

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>",
        f"<text x='{left}' y='14' fill='#333'>{_esc(title)}</text>",
        _legend(width - 200, 14, drifted),
        *bars(baseline, BASELINE_COLOUR),
        *bars(current, RED if drifted else CURRENT_COLOUR),
        f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' stroke='#333'/>",
    ]
    for tick in np.linspace(low_x, high_x, 5):
        parts.append(
            f"<text x='{x(tick):.1f}' y='{top + plot_h + 16}' text-anchor='middle' fill='#555'>{tick:.4g}</text>"
        )
    parts.append(f"<text x='{left - 6}' y='{top + 8}' text-anchor='end' fill='#555'>{high:.2f}</text>")
    parts.append("</svg>")
    return "".join(parts)


def shares_on_edges(values: np.ndarray, edges: np.ndarray) -> list[float]:
    """The share of ``values`` in each bin of ``edges`` (the last bin closed)."""
    counts, _ = np.histogram(values, bins=edges)
    total = counts.sum()
    return [float(c) / total if total else 0.0 for c in counts]


def bucket_shares(buckets: Sequence[Mapping], edges: np.ndarray) -> list[float]:
    """KLL buckets (lower_bound, upper_bound, count) re-binned onto ``edges``: each bucket's count
    spread evenly over its range (what the buckets know), as shares."""
    counts = np.zeros(len(edges) - 1)
    for bucket in buckets:
        low, high, count = float(bucket["lower_bound"]), float(bucket["upper_bound"]), float(bucket["count"])
        if count <= 0:
            continue
        if high <= low:
            index = min(max(int(np.searchsorted(edges, low, side="right")) - 1, 0), len(counts) - 1)
            counts[index] += count
            continue
        for i in range(len(counts)):
            overlap = max(0.0, min(high, edges[i + 1]) - max(low, edges[i]))
            counts[i] += count * overlap / (high - low)
    total = counts.sum()
    return [float(c) / total if total else 0.0 for c in counts]


def svg_numeric_drift(
    baseline_buckets: Sequence[Mapping], current_buckets: Sequence[Mapping], title: str, drifted: bool
) -> str:
    """A numeric feature's baseline and captured distributions (from their statistics' KLL
    buckets) on 20 common bins."""
    bounds = [
        float(b[k]) for b in (*baseline_buckets, *current_buckets) for k in ("lower_bound", "upper_bound")
    ]
    if not bounds:
        return ""
    low, high = min(bounds), max(bounds)
    edges = np.linspace(low, high if high > low else low + 1, 21)
    return svg_histograms(
        list(edges),
        bucket_shares(baseline_buckets, edges),
        bucket_shares(current_buckets, edges),
        title,
        drifted,
    )


def svg_category_drift(
    baseline: Mapping[str, int], current: Mapping[str, int], title: str, drifted: bool, top: int = 12
) -> str:
    """A categorical feature's value shares, baseline and captured side by side (the ``top``
    values by their largest share; the rest summed as ``(other)``)."""
    n_base, n_now = sum(baseline.values()) or 1, sum(current.values()) or 1
    names = sorted(
        set(baseline) | set(current),
        key=lambda k: (-max(baseline.get(k, 0) / n_base, current.get(k, 0) / n_now), k),
    )
    shown, rest = names[:top], names[top:]
    rows = [(n, baseline.get(n, 0) / n_base, current.get(n, 0) / n_now) for n in shown]
    if rest:
        rows.append(
            (
                "(other)",
                sum(baseline.get(n, 0) for n in rest) / n_base,
                sum(current.get(n, 0) for n in rest) / n_now,
            )
        )
    left, right, row_h, top_pad = 150, 60, 20, 26
    width = 560
    height = top_pad + row_h * len(rows) + 10
    plot_w = width - left - right
    high = max([b for _, b, _ in rows] + [c for _, _, c in rows] + [1e-9])
    colour = RED if drifted else CURRENT_COLOUR
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' {SVG_FONT} role='img'>",
        f"<text x='{left}' y='14' fill='#333'>{_esc(title)}</text>",
        _legend(width - 200, 14, drifted),
    ]
    for i, (name, base, now) in enumerate(rows):
        y = top_pad + i * row_h
        parts.append(f"<text x='{left - 8}' y='{y + 13}' text-anchor='end'>{_esc(name)}</text>")
        for j, (share, fill) in enumerate(((base, BASELINE_COLOUR), (now, colour))):
            w = share / high * plot_w
            parts.append(
                f"<rect x='{left}' y='{y + 2 + j * 8}' width='{max(w, 0.5):.1f}' height='7' fill='{fill}' opacity='0.8'>"
                f"<title>{_esc(name)}: {share:.3f}</title></rect>"
            )
        parts.append(
            f"<text x='{left + max(base, now) / high * plot_w + 4:.1f}' y='{y + 13}'>{now:.3f}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
