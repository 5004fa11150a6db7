"""Benchmark: the local census run with warm tuning trials and warm script jobs vs cold ones
(issue 13: ≤ 30 s median).

Run on demand (not a test):  python benchmarks/bench_warm_trials.py [--rounds N]

Each round runs the README's command, ``lgbm-pipeline run specs/census.yaml --local --first-run``,
twice in fresh work dirs: once with ``LGBM_PIPELINE_COLD_TRIALS=1`` and ``LGBM_PIPELINE_COLD_JOBS=1``
(the baseline: every trial and every processing or check job a fresh Python process) and once
warm, in alternating order, so that a change of load on a shared machine weighs on both. Reports
wall times (end to end and per step), the CPU time of every process of the run (which a loaded
machine inflates least), warm/cold ratios and the load average, and checks that both runs of a
round tuned the same trials to the same results (hyperparameters, objective values, model files
and logs, work dir and run id aside, trial by trial) and wrote the same step outputs (every JSON,
CSV and text object the run wrote to the object store: splits, evaluation, Clarify analyses,
data-quality baselines, predictions).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_compile import machine  # noqa: E402

COLD = ("LGBM_PIPELINE_COLD_TRIALS", "LGBM_PIPELINE_COLD_JOBS")
TEXT = (".json", ".csv", ".jsonl", ".txt", ".out")


def cpu_seconds() -> float:
    """User + system CPU of this process's waited-for descendants (every process of a run: the
    runner waits for the supervisors, they for their jobs, the warm server for its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(work: Path, cold: bool) -> tuple[float, float, dict]:
    env = {k: v for k, v in os.environ.items() if k not in COLD} | ({k: "1" for k in COLD} if cold else {})
    command = [str(Path(sys.executable).parent / "lgbm-pipeline"), "run", "specs/census.yaml", "--local",
               "--first-run", "--json", "--work-dir", str(work)]  # fmt: skip
    start, cpu = time.perf_counter(), cpu_seconds()
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return wall, cpu, json.loads(proc.stdout)


def trials(work: Path, summary: dict) -> list[dict]:
    """Every trial of the run's Tune step, by index: hyperparameters, status, objective, model
    files and log, with the work dir and the run's tuning job name made neutral."""
    tune = next(s for s in summary["steps"] if s["type"] == "Tuning")
    job = tune["outputs"]["HyperParameterTuningJobName"]
    values = {
        s["TrainingJobName"]: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for s in tune["outputs"]["TrainingJobSummaries"]
    }
    found = []
    for trial in sorted((work / "runs" / summary["execution_id"] / "steps" / "Tune" / "trials").iterdir()):
        model = {}
        for tarball in (work / "s3").glob(f"**/{trial.name}/output/model.tar.gz"):
            with tarfile.open(fileobj=io.BytesIO(tarball.read_bytes())) as tar:
                model = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        log = (trial / "log.txt").read_text().replace(str(work), "WORK").replace(job, "JOB")
        log = log.replace(summary["execution_id"], "RUN")
        found.append({"objective": values.get(trial.name), "model": model, "log": log})
    return found


def outputs(work: Path, summary: dict) -> dict[str, str]:
    """Every text object the run wrote to the object store but the compile's artifacts, by key,
    with the work dir and the run id made neutral."""
    run = summary["execution_id"]
    found = {}
    for path in sorted((work / "s3").rglob("*")):
        key = str(path.relative_to(work / "s3"))
        if path.is_file() and path.suffix in TEXT and "/artifacts/" not in key:
            text = path.read_text(errors="replace").replace(str(work), "WORK").replace(run, "RUN")
            found[key.replace(run, "RUN")] = text
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    load_before = os.getloadavg()
    walls: dict[str, list[float]] = {"cold": [], "warm": []}
    cpus: dict[str, list[float]] = {"cold": [], "warm": []}
    steps: dict[str, dict[str, list[float]]] = {}
    same, count, outputs_count, parallel = True, 0, 0, 1
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            order = ("cold", "warm") if i % 2 == 0 else ("warm", "cold")
            seen, written = {}, {}
            for mode in order:
                work = Path(tmp) / f"{mode}{i}"
                wall, cpu, summary = one_run(work, cold=mode == "cold")
                walls[mode].append(wall)
                cpus[mode].append(cpu)
                for step in summary["steps"]:
                    times = steps.setdefault(step["name"], {"cold": [], "warm": []})
                    times[mode].append(step["seconds"] or 0.0)
                seen[mode] = trials(work, summary)
                written[mode] = outputs(work, summary)
                print(f"round {i + 1} {mode}: {wall:.1f} s, CPU {cpu:.1f} s", file=sys.stderr)
            count = len(seen["cold"])
            if seen["cold"] != seen["warm"]:
                same = False
                print(f"round {i + 1}: the cold and warm trials differ", file=sys.stderr)
            differ = sorted(k for k in written["cold"].keys() | written["warm"].keys()
                            if written["cold"].get(k) != written["warm"].get(k))  # fmt: skip
            if differ:
                same = False
                print(f"round {i + 1}: the cold and warm runs wrote different {differ}", file=sys.stderr)
            outputs_count = len(written["cold"])
        last = Path(tmp) / f"warm{rounds - 1}"
        run_dir = next((last / "runs").iterdir())
        parallel = int((run_dir / "logs" / "Tune.log").read_text().split(" at a time")[0].split()[-1])
        floor_run = subprocess.run([sys.executable, str(Path(__file__).with_name("tune_floor.py")),
                                    str(run_dir), str(parallel)], capture_output=True, text=True, check=True)  # fmt: skip
        floor = json.loads(floor_run.stdout)
    load_after = os.getloadavg()
    cold, warm = statistics.median(walls["cold"]), statistics.median(walls["warm"])
    cold_cpu, warm_cpu = statistics.median(cpus["cold"]), statistics.median(cpus["warm"])
    print(f"Warm trials and jobs — {date.today().isoformat()} — {machine()} — {rounds} rounds, medians")
    print(f"load average (1, 5, 15 min): before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}\n")  # fmt: skip
    print("| census run, `lgbm-pipeline run specs/census.yaml --local --first-run` | cold (baseline) | warm | warm / cold |")  # fmt: skip
    print("|---|---|---|---|")
    print(f"| end to end | {cold:.1f} s ({min(walls['cold']):.1f}–{max(walls['cold']):.1f}) | "
          f"{warm:.1f} s ({min(walls['warm']):.1f}–{max(walls['warm']):.1f}) | {warm / cold:.2f}× |")  # fmt: skip
    print(
        f"| CPU, every process of the run | {cold_cpu:.1f} s | {warm_cpu:.1f} s | {warm_cpu / cold_cpu:.2f}× |"
    )
    for name, times in steps.items():
        a, b = statistics.median(times["cold"]), statistics.median(times["warm"])
        if max(a, b) >= 0.5:
            what = f"{name} step ({count} trials)" if name == "Tune" else f"{name} step"
            print(f"| {what} | {a:.1f} s | {b:.1f} s | {b / a:.2f}× |")
    print(f"\nTune floor: the {floor['trials']} trials' train.py alone take {floor['cpu_seconds']:.1f} s of CPU "
          f"(rerun in one process that imported everything once, one OpenMP thread each, no tarball, no "
          f"store): at least {floor['floor_seconds']:.1f} s at {parallel} trials at a time (benchmarks/tune_floor.py)")  # fmt: skip
    print(f"\nsame trials, same results (hyperparameters, objective values, model files, logs; the "
          f"{outputs_count} text objects the run wrote) in every round: {'yes' if same else 'NO'}; "
          f"goal ≤ 30 s warm: {'met' if warm <= 30 else 'not met'}")  # fmt: skip
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
