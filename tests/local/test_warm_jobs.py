"""Warm script jobs (local/warm_jobs.py): a job run in a worker of the run's warm server prints,
exits and fails exactly as the same job in a fresh process, with the job's PYTHONPATH after its
script's dir; and each reason to run cold is honoured and said in the step log."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.local import warm, warm_jobs
from lgbm_pipeline_compiler.local.context import StepContext, StepFailed
from lgbm_pipeline_compiler.local.processes import Jobs

from .conftest import job_context

PROBE = """
import os, sys
import numpy
print("path:", sys.path[:3])
import helper
print("helper:", helper.__file__, "argv:", sys.argv[1:], "cwd:", os.getcwd())
print("env:", os.environ.get("JOB_SETTING"), "omp:", os.environ.get("OMP_NUM_THREADS"))
if sys.argv[1] == "fail":
    raise ValueError("boom")
if sys.argv[1] == "exit":
    sys.exit(3)
"""


@pytest.fixture(scope="module")
def warm_run(tmp_path_factory):
    """A job dir with the probe script and a lib dir (the job's PYTHONPATH), and a WarmJobs."""
    root = tmp_path_factory.mktemp("warm-jobs")
    (root / "code").mkdir()
    (root / "code" / "probe.py").write_text(PROBE)
    (root / "lib").mkdir()
    (root / "lib" / "helper.py").write_text("VALUE = 1\n")
    jobs = Jobs()
    with pytest.MonkeyPatch.context() as patch:  # a run's own server (tests/conftest.py: _warm_pool)
        patch.setattr(warm_jobs, "_pool", None)
        service = warm_jobs.WarmJobs(jobs, root / "server", cores=2)
    yield root, service
    service.close()
    jobs.close()


def context(
    root: Path, service: warm_jobs.WarmJobs | None, isolated: bool = False, jobs: Jobs | None = None
) -> StepContext:
    services = {warm_jobs.SERVICE: service} if service else {}
    return job_context(root, {"Name": "Job"}, work=root, services=services, isolated=isolated, jobs=jobs)


def run(root: Path, service, mode: str, jobs: Jobs | None = None, **env: str) -> tuple[str, str]:
    """(the job's output or its failure, the step log)."""
    ctx = context(root, service, jobs=jobs)
    job_env = {
        **os.environ,
        "OMP_NUM_THREADS": "2",
        "PYTHONPATH": str(root / "lib"),
        "JOB_SETTING": "x",
        **env,
    }
    command = [sys.executable, str(root / "code" / "probe.py"), mode]
    try:
        out = warm_jobs.run_script_job(ctx, command, job_env, cwd=root / "code")
    except StepFailed as err:
        out = f"failed: {err}"
    return out, ctx.log.getvalue()


@pytest.mark.parametrize("mode", ["ok", "fail", "exit"])
def test_a_warm_job_prints_and_fails_as_a_fresh_process(warm_run, mode):
    root, service = warm_run
    warm_out, warm_log = run(root, service, mode)
    cold_out, cold_log = run(root, None, mode)
    assert "runs in a worker forked from the run's warm server" in warm_log
    assert warm_out == cold_out
    assert f"path: ['{root / 'code'}', '{root / 'lib'}'" in warm_out
    assert f"helper: {root / 'lib' / 'helper.py'}" in warm_out
    # the log shows the cold command, as SageMaker runs it
    assert warm_log.splitlines()[1] == cold_log.splitlines()[0]
    if mode == "fail":
        assert "ValueError: boom" in warm_out and "probe.py exited with 1" in warm_out
    if mode == "exit":
        assert "probe.py exited with 3" in warm_out


def test_each_reason_to_run_cold_is_honoured_and_logged(warm_run, tmp_path, monkeypatch):
    root, service = warm_run
    _, log = run(root, service, "ok", OMP_NUM_THREADS="1")
    assert "fresh process (its environment sets OMP_NUM_THREADS unlike the warm server's)" in log
    own = tmp_path / "site"
    (own / "numpy").mkdir(parents=True)
    _, log = run(root, service, "ok", PYTHONPATH=f"{root / 'lib'}:{own}")
    assert f"fresh process ({own} has its own numpy)" in log
    shadow = tmp_path / "shadow"  # a script dir with its own json.py: pandas imported the stdlib's
    shutil.copytree(root / "code", shadow)
    (shadow / "json.py").write_text("print('the job dir json')\n")
    (shadow / "probe.py").write_text("import json\n" + (root / "code" / "probe.py").read_text())
    command = [sys.executable, str(shadow / "probe.py"), "ok"]
    job_env = {**service.env, "PYTHONPATH": str(root / "lib")}
    shadowed = context(root, service)
    out = warm_jobs.run_script_job(shadowed, command, job_env, cwd=shadow)
    assert f"fresh process ({shadow} has its own json)" in shadowed.log.getvalue()
    assert out.startswith("the job dir json\n") and out == warm_jobs.run_script_job(
        context(root, None), command, job_env, cwd=shadow
    )
    ctx = context(root, service, isolated=True)  # (warm too: test_isolation_e2e.py)
    assert service.why_cold(ctx, {**service.env}) is None
    monkeypatch.setenv(warm_jobs.COLD_JOBS, "1")
    forced = warm_jobs.WarmJobs(Jobs(), tmp_path / "forced", cores=2)
    out, log = run(root, forced, "ok")
    assert f"fresh process ({warm_jobs.COLD_JOBS} is set)" in log and "helper:" in out
    assert not (tmp_path / "forced").exists()  # no server was started


def test_what_importing_scikit_learn_sets_is_alike_unset_or_set_to_its_value():
    """scikit-learn's import sets KMP_DUPLICATE_LIB_OK and KMP_INIT_AT_FORK where unset: a process that
    imported it after its server started keeps its jobs warm; another value still runs cold."""
    from lgbm_pipeline_compiler.local.warm_jobs import PRELOAD_DEFAULTS, env_reason

    assert env_reason(dict(PRELOAD_DEFAULTS), {}) is None
    assert env_reason({}, dict(PRELOAD_DEFAULTS)) is None
    reason = env_reason({"KMP_DUPLICATE_LIB_OK": "FALSE"}, {})
    assert reason == "its environment sets KMP_DUPLICATE_LIB_OK unlike the warm server's"


SLEEPER = """
import os, sys, time
import numpy
open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
"""


def test_runs_in_a_warm_pool_share_one_server_and_each_job_still_dies_with_its_run(
    warm_run, tmp_path, no_warm_pool
):
    """Two runs (each a WarmJobs over Jobs of its own) in one warm_pool: one server, whose workers
    print as fresh processes do; a run that stops kills its job's worker and leaves the server to
    the other run; the server ends with the pool."""
    import threading
    import time

    root, _ = warm_run
    with warm_jobs.warm_pool() as pool:
        first_jobs, second_jobs = Jobs(), Jobs()
        first = warm_jobs.WarmJobs(first_jobs, tmp_path / "first", cores=2)
        second = warm_jobs.WarmJobs(second_jobs, tmp_path / "second", cores=2)
        out, log = run(root, first, "ok", jobs=first_jobs)
        assert "forked from a warm server of this process's warm_pool" in log
        assert out == run(root, None, "ok")[0]
        owned = pool.server(first.env)[0]  # (the pool's; each run holds it as Borrowed)
        assert owned is not None and first.server()[0] == second.server()[0] == warm.Borrowed(owned.folder)
        assert not (tmp_path / "first").exists() and not (tmp_path / "second").exists()

        (root / "code" / "sleeper.py").write_text(SLEEPER)
        pid_file = tmp_path / "worker.pid"
        command = [sys.executable, str(root / "code" / "sleeper.py"), str(pid_file)]
        ctx = context(root, second, jobs=second_jobs)
        outcome: list[BaseException] = []

        def job() -> None:
            try:
                warm_jobs.run_script_job(ctx, command, {**second.env}, cwd=root / "code")
            except BaseException as err:  # noqa: BLE001 (the stopped job's failure, asserted below)
                outcome.append(err)

        thread = threading.Thread(target=job)
        thread.start()
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        second_jobs.close()  # the second run stops
        thread.join(30)
        assert not thread.is_alive() and isinstance(outcome[0], StepFailed)
        while time.monotonic() < deadline:  # the server reaps the killed worker
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the worker {worker} of the stopped run still runs")
        first.close()
        assert owned.proc.poll() is None  # the pool's server outlives its runs
        assert run(root, warm_jobs.WarmJobs(Jobs(), tmp_path / "third", cores=2), "ok")[0] == out
        first_jobs.close()
    assert owned.proc.wait(10) is not None  # the pool closed: its server ended


CHILD = """
import sys
from pathlib import Path
from lgbm_pipeline_compiler.local import warm_jobs
from lgbm_pipeline_compiler.local.processes import Jobs

server, reason = warm_jobs.WarmJobs(Jobs(), Path(sys.argv[1]), cores=2).server()
print(type(server).__name__, getattr(server, "folder", None), reason)
"""


def test_a_process_started_with_the_pools_environment_asks_it_for_its_servers(tmp_path, no_warm_pool):
    """A run in another process (``lgbm-pipeline run`` from a sweep) with WarmPool.environ() in its
    environment gets the pool's server for its import environment instead of starting its own;
    once the pool is closed, it is told why and would start its own."""
    import subprocess

    with warm_jobs.warm_pool() as pool:
        env = {**os.environ, **pool.environ()}
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp_path / "own")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert child.returncode == 0, child.stderr
        served = pool.server({**env, "OMP_NUM_THREADS": "2"})[0]
        assert child.stdout.split() == ["Borrowed", str(served.folder)] and pool._started == 1
        assert not (tmp_path / "own").exists()
        folder = env[warm_jobs.POOL]
    server, reason = warm_jobs._ask(folder, env)
    assert server is None and reason.startswith(f"the warm pool {warm_jobs.POOL}={folder} does not answer (")
