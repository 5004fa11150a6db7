"""The step scripts the monitor reuses, imported from the package as their jobs import them.

The step scripts import their shared modules by plain names (``import step_common``), as on a job's
PYTHONPATH; so the package's copies are registered under those names first (as
local/executors/processing.bundled_clarify_baseline does). Nothing here computes anything: the
monitor calls these modules' functions so that a captured stream is measured exactly as the
pipeline's own steps measure the baseline.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

SHARED = ("step_common", "bias_metrics", "clarify_baseline")  # in import order


def module(name: str) -> ModuleType:
    """step_scripts/<name>.py, imported once (``data_quality``, ``clarify_check``, ``inference``...)."""
    for shared in SHARED:
        if shared not in sys.modules:
            sys.modules[shared] = importlib.import_module(f"lgbm_pipeline_compiler.step_scripts.{shared}")
    if name in SHARED:
        return sys.modules[name]
    return importlib.import_module(f"lgbm_pipeline_compiler.step_scripts.{name}")
