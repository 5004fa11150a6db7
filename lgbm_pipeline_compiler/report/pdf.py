"""PDF copies of the HTML reports (`report RUN_ID --pdf`, `monitor --pdf`), in pure Python.

fpdf2 (pure Python; Pillow, fontTools and defusedxml, all wheels) lays out the report's own HTML:
its headings, paragraphs, lists and tables through ``FPDF.write_html``, and each inline ``<svg>``
chart as a vector image (fpdf2's SVG support draws the charts' rects, lines, circles and text). No
browser or system library is needed, so the PDF is the same on a laptop and in CI.

The built-in PDF fonts (Helvetica) cover Latin-1 only: other characters are written as their
closest Latin-1 text (``≥`` as ``>=``, ``—`` as ``-``, ``⚠️`` as ``!``), any remaining one as ``?``.
CSS is not applied (colours, badges): the PDF holds the same text, tables and charts. Chart dots
(``<circle>``) are drawn as squares of the same width: fpdf2 draws each circle as arcs, and a SHAP
beeswarm's 7,200 dots took 7.6 s and 320 KB of the PDF; as squares, 2.8 s and 43 KB in all.
"""

from __future__ import annotations

import html
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

SVG = re.compile(r"<svg\b.*?</svg>", re.S)
SVG_WIDTH = re.compile(r"<svg\b[^>]*\bwidth='(\d+(?:\.\d+)?)'")
_DROP = re.compile(r"<(head|style|script)\b.*?</\1>", re.S | re.I)
_TAGS_KEPT = re.compile(r"</?(?:span|div|section|code|small|html|body|!DOCTYPE)[^>]*>", re.I)
LATIN1 = {
    "≥": ">=", "≤": "<=", "—": "-", "–": "-", "→": "->", "←": "<-", "±": "+/-", "…": "...",
    "⚠": "!", "\ufe0f": "", "✓": "ok", "✗": "x", "’": "'", "‘": "'", "“": '"', "”": '"', "≈": "~",
    "−": "-", "×": "x", "·": "·",
}  # fmt: skip
PX_TO_MM = 25.4 / 96
CIRCLE = re.compile(r"<circle cx='([-\d.]+)' cy='([-\d.]+)' r='([\d.]+)'")
"""A dot of this package's charts (report/svg.py); its other attributes (fill, opacity) follow."""


def _square(match: re.Match[str]) -> str:
    cx, cy, r = (float(group) for group in match.groups())
    return f"<rect x='{cx - r:.2f}' y='{cy - r:.2f}' width='{2 * r:.2f}' height='{2 * r:.2f}'"


def latin1(text: str) -> str:
    """``text`` in the PDF core fonts' Latin-1 (see the module docstring)."""
    text = "".join(LATIN1.get(ch, ch) for ch in text)
    return text.encode("latin-1", "replace").decode("latin-1")


def _html_text(chunk: str) -> str:
    """A chunk of the report's HTML for write_html: layout-only tags dropped, entities resolved
    where fpdf2 does not know them (then re-escaped), Latin-1 only."""
    chunk = _TAGS_KEPT.sub("", chunk)
    chunk = re.sub(
        r"&(?!lt;|gt;|amp;|quot;)[a-zA-Z0-9#]+;", lambda m: html.escape(html.unescape(m.group())), chunk
    )
    return latin1(chunk)


def html_to_pdf(page: str, title: str) -> bytes:
    """The PDF of one report page (this package's or the monitor's HTML)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(latin1(title))
    pdf.set_creator("lgbm-pipeline")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    body = _DROP.sub("", page)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    position = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fpdf2: "<svg> has no viewBox" (the charts set width/height)
        for match in SVG.finditer(body):
            text = body[position : match.start()].strip()
            if text:
                pdf.write_html(_html_text(text))
            svg = CIRCLE.sub(_square, match.group())
            found = SVG_WIDTH.search(svg)
            wide = float(found.group(1)) * PX_TO_MM if found else width
            pdf.ln(2)
            pdf.image(io.BytesIO(latin1(svg).encode("utf-8")), w=min(wide, width))
            pdf.ln(2)
            position = match.end()
        rest = body[position:].strip()
        if rest:
            pdf.write_html(_html_text(rest))
    return bytes(pdf.output())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write one file via a temporary sibling and a rename (emit.write_text_atomic, for bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_pdf(html_path: Path, title: str) -> Path:
    """Write ``html_path``'s PDF beside it (same name, ``.pdf``), atomically; its path."""
    target = html_path.with_suffix(".pdf")
    write_bytes_atomic(target, html_to_pdf(html_path.read_text(), title))
    return target
