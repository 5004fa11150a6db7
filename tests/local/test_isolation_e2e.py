"""Network isolation end to end (issue 16): the census pipeline with network isolation on every job
and bundled dependencies runs locally; the same pipeline installing from PyPI fails at the first job
that installs, naming `dependencies: bundled`. Also: an isolated job's process has no network."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local.processes import NO_PROXY_ENV, Jobs, namespace_available, wrap
from lgbm_pipeline_compiler.local.records import FAILED, SUCCEEDED, RunStore

from ..test_compile_production import make_wheel
from .conftest import builtin_engine, fast_spec_text, job_context, replace_all, small_tuning

pytestmark = pytest.mark.long_running  # (handed out early: tests/conftest.py)

BASELINE = "s3://lgbm-pipelines-111122223333/census-income/dev/baselines/none.json"
ISOLATED_BUNDLED = "\nnetwork:\n  enable_network_isolation: true\n\ndependencies: bundled\n"


def census_text(tail: str) -> str:
    """The fast census spec, builtin checks against a supplied (empty) baseline, then ``tail``."""
    text = builtin_engine(small_tuning(fast_spec_text()))
    supplied = f"\n    baseline: {{supplied_constraints: {BASELINE}}}"
    text = replace_all(
        text,
        {
            "    methods: [DPPL, DI]": "    methods: [DPPL, DI]" + supplied,
            "      save_local_shap_values: false": "      save_local_shap_values: false" + supplied,
        },
        "census_text",
    )
    return text + tail


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "none.json").write_text("{}\n")
    return folder


def test_census_isolated_everywhere_with_bundled_wheels_runs(project, tmp_path):
    from lgbm_pipeline_compiler.wheels import write_lock

    spec = project / "census.yaml"
    spec.write_text(census_text(ISOLATED_BUNDLED))
    links = make_wheel(tmp_path / "links", "lightgbm", "4.6.0", "py3-none-manylinux_2_28_x86_64").parent
    write_lock(spec, no_index=True, find_links=[str(links)])
    work = tmp_path / "work"
    code, out, err = cli(
        "run", str(spec), "--local", "--first-run", "--work-dir", str(work), "--data", f"{BASELINE}={project / 'none.json'}"
    )  # fmt: skip
    assert code == 0, out[-3000:] + err[-3000:]
    execution = RunStore(work).list()[0]
    assert execution.status == SUCCEEDED
    logs = {name: Path(r.log).read_text() for name, r in execution.steps.items() if r.log}
    offline = "with no network (network isolation)"
    for step in ("Tune", "Evaluate", "ModelBiasCheck", "ModelExplainabilityCheck", "BatchTransform"):
        assert "install check: " in logs[step] and offline in logs[step], step
        assert "Would install lightgbm-4.6.0" in logs[step], step
    assert "for CPython 3.9 (manylinux_2_31_x86_64)" in logs["Tune"]
    assert "/opt/ml/model/code/requirements.txt" in logs["BatchTransform"]  # the served model's wheels
    trial_logs = list((RunStore(work).dir(execution.id) / "steps" / "Tune" / "trials").glob("*/log.txt"))
    assert trial_logs
    if namespace_available():  # every job process ran in a network namespace of its own
        for text in [logs["Preprocess"], logs["Evaluate"], *(p.read_text() for p in trial_logs)]:
            assert "$ unshare -rn -- " in text
    # warm all the same: each worker entered its client's namespaces (test_an_isolated_job_has_no_network)
    for step in ("Preprocess", "Evaluate", "ModelBiasCheck", "ModelExplainabilityCheck"):
        assert "note: the job runs in a worker forked from " in logs[step], step
    assert "trials run in workers forked from one process" in logs["Tune"]


def test_the_same_census_installing_from_pypi_fails_at_the_first_install(project, tmp_path):
    from lgbm_pipeline_compiler.local.api import run_compiled
    from lgbm_pipeline_compiler.local.runner import RunOptions

    # The spec refuses isolation with `dependencies: pypi`, so isolate a compiled definition, as
    # any tool's definition could be.
    spec = project / "census.yaml"
    spec.write_text(census_text(""))
    out_dir = tmp_path / "compiled"
    assert cli("compile", str(spec), "-o", str(out_dir))[0] == 0
    definition = json.loads((out_dir / "pipeline.json").read_text())

    def isolate(steps):
        for step in steps:
            args = step.get("Arguments", {})
            if step["Type"] == "Processing":
                args["NetworkConfig"] = {"EnableNetworkIsolation": True}
            elif step["Type"] == "Tuning":
                args["TrainingJobDefinition"]["EnableNetworkIsolation"] = True
            elif step["Type"] == "Model":
                args["EnableNetworkIsolation"] = True
            isolate(args.get("IfSteps", []))

    isolate(definition["Steps"])
    (out_dir / "pipeline.json").write_text(json.dumps(definition))
    options = RunOptions(
        work_dir=tmp_path / "work", first_run=True, data={BASELINE: str(project / "none.json")}
    )
    execution = run_compiled(out_dir, options, "census-income-lgbm-dev")
    assert execution.status == FAILED
    steps = execution.steps
    assert steps["Preprocess"].status == SUCCEEDED  # isolated too, but installs nothing
    assert steps["Tune"].status == FAILED
    reason = steps["Tune"].failure_reason
    assert "/opt/ml/code/requirements.txt from PyPI" in reason and "network isolation" in reason
    assert "set `dependencies: bundled`" in reason and "lgbm-pipeline wheels SPEC" in reason
    assert f"step Tune failed: {reason}" == execution.failure_reason


@pytest.fixture
def loopback_server():
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.close()


CONNECT = """import os, socket, sys
import numpy
print("uid", os.getuid(), flush=True)
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
print("connected")
"""


@pytest.mark.skipif(not namespace_available(), reason="this kernel gives no unprivileged network namespace")
@pytest.mark.parametrize("warm", [False, True], ids=["fresh-process", "warm-worker"])
def test_an_isolated_job_has_no_network(tmp_path, loopback_server, warm, no_warm_pool):
    """In a fresh process (`unshare -rn`) as in a worker of the run's warm server (which enters its
    client's namespaces): root of a user namespace of its own, and no network."""
    import sys

    from lgbm_pipeline_compiler.local.context import StepFailed
    from lgbm_pipeline_compiler.local.warm_jobs import SERVICE, WarmJobs, run_script_job

    script = tmp_path / "connect.py"
    script.write_text(CONNECT)
    service = WarmJobs(Jobs(), tmp_path / "server", cores=1) if warm else None

    def run(isolated: bool) -> tuple[str, str]:
        services = {SERVICE: service} if service else {}
        ctx = job_context(
            tmp_path, {"Name": "Job"}, work=tmp_path, cores=1, isolated=isolated, services=services
        )
        log = ctx.log
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        try:
            return run_script_job(
                ctx, [sys.executable, str(script), str(loopback_server)], env
            ), log.getvalue()
        except StepFailed as err:
            return f"failed: {err}", log.getvalue()

    try:
        out, log = run(False)
        assert "connected" in out and f"uid {os.getuid()}" in out
        out, log = run(True)
    finally:
        if service is not None:
            service.close()
    assert out.startswith("failed: ") and "Network is unreachable" in out and "uid 0" in out
    assert f"$ unshare -rn -- {sys.executable} {script} " in log
    assert ("forked from the run's warm server" in log) is warm, log


def test_without_namespaces_isolation_points_every_proxy_at_a_closed_port(monkeypatch):
    from lgbm_pipeline_compiler.local import processes

    monkeypatch.setattr(processes, "namespace_available", lambda: False)
    command, env = processes.wrap(["python3", "job.py"], {"PATH": "/bin"})
    assert command == ["python3", "job.py"]
    assert env == {"PATH": "/bin", **NO_PROXY_ENV} and env["HTTPS_PROXY"] == "http://127.0.0.1:9"
    assert wrap is processes.wrap


def test_a_check_steps_isolation_is_its_processing_jobs(tmp_path):
    """ClarifyCheck and QualityCheck steps run processing jobs: NetworkConfig.EnableNetworkIsolation."""
    from lgbm_pipeline_compiler.local.isolation import declared

    isolated = {
        "NetworkConfig": {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": False}
    }
    networked = {"NetworkConfig": {"EnableNetworkIsolation": False}}
    for kind in ("Processing", "ClarifyCheck", "QualityCheck"):
        assert declared(kind, isolated, tmp_path) is True, kind
        assert declared(kind, networked, tmp_path) is False, kind
        assert declared(kind, {}, tmp_path) is False, kind
    assert declared("Condition", isolated, tmp_path) is False
