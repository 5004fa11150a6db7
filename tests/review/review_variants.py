"""Variants of the census spec for the review tests, built by YAML edits of its loaded values.

Each variant is the census spec's values (as the loader reads them, templates rendered) with one
edit, written as plain YAML into its own directory. Each edit first checks the value it changes,
so a change of specs/census.yaml fails here, loudly, instead of silently testing something else.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "specs" / "census.yaml"

SCRIPT_V1 = '"""Preprocessing for the review tests."""\n\nSPLIT = 0.8\n\n\ndef main():\n    return SPLIT\n'
SCRIPT_V2 = '"""Preprocessing for the review tests."""\n\nSPLIT = 0.9\n\n\ndef main():\n    return SPLIT\n'


def _expect(actual: Any, wanted: Any, what: str) -> None:
    if actual != wanted:
        raise AssertionError(
            f"specs/census.yaml changed: {what} is {actual!r}, the review tests expect {wanted!r}"
        )


def widen_learning_rate(d: dict[str, Any]) -> None:
    ranges = d["tuning"]["ranges"]["learning_rate"]
    _expect(ranges["max"], 0.5, "tuning.ranges.learning_rate.max")
    ranges["max"] = 0.9


def lower_gate(d: dict[str, Any]) -> None:
    _expect(d["quality_gate"]["threshold"], 0.68, "quality_gate.threshold")
    d["quality_gate"]["threshold"] = 0.6


def add_bias_method(d: dict[str, Any]) -> None:
    _expect(d["clarify"]["bias"]["methods"], ["DPPL", "DI"], "clarify.bias.methods")
    d["clarify"]["bias"]["methods"].append("DCR")


def remove_deploy(d: dict[str, Any]) -> None:
    _expect(
        sorted(d["deploy"]),
        ["data_capture", "endpoint_name", "instance_count", "instance_type", "lambda_arn"],
        "deploy",
    )
    del d["deploy"]


def rename_gate(d: dict[str, Any]) -> None:
    """The gate step is named after its metric (F1Gate): gating on roc_auc renames it ROCAUCGate."""
    _expect(d["quality_gate"]["metric"], "f1", "quality_gate.metric")
    d["quality_gate"]["metric"] = "roc_auc"


def _none(d: dict[str, Any]) -> None:
    del d


VARIANTS: dict[str, tuple[Callable[[dict[str, Any]], None], str | None]] = {
    "base": (_none, None),
    "widened_learning_rate": (widen_learning_rate, None),
    "lowered_gate": (lower_gate, None),
    "added_bias_method": (add_bias_method, None),
    "no_deploy": (remove_deploy, None),
    "renamed_gate": (rename_gate, None),
    "script_v1": (_none, SCRIPT_V1),
    "script_v2": (_none, SCRIPT_V2),
}
"""Name → (edit of the spec's values, the preprocessing.py placed next to the spec, if any)."""


def census_values() -> dict[str, Any]:
    from lgbm_pipeline_compiler.spec.loader import load_document

    return load_document(CENSUS).data


def write_variant(name: str, folder: Path) -> Path:
    """The variant's spec (and script) in ``folder``; its path."""
    edit, script = VARIANTS[name]
    values = census_values()
    edit(values)
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "census.yaml"
    spec.write_text(yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    if script is not None:
        (folder / "preprocessing.py").write_text(script)
    return spec
