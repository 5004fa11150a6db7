"""Benchmark: cold `lgbm-pipeline compile` against a hand-written SDK script, and cold `validate`.

Run on demand (not a test):  python benchmarks/bench_compile.py [--rounds N]

Each round runs every command once in a fresh process, interleaved, so machine noise hits all of
them alike; the figures are medians and the ratio is ours / hand-written within the same run.
Goals (issue 2): compile ≤ 1.1× the hand-written script; validate ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _cold(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gb:.0f} GiB, {cpu}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    commands = {
        "ours: lgbm-pipeline compile specs/census.yaml": [
            str(BIN / "lgbm-pipeline"),
            "compile",
            "specs/census.yaml",
        ],
        "hand-written SDK script": [sys.executable, "benchmarks/handwritten_census.py", os.devnull],
        "lgbm-pipeline validate specs/census.yaml": [
            str(BIN / "lgbm-pipeline"),
            "validate",
            "specs/census.yaml",
        ],
        "python -c pass (interpreter start)": [sys.executable, "-c", "pass"],
    }
    for cmd in commands.values():  # warm the OS file cache once; every timed run is a new process
        _cold(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            times[name].append(_cold(cmd))
    med = {name: statistics.median(values) for name, values in times.items()}
    ours, hand = med["ours: lgbm-pipeline compile specs/census.yaml"], med["hand-written SDK script"]
    print(f"Compile benchmark — {date.today().isoformat()} — {machine()} — {rounds} rounds, medians\n")
    print("| command | median s | min s | max s |")
    print("|---|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {med[name]:.2f} | {min(values):.2f} | {max(values):.2f} |")
    print(f"\ncompile ratio ours / hand-written: {ours / hand:.2f} (goal ≤ 1.10)")
    print(f"validate: {med['lgbm-pipeline validate specs/census.yaml']:.2f} s (goal ≤ 0.50)")


if __name__ == "__main__":
    main()
