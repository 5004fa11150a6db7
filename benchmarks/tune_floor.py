"""The floor of a finished run's Tune step: every trial's train.py run again in one process that
imported everything once (no process, no import, no tarball, no store), one OpenMP thread each, as
the trials have; its CPU time divided by the trials run at a time is the least the step can take.

Usage (bench_warm_trials.py runs it):  python benchmarks/tune_floor.py RUN_DIR PARALLEL
Prints one JSON object: {"trials": N, "cpu_seconds": S, "floor_seconds": S / PARALLEL}.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"  # before LightGBM loads OpenMP: a trial's share of 2 cores
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "step_scripts"))
import train  # noqa: E402


def main(run_dir: Path, parallel: int) -> dict:
    tune = run_dir / "steps" / "Tune"
    channels = tune / "input" / "data"
    total, count = 0.0, 0
    with tempfile.TemporaryDirectory() as scratch:
        for trial in sorted((tune / "trials").iterdir()):
            result = json.loads((trial / "result.json").read_text())["Summary"]
            log = (trial / "log.txt").read_text().splitlines()
            command = next(line for line in log if line.startswith("$ "))
            static = command.split(".py ", 1)[1].split()  # the trial's own flags, as it ran
            argv = ["--train", str(channels / "train"), "--validation", str(channels / "validation"),
                    "--model-dir", scratch, "--output-data-dir", scratch, *static]  # fmt: skip
            start = time.process_time()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                train.main(argv)
            total += time.process_time() - start
            count += 1
            assert result["TrainingJobStatus"] == "Completed", trial
    return {"trials": count, "cpu_seconds": round(total, 1), "floor_seconds": round(total / parallel, 1)}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]))))
