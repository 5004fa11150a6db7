"""Command-line values that used to reach other work dirs (finding 12), parallel registrations
(finding 13), runs whose runner is gone or still running, the default work dir as a planted link,
and the exit-code table of `lgbm-pipeline` (0 ok, 1 failed, 2 bad input, 3 environment, 130
interrupted). None of these needs a pipeline run."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lgbm_pipeline_compiler import cli
from lgbm_pipeline_compiler.errors import EnvironmentFailure, RunStopped
from lgbm_pipeline_compiler.local.records import EXECUTING, Execution, RunStore, StepRecord, now
from lgbm_pipeline_compiler.local.registry import LocalRegistry

from .conftest import CENSUS, REPO

ACCOUNT, GROUP = "111122223333", "census-income-lgbm"
RUN_ID = "20260101T000000-0a1b2c"


def other_work_dir(base: Path) -> Path:
    """``base/other``: a work dir with a run (its record says Succeeded) and one pending package."""
    other = base / "other"
    execution = Execution(id=RUN_ID, pipeline_name="p", status="Succeeded", parameters={}, started=now())
    RunStore(other).save(execution)
    LocalRegistry(other, "us-east-1", ACCOUNT).register({"ModelPackageGroupName": GROUP})
    return other


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def two_work_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """``base/work`` (ours, with a run and a package of its own) and ``base/other``: from
    ``work/runs/``, ``../../other/runs/ID`` is the other's run."""
    other = other_work_dir(tmp_path)
    work = tmp_path / "work"
    ours = Execution(
        id="20260102T000000-ffffff", pipeline_name="p", status="Failed", parameters={}, started=now()
    )
    RunStore(work).save(ours)
    LocalRegistry(work, "us-east-1", ACCOUNT).register({"ModelPackageGroupName": GROUP})
    return work, other


def test_report_of_a_run_id_that_climbs_into_another_work_dir_is_refused(two_work_dirs, capsys):
    work, other = two_work_dirs
    before = files(other)
    value = f"../../other/runs/{RUN_ID}"
    assert cli.main(["report", value, "--work-dir", str(work)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"run id {value!r}: a '..' path component" in line and "`lgbm-pipeline runs`" in line
    assert files(other) == before  # no report written there
    assert [p.name for p in (work / "runs").iterdir()] == ["20260102T000000-ffffff"]


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/../../other/registry/{GROUP}/1",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/1/../../../../other/registry/{GROUP}/1",
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package/{GROUP}/../../../other/registry/{GROUP}/1",
    ],
)
def test_registry_approve_of_an_arn_that_climbs_is_refused(two_work_dirs, capsys, arn):
    work, other = two_work_dirs
    before_other, before_ours = files(other), files(work)
    assert cli.main(["registry", "approve", arn, "--work-dir", str(work)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"model package ARN {arn!r}: not a versioned model package ARN" in line
    assert "model-package/GROUP/VERSION" in line
    assert files(other) == before_other and files(work) == before_ours
    statuses = [p["ModelApprovalStatus"] for p in LocalRegistry(other).versions(GROUP)]
    assert statuses == ["PendingManualApproval"]


def test_resume_of_a_run_id_that_climbs_is_refused_before_anything_runs(two_work_dirs, capsys):
    work, other = two_work_dirs
    before = files(other)
    value = f"../../other/runs/{RUN_ID}"
    code = cli.main(["run", str(CENSUS), "--local", "--resume", value, "--work-dir", str(work)])
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and f"run id {value!r}: a '..' path component" in line
    assert files(other) == before  # its record untouched, no lock taken there
    assert not (work / "compiled").exists()  # refused before compiling


def test_the_default_work_dir_planted_as_a_symlink_is_refused(tmp_path, monkeypatch, capsys):
    elsewhere = other_work_dir(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / ".lgbm-pipeline").symlink_to(elsewhere)  # as a cloned repository could ship it
    monkeypatch.chdir(project)
    before = files(elsewhere)
    for argv in (["runs"], ["registry", "list"], ["report", RUN_ID]):
        assert cli.main(argv) == 2
        line = one_error_line(capsys.readouterr().err)
        assert "work dir '.lgbm-pipeline': the default work dir is a symlink" in line
        assert f"pass --work-dir {elsewhere}" in line
    assert files(elsewhere) == before
    assert cli.main(["runs", "--work-dir", str(elsewhere)]) == 0  # an explicit choice is the user's


# -- finding 13: registrations from parallel processes ---------------------------------------------

REGISTER = """
import json, os, sys, time
from lgbm_pipeline_compiler.local.registry import LocalRegistry
work, go = sys.argv[1], sys.argv[2]
registry = LocalRegistry(work, "us-east-1", "111122223333")
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
package = registry.register({"ModelPackageGroupName": "census-income-lgbm", "ModelApprovalStatus": "PendingManualApproval"})
print(package["ModelPackageVersion"], flush=True)
"""

READ = """
import json, os, sys, time
from lgbm_pipeline_compiler.local.registry import LocalRegistry
work, go, stop = sys.argv[1], sys.argv[2], sys.argv[3]
registry = LocalRegistry(work)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
reads = 0
while not os.path.exists(stop):
    versions = registry.versions("census-income-lgbm")  # each file must parse: written atomically
    assert [p["ModelPackageVersion"] for p in versions] == sorted({p["ModelPackageVersion"] for p in versions})
    reads += 1
print(reads, flush=True)
"""


def _python(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_eight_parallel_registering_processes_get_eight_distinct_versions(tmp_path):
    """Eight OS processes register at once (released together when all are ready) while a ninth
    reads the group in a loop: versions 1..8, each once, each file complete whenever read."""
    work, go, stop = tmp_path / "work", tmp_path / "go", tmp_path / "stop"
    writers = [_python(REGISTER, str(work), str(go)) for _ in range(8)]
    reader = _python(READ, str(work), str(go), str(stop))
    for proc in [*writers, reader]:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    go.touch()
    versions = []
    for proc in writers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        versions.append(int(out.strip()))
    stop.touch()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert int(out.strip()) > 0  # it did read while they wrote
    assert sorted(versions) == list(range(1, 9))
    registry = LocalRegistry(work)
    assert [p["ModelPackageVersion"] for p in registry.versions(GROUP)] == list(range(1, 9))
    assert sorted(p.name for p in (work / "registry" / GROUP).iterdir()) == sorted(
        [".lock", *(f"{v}.json" for v in range(1, 9))]
    )  # no temporary file left behind


# -- runs whose runner is gone, or still running ---------------------------------------------------

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(120)
"""


def executing_record(work: Path, pid: int) -> Path:
    execution = Execution(
        id=RUN_ID,
        pipeline_name="census-income-lgbm-dev",
        status=EXECUTING,
        parameters={},
        started=now(),
        steps={"Tune": StepRecord(name="Tune", type="Tuning", status=EXECUTING)},
        runner={"pid": pid, "host": "here"},
    )
    RunStore(work).save(execution)
    return RunStore(work).dir(RUN_ID) / "runner.lock"


def test_a_run_whose_runner_is_gone_reads_as_failed(tmp_path, capsys):
    lock = executing_record(tmp_path, 4242)
    lock.touch()  # the runner had it; nobody holds it now
    assert cli.main(["runs", "--work-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{RUN_ID}  census-income-lgbm-dev  Failed" in out and "failed: Tune" in out
    assert "the runner (pid 4242 on here) ended without recording an end" in out
    loaded = RunStore(tmp_path).load(RUN_ID)
    assert loaded.status == "Failed" and loaded.steps["Tune"].status == "Failed"


def test_a_run_whose_runner_holds_its_lock_stays_executing_and_cannot_be_resumed(tmp_path, capsys):
    lock = executing_record(tmp_path, 4242)
    holder = _python(HOLD, str(lock))
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert cli.main(["runs", "--work-dir", str(tmp_path)]) == 0
        assert f"{RUN_ID}  census-income-lgbm-dev  Executing" in capsys.readouterr().out
        with pytest.raises(
            ValueError, match=f"run {RUN_ID} is executing in another process .pid 4242 on here."
        ):
            RunStore(tmp_path).claim(RUN_ID, wait=0.2)
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 10
    while not RunStore(tmp_path).abandoned(RUN_ID) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert RunStore(tmp_path).load(RUN_ID).status == "Failed"  # its holder is gone (kill -9)
    RunStore(tmp_path).claim(RUN_ID, wait=0.2).release()


# -- the exit-code table ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "code", "shown"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/w/s3/x"), 3, "No space left on device"),
        (PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/w"), 3, "Permission denied"),
        (OSError(errno.EROFS, os.strerror(errno.EROFS), "/w"), 3, "Read-only file system"),
        (OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), "/w"), 3, "quota"),
        (EnvironmentFailure("run r failed: step Tune: [Errno 28] No space left on device"), 3, "Errno 28"),
        (FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), "spec.yaml"), 2, "No such file"),
        (ValueError("--param x: expected NAME=VALUE"), 2, "expected NAME=VALUE"),
        (LookupError("no endpoint"), 2, "no endpoint"),
        (RunStopped("run r stopped by SIGTERM; resume with --resume r"), 130, "stopped by SIGTERM"),
        (KeyboardInterrupt(), 130, None),
    ],
)
def test_exit_codes(monkeypatch, capsys, raised, code, shown):
    def command(args):
        raise raised

    monkeypatch.setattr(cli, "cmd_schema", command)
    assert cli.main(["schema"]) == code
    err = capsys.readouterr().err
    if shown is None:
        assert err == ""
    else:
        assert shown in one_error_line(err)


def test_exit_code_table_is_documented():
    doc = cli.__doc__
    for code, meaning in (
        (0, "ok"),
        (1, "failed"),
        (2, "bad input"),
        (3, "environment"),
        (130, "interrupted"),
    ):
        assert f"    {code:<4} " in doc and meaning in doc
    assert (
        cli.EXIT_OK,
        cli.EXIT_FAILURE,
        cli.EXIT_BAD_INPUT,
        cli.EXIT_ENVIRONMENT,
        cli.EXIT_INTERRUPTED,
    ) == (
        0,
        1,
        2,
        3,
        130,
    )
    assert json.dumps(doc)  # (a plain-text table)
