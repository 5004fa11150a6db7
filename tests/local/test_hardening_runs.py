"""Runs that meet a full disk (finding 9), a symlink planted in the object store (finding 5) or a
SIGTERM, each a private copy of the shared run without checks resumed from the step that differs
(conftest.fork): only that step and its dependents run."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local import paths
from lgbm_pipeline_compiler.local.records import RunStore
from lgbm_pipeline_compiler.local.store import ObjectStore

from .conftest import REPO, fork


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(f"{entry.name}: {cmdline}")
    return found


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith(("error:", "/"))]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def evaluation_uri(run) -> str:
    outputs = run.execution.steps["Evaluate"].properties["ProcessingOutputConfig"]["Outputs"]
    return outputs["evaluation"]["S3Output"]["S3Uri"]


def test_a_full_disk_during_a_run_exits_3_and_records_failed_with_the_reason(
    plain_run, tmp_path, monkeypatch, capsys
):
    """The object store's writes fail with ENOSPC (as on a full disk) when Evaluate uploads its
    report: exit 3 (not 2, bad input), the record says Failed with the OS error, logs kept."""
    work = fork(plain_run, tmp_path, rerun=("Evaluate",))
    run_id = plain_run.execution.id
    uploads = str(work / "tmp" / "upload.")
    real_write = paths._write

    def full_disk(fd: int, data) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(uploads):  # a job's outputs into the store
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(fd, data)

    monkeypatch.setattr(paths, "_write", full_disk)
    code = main(["run", str(plain_run.spec), "--local", "--resume", run_id, "--work-dir", str(work)])
    err = capsys.readouterr().err
    line = one_error_line(err)
    assert code == 3, err
    assert "step Evaluate: [Errno 28] No space left on device" in line
    assert "The machine stopped it, not the pipeline" in line and f"resume with --resume {run_id}" in line
    execution = RunStore(work).load(run_id)
    assert execution.status == "Failed" and "No space left on device" in execution.failure_reason
    steps = {name: step.status for name, step in execution.steps.items()}
    assert steps["Preprocess"] == steps["Tune"] == "Succeeded" and steps["Evaluate"] == "Failed"
    assert steps["F1Gate"] == "NotExecuted"
    log = (work / "runs" / run_id / "logs" / "Evaluate.log").read_text()
    commands = [line for line in log.splitlines() if line.startswith("$ ")]
    assert commands and "evaluate.py" in commands[0] and "FAILED: [Errno 28] No space left on device" in log
    assert not any((work / "tmp").iterdir())  # no half-written upload left behind
    monkeypatch.setattr(paths, "_write", real_write)
    assert main(["runs", "--work-dir", str(work)]) == 0
    assert f"{run_id}  census-income-lgbm-dev  Failed" in capsys.readouterr().out


def test_a_symlink_in_the_object_store_is_never_written_through(plain_run, tmp_path, capsys):
    """The prefix Evaluate uploads to is a link to a directory outside the work dir: the run stops
    with exit 2 naming the link, and the outside directory is untouched."""
    work = fork(plain_run, tmp_path, rerun=("Evaluate",))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine\n")
    uri = evaluation_uri(plain_run)
    prefix = ObjectStore(work).path(uri)
    for item in prefix.iterdir():
        item.unlink()
    prefix.rmdir()
    prefix.symlink_to(outside)
    run_id = plain_run.execution.id
    code = main(["run", str(plain_run.spec), "--local", "--resume", run_id, "--work-dir", str(work)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2
    assert f"step Evaluate: S3 URI '{uri}': {prefix} is a symlink (to {outside})" in line
    assert "never followed" in line and "remove the link" in line
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "mine\n"
    execution = RunStore(work).load(run_id)
    assert execution.status == "Failed" and execution.steps["Evaluate"].status == "Failed"
    assert "is a symlink" in execution.steps["Evaluate"].failure_reason


def test_sigterm_stops_the_run_records_stopped_and_kills_every_trial(plain_run, tmp_path):
    """SIGTERM while Tune's trials run: exit 130, the record says Stopped (Tune: Stopped), and no
    process of the run survives (the trials are killed with their process groups)."""
    work = fork(plain_run, tmp_path, rerun=("Tune",))
    run_id = plain_run.execution.id
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "lgbm_pipeline_compiler.cli", "run", str(plain_run.spec), "--local",
               "--resume", run_id, "--work-dir", str(work)]  # fmt: skip
    runner = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        trials = work / "runs" / run_id / "steps" / "Tune" / "trials"
        wait_until(
            lambda: any(trials.glob("*/log.txt")) and processes_mentioning(str(trials)), 300, "a trial"
        )
        runner.send_signal(signal.SIGTERM)
        out, err = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode == 130, err
    assert f"run {run_id} stopped by SIGTERM; resume with --resume {run_id}" in err.strip().splitlines()[-1]
    wait_until(lambda: not processes_mentioning(str(work)), 15, "the run's processes to end")
    execution = RunStore(work).load(run_id)
    assert execution.status == "Stopped" and execution.failure_reason == "stopped by SIGTERM"
    assert execution.steps["Tune"].status == "Stopped" and execution.steps["Preprocess"].status == "Succeeded"
    assert execution.steps["Evaluate"].status == "NotExecuted"
    assert RunStore(work).abandoned(run_id)  # its lock was released
