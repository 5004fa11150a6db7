"""`kill -9` of the runner during Tune, then `--resume`: the one end-to-end run of these tests.

The census pipeline (conftest's fast budget: FAST_TRIALS trials, two at a time; without the checks,
which run after Tune and so add nothing here) runs as the README runs it on a fresh clone,
`lgbm-pipeline run SPEC --local --work-dir W` (no --first-run: nothing to check), in a process of
its own. Once Tune has completed a trial and another is running, the runner gets SIGKILL:
no process of the run may survive it (the supervisors kill their groups), the run reads as Failed,
and `--resume RUN_ID` completes it with exactly one registered package version, reusing the trials
that completed and running again every trial that was cut short.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local.records import RunStore
from lgbm_pipeline_compiler.local.registry import LocalRegistry
from lgbm_pipeline_compiler.local.warm_jobs import POOL

from .conftest import FAST_TRIALS, checkout_env, fast_spec_text, no_clarify

pytestmark = pytest.mark.long_running  # (handed out early: tests/conftest.py)

GROUP = "census-income-lgbm"


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def warm_workers(folder: str, work: Path) -> list[str]:
    """The workers of the warm servers in ``folder`` (a warm pool's, which other runs may use too)
    working in ``work``: processes forked from a server, in the working dir of a job of ``work``."""
    servers = {line.split(":")[0] for line in processes_mentioning(folder) if "warm_server.py" in line}
    workers = []
    for pid in servers:
        try:
            children = (Path("/proc") / pid / "task" / pid / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                cwd = os.readlink(f"/proc/{child}/cwd")
            except OSError:
                continue
            if cwd.startswith(f"{work}/"):
                workers.append(f"{child} (of {pid}) in {cwd}")
    return workers


def trial_state(work: Path) -> tuple[set[str], set[str]]:
    """(completed, cut short): trial names with and without their result.json."""
    trials = [t for t in work.glob("runs/*/steps/Tune/trials/*") if t.is_dir()]
    done = {t.name for t in trials if (t / "result.json").is_file()}
    return done, {t.name for t in trials} - done


def test_kill_9_during_tune_then_resume_completes_with_one_version(tmp_path, capsys, warm_pool_env):
    spec = tmp_path / "census.yaml"
    spec.write_text(no_clarify(fast_spec_text()))
    work = tmp_path / "work"
    env = checkout_env(
        **warm_pool_env
    )  # (its trials: workers of the worker's warm servers, which outlive the runner)
    command = [sys.executable, "-m", "lgbm_pipeline_compiler.cli", "run", str(spec), "--local",
               "--work-dir", str(work)]  # fmt: skip
    with (tmp_path / "out.txt").open("w") as out, (tmp_path / "err.txt").open("w") as err:
        runner = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 600
        while True:  # until a trial has completed and another one runs
            done, running = trial_state(work)
            if done and any(processes_mentioning(f"/trials/{name}/") for name in running):
                break
            assert runner.poll() is None, (tmp_path / "err.txt").read_text()[-3000:]
            assert time.monotonic() < deadline, "Tune never had a completed and a running trial"
            time.sleep(0.05)
        runner.send_signal(signal.SIGKILL)
        runner.wait(30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    deadline = time.monotonic() + 15
    while processes_mentioning(str(work)) or warm_workers(warm_pool_env[POOL], work):
        left = processes_mentioning(str(work)) + warm_workers(warm_pool_env[POOL], work)
        assert time.monotonic() < deadline, left
        time.sleep(0.1)  # (an orphan survived: a job, or a trial's warm worker, which outlives its client)

    completed, cut_short = trial_state(work)
    assert completed and cut_short, (completed, cut_short)
    (run,) = RunStore(work).list()
    assert run.status == "Failed" and "ended without recording an end" in run.failure_reason
    assert run.steps["Tune"].status == "Failed" and run.steps["Evaluate"].status == "NotExecuted"
    assert "a server of the open warm pool" in Path(run.steps["Tune"].log).read_text()  # (its workers: above)

    code = main(["run", str(spec), "--local", "--resume", run.id, "--work-dir", str(work)])
    err = capsys.readouterr().err
    assert code == 0, err[-3000:]
    resumed = RunStore(work).load(run.id)
    assert resumed.status == "Succeeded" and resumed.steps["Preprocess"].cached
    versions = LocalRegistry(work).versions(GROUP)
    assert [v["ModelPackageVersion"] for v in versions] == [1]
    assert resumed.registered_model_package == versions[0]["ModelPackageArn"]
    summaries = resumed.steps["Tune"].properties["TrainingJobSummaries"]
    assert len(summaries) == FAST_TRIALS and {s["TrainingJobStatus"] for s in summaries} == {"Completed"}
    log = Path(resumed.steps["Tune"].log).read_text()
    reused = set(re.findall(r"^(\S+): Completed .*\(reused: completed in an earlier attempt\)$", log, re.M))
    assert reused == completed  # nothing that was cut short is reused
    assert not processes_mentioning(str(work))
