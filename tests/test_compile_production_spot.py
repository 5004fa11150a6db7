"""Managed spot training (issue 16): train.py checkpoints the booster while boosting, and a job
interrupted (killed, as when a spot instance is reclaimed) resumes from its last checkpoint when it
runs again with the same hyperparameters and data; a job with other hyperparameters never does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from step_jobs import install_code, run_script

ROUNDS = 400  # checkpoints every 25 rounds: the kill lands on one long before the end
HYPER = ["--n_estimators", str(ROUNDS), "--learning_rate", "0.01", "--early_stopping_rounds", "0"]
OTHER = ["--n_estimators", "50", "--learning_rate", "0.01", "--early_stopping_rounds", "0", "--seed", "7"]


def job_args(preprocessed, root: Path, hyper: list[str], checkpoints: Path | None = None) -> list[str]:
    return [
        "--train", str(preprocessed.output / "train"),
        "--validation", str(preprocessed.output / "validation"),
        "--model-dir", str(root / "model"),
        "--output-data-dir", str(root / "output"),
        "--checkpoint-dir", str(checkpoints or root / "checkpoints"),
        *hyper,
    ]  # fmt: skip


def trees(model: Path) -> int:
    return sum(1 for line in model.read_text().splitlines() if line.startswith("Tree="))


def test_an_interrupted_job_resumes_from_its_checkpoint(preprocessed, tmp_path):
    code = install_code(["train.py", "inference.py", "requirements.txt"], tmp_path / "code")
    args = job_args(preprocessed, tmp_path, HYPER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SM_")} | {"OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, str(code / "train.py"), *args], cwd=code, env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while not list((tmp_path / "checkpoints").glob("lightgbm-*.txt")) and time.monotonic() < deadline:
        assert process.poll() is None, "train.py ended before it wrote a checkpoint"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # the spot instance is reclaimed
    process.wait()
    (checkpoint,) = (tmp_path / "checkpoints").glob("lightgbm-*.txt")
    saved = trees(checkpoint)
    assert 25 <= saved < ROUNDS and saved % 25 == 0
    assert not (tmp_path / "model" / "model.txt").exists()

    # other hyperparameters, the same checkpoint dir (a tuning job's trials share its prefix)
    other_args = job_args(preprocessed, tmp_path / "other", OTHER, checkpoints=tmp_path / "checkpoints")
    other = run_script(code / "train.py", other_args, cwd=code)
    assert other.returncode == 0, other.stderr
    assert "resuming" not in other.stdout  # a checkpoint of its own, never the killed job's
    assert checkpoint.is_file() and trees(checkpoint) == saved  # which it left as it was

    resumed = run_script(code / "train.py", args, cwd=code)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from checkpoint {checkpoint.name} at round " in resumed.stdout
    at = int(resumed.stdout.split(f"{checkpoint.name} at round ")[1].split()[0])
    assert at >= saved and at % 25 == 0  # the last checkpoint written before the kill
    assert trees(tmp_path / "model" / "model.txt") == ROUNDS  # boosting went on to n_estimators
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["best_iteration"] == ROUNDS
