"""Helpers for the clarify_check.py tests (a plain module with a unique name: conftest.py is not importable).

Same approach as tests/step_scripts/ (copied, not imported: those helpers belong to another suite).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "step_scripts"
TARGET = "Target"
FEATURES = [
    "Age",
    "Workclass",
    "Education",
    "Education-Num",
    "Marital Status",
    "Occupation",
    "Relationship",
    "Ethnic group",
    "Sex",
    "Capital Gain",
    "Capital Loss",
    "Hours per week",
    "Country",
]
SMALL_MODEL = [
    "--n_estimators", "60",
    "--learning_rate", "0.2",
    "--num_leaves", "15",
    "--early_stopping_rounds", "10",
    "--num_threads", "1",  # no OpenMP spin-waiting when other jobs share the 2 cores
]  # fmt: skip


def data_dir() -> Path:
    """``$LGBM_PIPELINE_DATA_DIR`` if set, else ``../shared/data`` beside the repository."""
    override = os.environ.get("LGBM_PIPELINE_DATA_DIR")
    return Path(override) if override else REPO.parent / "shared" / "data"


def load_clarify_check() -> ModuleType:
    """Import step_scripts/clarify_check.py under a private module name (no sys.path changes)."""
    spec = importlib.util.spec_from_file_location("step_script_clarify_check", SCRIPTS / "clarify_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def run_script(script: Path, args: list[str], env: dict | None = None, cwd: Path | None = None):
    """Run a script as a subprocess the way a container would: ``python script args``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=str(cwd) if cwd else None,
        timeout=600,
    )


def install_code(files: list[str], code_dir: Path) -> Path:
    code_dir.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy(SCRIPTS / name, code_dir / name)
    return code_dir


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
