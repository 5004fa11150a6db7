"""Benchmark: the full local census run on the Adult data (issue 4 goal: ≤ 60 s end to end).

Run on demand (not a test):  python benchmarks/bench_local_run.py [--rounds N]

Reports wall time, per-step times from the run record, and peak memory (the largest resident set
of this process's descendants: each step's script runs in a child process). A baseline measured in
the same run — one plain train.py fit with the census defaults — puts the figure in proportion.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_compile import machine  # noqa: E402

DATA = (
    Path(os.environ.get("LGBM_PIPELINE_DATA_DIR", REPO.parent / "shared" / "data"))
    / "adult"
    / "census-income.csv"
)
INPUT_URI = "s3://sagemaker-sample-files/datasets/tabular/uci_adult/census-income.csv"


def one_run(work: Path) -> tuple[float, dict]:
    command = [str(Path(sys.executable).parent / "lgbm-pipeline"), "run", "specs/census.yaml", "--local", "--json",
               "--work-dir", str(work), "--data", f"{INPUT_URI}={DATA}"]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout)


def single_fit(work: Path, run_id: str) -> float:
    """Baseline: one train.py fit with the census defaults on the same split, in a fresh process."""
    tune = work / "runs" / run_id / "steps" / "Tune"
    env = {**os.environ, "SM_CHANNEL_TRAIN": str(tune / "input/data/train"),
           "SM_CHANNEL_VALIDATION": str(tune / "input/data/validation"),
           "SM_MODEL_DIR": str(work / "baseline-model"), "SM_OUTPUT_DATA_DIR": str(work / "baseline-out")}  # fmt: skip
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(tune / "code" / "train.py")], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    if not DATA.is_file():
        raise SystemExit(f"Adult data not found at {DATA}")
    walls, summaries, fits = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            wall, summary = one_run(Path(tmp) / f"run{i}")
            walls.append(wall)
            summaries.append(summary)
            fits.append(single_fit(Path(tmp) / f"run{i}", summary["execution_id"]))
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    steps: dict[str, list[float]] = {}
    for summary in summaries:
        for step in summary["steps"]:
            steps.setdefault(f"{step['name']} ({step['type']}, {step['status']})", []).append(
                step["seconds"] or 0.0
            )
    print(f"Local census run — {date.today().isoformat()} — {machine()} — {rounds} rounds, medians\n")
    print(
        f"end to end: {statistics.median(walls):.1f} s (min {min(walls):.1f}, max {max(walls):.1f}; goal ≤ 60 s)"
    )
    print(
        f"baseline, one train.py fit (census defaults) on the same split: {statistics.median(fits):.1f} s; "
        f"the whole run costs {statistics.median(walls) / statistics.median(fits):.1f} fits"
    )
    print(f"peak memory of any step process: {peak_mb:.0f} MB\n")
    print("| step | median s |")
    print("|---|---|")
    for name, values in steps.items():
        print(f"| {name} | {statistics.median(values):.1f} |")


if __name__ == "__main__":
    main()
