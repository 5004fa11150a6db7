"""Step scripts run the way SageMaker runs them, for every suite (a plain module: conftest.py is not
importable by name; tests/conftest.py puts this directory on sys.path).

Each job gets its own ``opt/ml`` tree in a temp dir, as separate containers would; its script is
copied to where the container puts code, together with the shared modules the scripts import
(the compiler ships those with every job).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "step_scripts"
SHARED_MODULES = ("step_common", "cluster", "bias_metrics", "clarify_baseline")  # in import order

ADULT_TARGET = "Target"
ADULT_COLUMNS = [
    "Age", "Workclass", "fnlwgt", "Education", "Education-Num", "Marital Status", "Occupation",
    "Relationship", "Ethnic group", "Sex", "Capital Gain", "Capital Loss", "Hours per week", "Country",
    "Target",
]  # fmt: skip
"""UCI Adult's columns in file order (adult.data has no header: these are the census spec's names)."""
ADULT_FEATURES = [
    "Age", "Workclass", "Education", "Education-Num", "Marital Status", "Occupation", "Relationship",
    "Ethnic group", "Sex", "Capital Gain", "Capital Loss", "Hours per week", "Country",
]  # fmt: skip
"""The features preprocessing.py keeps with :data:`ADULT_PREPROCESSING` (the census spec's data section)."""
ADULT_PREPROCESSING = [
    "--target-column", ADULT_TARGET,
    "--positive-class", ">50K",
    "--drop-columns", "fnlwgt",
    "--train-ratio", "0.7",
    "--validation-ratio", "0.15",
    "--test-ratio", "0.15",
    "--stratify", "true",
    "--seed", "42",
    "--facet-columns", "Sex",
]  # fmt: skip


def data_dir() -> Path:
    """The shared real data sets: ``$LGBM_PIPELINE_DATA_DIR`` or ``../shared/data`` beside the repo."""
    return Path(os.environ.get("LGBM_PIPELINE_DATA_DIR", REPO.parent / "shared" / "data"))


_SERVER: dict[str, Any] = {}
"""This test process's warm job pool, its one server (started by the first job that can use it, or
None: every job runs cold) and the environment that server imports with."""


def _warm_server(env: dict[str, str]) -> Any:
    """The process's warm job server if a job with ``env`` can run in one of its workers, else None.

    The local runner's (local/warm_jobs.py, a WarmPool of this process): LightGBM, scikit-learn,
    pandas and NumPy imported once, each job a forked worker that runs the script exactly as
    ``python script args``: its argv, environment, working dir, sys.path (its dir, then its
    PYTHONPATH), output and exit status. ``LGBM_PIPELINE_COLD_JOBS=1`` runs every job in a fresh
    interpreter instead; so does a job whose import environment is not the server's."""
    from lgbm_pipeline_compiler.local import warm, warm_jobs

    if warm_jobs.cold_forced() or not warm.supported():
        return None
    if "pool" not in _SERVER:  # its server imports with run_script's default environment
        _SERVER["env"] = {k: v for k, v in os.environ.items() if not k.startswith("SM_")} | {
            "OMP_NUM_THREADS": "1"
        }
        pool = warm_jobs.WarmPool()
        atexit.register(pool.close)
        _SERVER["pool"], _SERVER["server"] = pool, pool.server(_SERVER["env"])[0]
    if _SERVER["server"] is None or warm_jobs.env_reason(env, _SERVER["env"]):
        return None
    return _SERVER["server"]


def run_script(
    script: Path, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run a script the way a container would: ``python script args``, as its own process.

    With one OpenMP thread unless ``env`` says otherwise (the local runner, too, sets each job's
    share of the cores): idle OpenMP threads spin-waiting on cores that other tests use make a
    LightGBM job several times slower. Through the test process's warm job server when the job's
    environment allows it (:func:`_warm_server`), as the local runner runs its jobs.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    clean["OMP_NUM_THREADS"] = "1"
    clean.update(env or {})
    command = [sys.executable, str(script), *args]
    server = _warm_server(clean)
    return subprocess.run(
        server.command(command) if server is not None else command,
        capture_output=True,
        text=True,
        env=clean,
        cwd=str(cwd) if cwd else None,
        timeout=600,
    )


def train_job(
    root: Path, preprocessed: SimpleNamespace, hyperparameters: Sequence[str] = ()
) -> SimpleNamespace:
    """train.py in a training-job layout under ``root`` on the ``preprocessed`` Adult splits, as
    SageMaker runs it in script mode (SM_* environment, the arguments SageMaker adds, then the
    ``hyperparameters``), then model.tar.gz as SageMaker packs the model dir after the job."""
    ml = root / "opt" / "ml"
    channels = {}
    for channel in ("train", "validation"):
        channels[channel] = ml / "input" / "data" / channel
        shutil.copytree(preprocessed.output / channel, channels[channel])
    code = install_code(["train.py", "inference.py", "requirements.txt"], ml / "code")
    env = {
        "SM_CHANNEL_TRAIN": str(channels["train"]),
        "SM_CHANNEL_VALIDATION": str(channels["validation"]),
        "SM_MODEL_DIR": str(ml / "model"),
        "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
        "SM_CHANNELS": '["train","validation"]',
        "SM_HPS": "{}",
    }
    (ml / "model").mkdir(parents=True)
    (ml / "output" / "data").mkdir(parents=True)
    args = [
        "--sagemaker_container_log_level", "20",
        "--sagemaker_job_name", '"census-train-2024-01-01"',
        "--sagemaker_program", '"train.py"',
        "--sagemaker_region", '"us-east-1"',
        "--sagemaker_submit_directory", '"s3://bucket/census/source/sourcedir.tar.gz"',
        *hyperparameters,
    ]  # fmt: skip
    result = run_script(code / "train.py", args, env=env, cwd=code)
    assert result.returncode == 0, result.stderr
    archive = ml / "output" / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for item in sorted((ml / "model").iterdir()):
            tar.add(item, arcname=item.name)
    return SimpleNamespace(
        model_dir=ml / "model", output_data=ml / "output" / "data", archive=archive, result=result
    )


def install_code(files: list[str], code_dir: Path) -> Path:
    """Copy step scripts, and the shared modules they import, to a container's code dir."""
    code_dir.mkdir(parents=True, exist_ok=True)
    for name in [*files, *(f"{module}.py" for module in SHARED_MODULES)]:
        shutil.copy(SCRIPTS / name, code_dir / name)
    return code_dir


def _import(module_name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def load_script(name: str) -> ModuleType:
    """Import step_scripts/<name>.py under a private module name, without changing sys.path.

    The shared modules are imported first under their own names, so that the script's
    ``import step_common`` finds them as it would on the container's path.
    """
    for shared in SHARED_MODULES:
        if shared not in sys.modules:
            _import(shared, SCRIPTS / f"{shared}.py")
    if name in SHARED_MODULES:
        return sys.modules[name]
    return _import(f"step_script_{name}", SCRIPTS / f"{name}.py")
