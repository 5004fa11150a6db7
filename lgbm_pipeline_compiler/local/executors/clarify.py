"""ClarifyCheck steps: computed locally by the builtin Clarify implementation (not available yet)."""

from __future__ import annotations

from typing import Any

from ..context import StepContext, StepFailed


def run(ctx: StepContext) -> dict[str, Any]:
    raise StepFailed(
        "ClarifyCheck steps cannot run locally yet: the builtin bias/SHAP implementation has not "
        "landed; remove `clarify:` from the spec to run the rest locally"
    )
