"""Benchmark: cold `lgbm-pipeline compile specs/census.yaml --check -o DIR` on an up-to-date output
(the pre-commit case) against a full cold compile, in the same run.

Run on demand (not a test):  python benchmarks/bench_check.py [--rounds N]

Each round runs every command once in a fresh process, interleaved, so the noise of this shared
machine hits all of them alike; figures are medians (and minimums). Before timing, one run checks
that the up-to-date case takes the fast path (the SageMaker SDK is not imported). Goal (issue 11):
the unchanged case ≤ 0.4 s cold on 2 cores; a full compile is ~3.5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
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
CLI = str(Path(sys.executable).parent / "lgbm-pipeline")
SPEC = "specs/census.yaml"
GOAL = 0.4
# Bytecode is cached as on any installation (this workplace sets PYTHONDONTWRITEBYTECODE, which
# would recompile the package's sources in every process).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


SLOW_PATH = "input fingerprint differs"
"""What `compile --check` says when it had to compile to answer."""


def _cold(cmd: list[str], expect: int = 0) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child: what load on a shared machine inflates
    least) and the standard error of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != expect:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode} (expected {expect}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, proc.stderr


def _fast_path_taken(out: Path) -> None:
    code = (
        "import sys\n"
        "from lgbm_pipeline_compiler.cli import main\n"
        f"rc = main(['compile', {SPEC!r}, '--check', '-o', {str(out)!r}])\n"
        "print(rc, 'sagemaker' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=ENV, capture_output=True, text=True)
    if proc.stdout.strip() != "0 False":
        raise SystemExit(
            "compile --check did not answer from the fingerprint without the SDK "
            f"(got {proc.stdout.strip()!r}); is cli.py wired to review/ (compile --check, and the "
            f"fingerprint written by compile -o)?\n{proc.stderr}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        out, edited_dir = Path(tmp) / "out", Path(tmp) / "edited"
        _cold([CLI, "compile", SPEC, "-o", str(out)])
        # a copy of the spec with one more comment line: same definition, another fingerprint
        edited_dir.mkdir()
        edited = edited_dir / "census.yaml"
        edited.write_text("# edited\n" + (REPO / SPEC).read_text())
        edited_out = Path(tmp) / "edited-out"
        shutil.copytree(out, edited_out)
        # The full compile writes the output the fast check reads next, so each round checks an
        # output compiled by the current sources (other work on this tree moves the fingerprint).
        commands = {
            "lgbm-pipeline compile -o DIR (full compile)": ([CLI, "compile", SPEC, "-o", str(out)], 0),
            "lgbm-pipeline compile --check (up to date: fast path)": (
                [CLI, "compile", SPEC, "--check", "-o", str(out)],
                0,
            ),
            "lgbm-pipeline compile --check after a comment edit (compile + compare)": (
                [CLI, "compile", str(edited), "--check", "-o", str(edited_out)],
                0,
            ),
            "lgbm-pipeline --help (CLI start)": ([CLI, "--help"], 0),
            "python -c pass (interpreter start)": ([sys.executable, "-c", "pass"], 0),
        }
        for cmd, expect in commands.values():  # warm the OS file cache
            _cold(cmd, expect)
        _fast_path_taken(out)
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        slow_rounds = 0
        load_before = os.getloadavg()[0]
        for _ in range(rounds):
            for name, (cmd, expect) in commands.items():
                elapsed, cpu, stderr = _cold(cmd, expect)
                times[name].append(elapsed)
                cpus[name].append(cpu)
                slow_rounds += "fast path" in name and SLOW_PATH in stderr
        load_after = os.getloadavg()[0]
    med = {name: statistics.median(values) for name, values in times.items()}
    fast = med["lgbm-pipeline compile --check (up to date: fast path)"]
    full = med["lgbm-pipeline compile -o DIR (full compile)"]
    print(f"Stale-check benchmark — {date.today().isoformat()} — {machine()} — {rounds} rounds, medians")
    print(f"1-minute load average {load_before:.2f} before and {load_after:.2f} after the rounds\n")
    print("| command | median s | min s | max s | median CPU s |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        cpu = statistics.median(cpus[name])
        print(f"| {name} | {med[name]:.3f} | {min(values):.3f} | {max(values):.3f} | {cpu:.3f} |")
    if slow_rounds:
        print(f"\n{slow_rounds} up-to-date round(s) took the slow path: the sources changed during the run")
    print(
        f"\nup-to-date check: {fast:.3f} s (goal ≤ {GOAL}); {full / fast:.1f}× faster than a full compile ({full:.2f} s)"
    )


if __name__ == "__main__":
    main()
