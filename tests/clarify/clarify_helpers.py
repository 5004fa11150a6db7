"""Helpers for the clarify_check.py tests (a plain module with a unique name: conftest.py is not importable).

Running scripts in container layouts is tests/step_jobs.py's, shared with the other suites.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from step_jobs import ADULT_FEATURES, ADULT_TARGET, install_code, run_script

TARGET = ADULT_TARGET
FEATURES = ADULT_FEATURES


def analysis_config(**overrides) -> dict:
    """A Clarify analysis config for the census Clarify CSV (the shape the SageMaker SDK writes)."""
    config = {
        "dataset_type": "text/csv",
        "headers": [TARGET, *FEATURES],
        "label": TARGET,
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "Sex", "value_or_threshold": ["Female"]}],
        "group_variable": "Relationship",
        "methods": {
            "report": {"name": "report", "title": "Analysis Report"},
            "post_training_bias": {"methods": "all"},
            "pre_training_bias": {"methods": "all"},
            "shap": {
                "use_logit": False,
                "save_local_shap_values": True,
                "num_samples": 100,
                "agg_method": "mean_abs",
                "seed": 123,
            },
        },
        "predictor": {"model_name": "census-model", "instance_type": "ml.m5.xlarge", "probability": 0},
        "probability_threshold": 0.5,
    }
    config.update(overrides)
    return config


class ClarifyJob:
    """One processing job of clarify_check.py in its own ``opt/ml/processing`` tree."""

    def __init__(self, root: Path, archive: Path, clarify_csv: Path):
        self.ml = root / "opt" / "ml" / "processing"
        (self.ml / "model").mkdir(parents=True)
        shutil.copy(archive, self.ml / "model" / "model.tar.gz")
        (self.ml / "input" / "data").mkdir(parents=True)
        shutil.copy(clarify_csv, self.ml / "input" / "data" / "clarify.csv")
        (self.ml / "input" / "config").mkdir(parents=True)
        self.code = install_code(["clarify_check.py"], self.ml / "input" / "code")
        self.output = self.ml / "output"

    def run(self, check: str, config: dict, *extra: str, baseline: dict | None = None):
        (self.ml / "input" / "config" / "analysis_config.json").write_text(json.dumps(config))
        args = [
            "--check", check,
            "--model-dir", str(self.ml / "model"),
            "--data-dir", str(self.ml / "input" / "data"),
            "--config", str(self.ml / "input" / "config" / "analysis_config.json"),
            "--output-dir", str(self.output),
        ]  # fmt: skip
        if baseline is not None:
            folder = self.ml / "input" / "baseline"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "constraints.json").write_text(json.dumps(baseline))
            args += ["--baseline-constraints", str(folder / "constraints.json")]
        result = run_script(self.code / "clarify_check.py", [*args, *extra], cwd=self.code)
        result.analysis = (
            json.loads((self.output / "analysis.json").read_text())
            if (self.output / "analysis.json").is_file()
            else None
        )
        result.violations = (
            json.loads((self.output / "violations.json").read_text())
            if (self.output / "violations.json").is_file()
            else None
        )
        return result
