"""Warm trial workers end with their run, as cold trials do: when the run stops its jobs (a failed or
interrupted run: Jobs.stop) and when its runner is killed with SIGKILL; and each worker leads a
process group of its own, apart from the server's and from its client's (the supervised job)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from lgbm_pipeline_compiler.local.context import StepFailed
from lgbm_pipeline_compiler.local.executors import tuning
from lgbm_pipeline_compiler.local.processes import Jobs

from .conftest import REPO
from .test_warm_trials import archive, prepare, tune_step

SLEEPER = "import os, time\nimport numpy\nprint(os.getpid(), flush=True)\ntime.sleep(300)\n"
"""A trial that runs until it is killed (numpy: the server preloads it, so trials run warm)."""
RUNNER = """
import io, json, sys
from pathlib import Path
from lgbm_pipeline_compiler.local.context import StepContext
from lgbm_pipeline_compiler.local.executors import tuning
from lgbm_pipeline_compiler.local.processes import Jobs
from lgbm_pipeline_compiler.local.store import ObjectStore
work_dir = Path(sys.argv[1])
ctx = StepContext(step=json.loads(sys.argv[2]), resolve=lambda v: v, store=ObjectStore(work_dir),
                  work=work_dir / "runs" / "r1" / "steps" / "Tune", log=io.StringIO(), execution_id="r1",
                  work_dir=work_dir, cores=2, region="us-east-1", account="111122223333", jobs=Jobs())
tuning.run(ctx)
"""
"""A runner: the Tune step in a process of its own, with the run's Jobs."""


def processes() -> list[dict]:
    """Every live (not zombie) process: pid, ppid, pgid and command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            found.append(
                {"pid": int(entry.name), "ppid": int(fields[1]), "pgid": int(fields[2]), "cmd": cmdline}
            )
    return found


def warm_tree(work: Path) -> tuple[dict, list[dict], list[dict]]:
    """(the server, its workers, the trials' clients) of the Tune step running in ``work``: the
    server is the supervised job running warm_server.py, its workers its children (forked, so with
    its command line), the clients the supervised jobs running warm_client.py."""
    live = [p for p in processes() if str(work) in p["cmd"]]
    supervisors = {p["pid"] for p in live if "supervisor.py" in p["cmd"]}
    server = next((p for p in live if "warm_server.py" in p["cmd"] and p["ppid"] in supervisors), {})
    workers = [p for p in live if server and p["ppid"] == server["pid"]]
    clients = [p for p in live if "warm_client.py" in p["cmd"] and p["ppid"] in supervisors]
    return server, workers, clients


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def two_running_workers(work: Path, proc: subprocess.Popen | None = None) -> tuple[dict, list, list]:
    def ready() -> bool:
        assert proc is None or proc.poll() is None, "the runner ended before its trials ran"
        _, workers, clients = warm_tree(work)
        return len(workers) == 2 and len(clients) == 2

    assert wait_for(ready, 300), warm_tree(work)
    return warm_tree(work)


def assert_own_groups(server: dict, workers: list[dict], clients: list[dict]) -> None:
    client_groups = {c["pgid"] for c in clients}
    for worker in workers:
        assert worker["pgid"] == worker["pid"]  # leads a group of its own
        assert worker["pgid"] != server["pgid"] and worker["pgid"] not in client_groups
    assert len(client_groups) == 2 and server["pgid"] not in client_groups  # each job its own group


def test_a_stopped_run_kills_its_warm_workers(tmp_path, no_warm_pool):
    work = tmp_path / "work"
    jobs = Jobs()
    step = tune_step({"seed": ["1", "2"]}, {}, ("train",))
    ctx = prepare(work, archive({"train.py": SLEEPER}), step, jobs)
    outcome: list[BaseException] = []

    def tune() -> None:
        try:
            tuning.run(ctx)
        except BaseException as err:  # noqa: BLE001 - the test reads it
            outcome.append(err)

    thread = threading.Thread(target=tune)
    thread.start()
    try:
        server, workers, clients = two_running_workers(work)
        assert_own_groups(server, workers, clients)
        jobs.stop(grace=2)
        thread.join(60)
        assert not thread.is_alive()
        assert wait_for(lambda: not [p for p in processes() if str(work) in p["cmd"]], 10), warm_tree(work)
    finally:
        jobs.close()
        thread.join(60)
    (error,) = outcome
    assert isinstance(error, StepFailed) and "all 2 training jobs failed" in str(error)
    assert "train.py exited with -15" in str(error)  # as a stopped cold trial: SIGTERM
    assert "trials run in workers forked" in ctx.log.getvalue()


def test_warm_workers_die_with_a_runner_killed_with_sigkill(tmp_path):
    work = tmp_path / "work"
    step = tune_step({"seed": ["1", "2"]}, {}, ("train",))
    prepare(work, archive({"train.py": SLEEPER}), step)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.pop("LGBM_PIPELINE_COLD_TRIALS", None)
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, str(work), json.dumps(step)], env=env)
    try:
        server, workers, clients = two_running_workers(work, runner)
        assert_own_groups(server, workers, clients)
        runner.kill()
        runner.wait(30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    gone = wait_for(lambda: not [p for p in processes() if str(work) in p["cmd"]], 15)
    assert gone, [p["cmd"][:200] for p in processes() if str(work) in p["cmd"]]  # an orphan survived
    assert not {w["pid"] for w in workers} & {p["pid"] for p in processes()}


def test_a_closed_server_ends_alone_and_a_client_without_server_runs_its_trial_cold(tmp_path, monkeypatch):
    """close() ends the server alone (SIGTERM), so its supervisor reaps it, with its workers' CPU
    time, and ends the same way (not the group's SIGKILL); then a client finds no server: nothing
    has started, and it execs ``python SCRIPT ARGS``, so the trial still runs."""
    from lgbm_pipeline_compiler.local import warm

    monkeypatch.delenv(warm.COLD_TRIALS, raising=False)
    jobs = Jobs()
    script = "import sys\nprint('numpy' in sys.modules, sys.argv[1:])\nimport numpy\n"
    ctx = prepare(tmp_path / "work", archive({"train.py": script}), tune_step({}, {}, ()), jobs)
    code = ctx.work / "code"
    code.mkdir(parents=True)
    (code / "train.py").write_text(script)
    server, note = warm.start(ctx, archive({"train.py": script}), "train.py", dict(os.environ))
    try:
        assert server is not None, note
        command = [sys.executable, str(code / "train.py"), "--x", "1"]
        client = server.command(command)
        assert jobs.run(client, cwd=code) == (0, "True ['--x', '1']\n")
        assert server.close() == ""
        assert server.proc.returncode == -signal.SIGTERM
        assert jobs.run(client, cwd=code) == (0, "False ['--x', '1']\n")
        assert jobs.live() == []
    finally:
        server and server.close()
        jobs.close()
