"""Helpers shared by the step-script tests (a plain module: conftest.py is not importable by name)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "step_scripts"
SCRIPT_NAMES = ("preprocessing", "train", "evaluate", "inference", "deploy_endpoint")


def data_dir() -> Path:
    """``$LGBM_PIPELINE_DATA_DIR`` if set, else ``../shared/data`` beside the repository."""
    override = os.environ.get("LGBM_PIPELINE_DATA_DIR")
    return Path(override) if override else REPO.parent / "shared" / "data"


def load_script(name: str) -> ModuleType:
    """Import step_scripts/<name>.py under a private module name (no sys.path changes)."""
    spec = importlib.util.spec_from_file_location(f"step_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def run_script(
    script: Path, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run a script as a subprocess the way a container would: `python script args`."""
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


def assert_clean_failure(result: subprocess.CompletedProcess, prog: str, *fragments: str) -> str:
    """Non-zero exit, exactly one stderr line ``<prog>: error: ...`` holding every fragment, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def install_code(files: list[str], code_dir: Path) -> Path:
    """Copy step scripts to a container's code dir (as SageMaker does with the uploaded source)."""
    code_dir.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy(SCRIPTS / name, code_dir / name)
    return code_dir
