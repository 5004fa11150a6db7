"""Benchmark: cold `lgbm-pipeline validate specs/census.json` against `python -c "import botocore"`.

Run on demand (not a test):  python benchmarks/bench_lint.py [--rounds N]

Each round runs every command once in a fresh process, interleaved, so the noise of this shared
machine hits all of them alike; figures are medians (and minimums), and the ratio to the baseline
is taken within the same run. Goal: validate ≤ 0.6 s on 2 cores. The shape cache
(``lint/shapes.py``) is warm in the timed rounds, as it is after a machine's first validate; one
extra run with an empty cache shows what the first validate costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_compile import machine  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GOAL = 0.6


# Bytecode is cached as on any installation (this workplace sets PYTHONDONTWRITEBYTECODE, which
# would recompile the package's sources in every process).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _cold(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds
    validate = str(BIN / "lgbm-pipeline")
    commands = {
        "lgbm-pipeline validate specs/census.json": [validate, "validate", "specs/census.json"],
        'baseline: python -c "import botocore"': [sys.executable, "-c", "import botocore"],
        "lgbm-pipeline validate specs/census.yaml (spec only)": [validate, "validate", "specs/census.yaml"],
        "python -c pass (interpreter start)": [sys.executable, "-c", "pass"],
        'python -c "import lgbm_pipeline_compiler" (the package)': [
            sys.executable,
            "-c",
            "import lgbm_pipeline_compiler",
        ],
    }
    with tempfile.TemporaryDirectory() as empty:
        first = _cold(commands["lgbm-pipeline validate specs/census.json"], {**ENV, "XDG_CACHE_HOME": empty})
    for cmd in commands.values():  # warm the OS file cache and the shape cache
        _cold(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    load_before = os.getloadavg()[0]
    for _ in range(rounds):
        for name, cmd in commands.items():
            times[name].append(_cold(cmd))
    load_after = os.getloadavg()[0]
    med = {name: statistics.median(values) for name, values in times.items()}
    ours = "lgbm-pipeline validate specs/census.json"
    base = 'baseline: python -c "import botocore"'
    print(f"Lint benchmark — {date.today().isoformat()} — {machine()} — {rounds} rounds, medians")
    print(f"1-minute load average {load_before:.2f} before and {load_after:.2f} after the rounds\n")
    print("| command | median s | min s | max s |")
    print("|---|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {med[name]:.3f} | {min(values):.3f} | {max(values):.3f} |")
    print(
        f"\nvalidate specs/census.json: {med[ours]:.2f} s median, {min(times[ours]):.2f} s min (goal ≤ {GOAL})"
    )
    print(
        f"ratio to the baseline: {med[ours] / med[base]:.1f}× (medians), {min(times[ours]) / min(times[base]):.1f}× (minimums)"
    )
    print(f"first validate on a machine (empty shape cache): {first:.2f} s")


if __name__ == "__main__":
    main()
