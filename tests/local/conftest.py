"""Fixtures for local runs: fast variants of the census spec and the full runs the tests here share.

A full local run takes from a quarter to half a minute on two cores, so three runs are made once
per session, and many tests assert on each: the fast census spec with either Clarify engine and
step caching on (`clarify_run`, `builtin_run`: the first runs of test_baseline_lifecycle.py, whose
later runs reuse their steps) and without checks (`plain_run`, test_cache.py's first run). They start together, each in its
own `lgbm-pipeline run` process: a run is mostly one step process at a time, so together they keep
both cores busy. A test that needs a run to differ from a shared one (a violated baseline, a
failing script, the gate's other branch) resumes a private copy of it (`fork`) with the change: it
pays only for the steps that differ, and the shared run stays as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..spec_edits import strip_section

REPO = Path(__file__).resolve().parents[2]
CENSUS = REPO / "specs" / "census.yaml"

FAST_TRIALS = 4
"""The fast spec's tuning budget (trials of ≤ 60 trees)."""
SMALL_TRIALS = 2
"""The budget of the shared runs whose tests assert nothing about tuning: one round of trials."""
FAST_TUNING = {
    "max_jobs: 20": f"max_jobs: {FAST_TRIALS}",
    "n_estimators: {type: integer, min: 10, max: 400}": "n_estimators: {type: integer, min: 40, max: 60}",
    "learning_rate: {type: continuous, min: 0.0001, max: 0.5, scaling: Logarithmic}": (
        "learning_rate: {type: continuous, min: 0.1, max: 0.5, scaling: Logarithmic}"
    ),
    "num_leaves: {type: integer, min: 2, max: 200}": "num_leaves: {type: integer, min: 16, max: 31}",
}
"""Replacements in census.yaml for the fast spec. Trials are sampled with a seed taken from the
Tune step's definition, which changes whenever a step script does, so the ranges are ones where
every trial reaches what the tests assert (validation F1 ≥ 0.72 and AUC ≥ 0.922 at each corner of
the ranges, against the gate's 0.68 and the issue's 0.70 / 0.92 on test), whatever is sampled."""


def replace_all(text: str, replacements: dict[str, str], what: str) -> str:
    """``text`` with each key replaced by its value; a key that is not in the text fails loudly."""
    for old, new in replacements.items():
        assert old in text, f"{what}: the text to replace is not there: {old!r}"
        text = text.replace(old, new)
    return text


def fast_spec_text(**replacements: str) -> str:
    """The census spec with the fast tuning budget, then ``replacements`` (each must match)."""
    text = replace_all(CENSUS.read_text(), FAST_TUNING, f"fast_spec_text: {CENSUS}")
    return replace_all(text, replacements, "fast_spec_text")


def small_tuning(text: str) -> str:
    """A fast spec text with SMALL_TRIALS trials."""
    return replace_all(text, {f"max_jobs: {FAST_TRIALS}": f"max_jobs: {SMALL_TRIALS}"}, "small_tuning")


def builtin_engine(text: str) -> str:
    """A spec text with `clarify.engine: builtin`."""
    return replace_all(text, {"\nclarify:\n": "\nclarify:\n  engine: builtin\n"}, "builtin_engine")


def with_cache(text: str) -> str:
    """A spec text with step caching on for every section (`cache: {enabled: true}`)."""
    assert "\ncache:" not in text, "with_cache: the spec has a cache section"
    return text + "\ncache:\n  enabled: true\n"


def no_clarify(text: str) -> str:
    """A spec text without checks: no clarify or data_quality section (nor the parameters that
    expose them), so it runs without --first-run."""
    assert "\nclarify:\n" in text, "no_clarify: the spec has no clarify section"
    text = strip_section(text, "clarify")
    return strip_section(text, "data_quality") if "\ndata_quality:\n" in text else text


def archive(files: dict[str, str | bytes]) -> bytes:
    """A code archive (sourcedir.tar.gz) holding ``files`` (name -> text or bytes)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, body in sorted(files.items()):
            data = body.encode() if isinstance(body, str) else body
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def checkout_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess that is to import this checkout's package: REPO first on
    PYTHONPATH, unless the interpreter imports the package from REPO anyway (an editable install of
    this checkout), so that its jobs have the import environment of this process's own runs and
    share its warm pool's servers (tests/conftest.py)."""
    import lgbm_pipeline_compiler

    env = {**os.environ, **extra}
    if Path(lgbm_pipeline_compiler.__file__).resolve().parents[1] != REPO:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return env


@pytest.fixture
def make_spec(tmp_path):
    def make(text: str, scripts: dict[str, str] | None = None) -> Path:
        folder = tmp_path / "spec"
        folder.mkdir(exist_ok=True)
        for name, body in (scripts or {}).items():
            (folder / name).write_text(body)
        path = folder / "census.yaml"
        path.write_text(text)
        return path

    return make


def bundled(name: str) -> str:
    return (REPO / "step_scripts" / name).read_text()


# -- the shared runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedRun:
    """A finished run that several tests read. Nothing may write under ``work``: `fork` it."""

    spec: Path
    work: Path
    execution: Any  # lgbm_pipeline_compiler.local.records.Execution, as the run recorded it
    returncode: int  # of the command that ran it
    stdout: str
    stderr: str
    project: Path  # the directory it ran from

    @property
    def spec_text(self) -> str:
        return self.spec.read_text()


@dataclass(frozen=True)
class _Launch:
    spec: Path
    work: Path
    project: Path
    process: subprocess.Popen

    def finish(self, timeout: float = 900) -> SharedRun:
        from lgbm_pipeline_compiler.local.records import RunStore

        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        out, err = (self.project / "stdout.txt").read_text(), (self.project / "stderr.txt").read_text()
        assert code == 0, f"{' '.join(self.process.args)}\n{out[-3000:]}{err[-3000:]}"
        runs = RunStore(self.work).list()
        assert len(runs) == 1, f"expected one run under {self.work}, found {[r.id for r in runs]}"
        return SharedRun(self.spec, self.work, runs[0], code, out, err, self.project)


SHARED_RUNS = {
    # name: (spec text, arguments after `run SPEC --local`, runs with the default work dir)
    "clarify_run": (
        lambda: with_cache(fast_spec_text()),
        ["--first-run", "--json", "--work-dir", "work"],
        False,
    ),
    "builtin_run": (
        lambda: with_cache(builtin_engine(small_tuning(fast_spec_text()))),
        ["--first-run"],
        True,
    ),
    "plain_run": (
        lambda: with_cache(no_clarify(small_tuning(fast_spec_text()))),
        ["--work-dir", "work"],
        False,
    ),
}


@pytest.fixture(scope="session")
def _launched(request, tmp_path_factory, warm_pool_env) -> dict[str, _Launch]:
    """Starts every shared run that a test of this session uses, all at once, each compiled
    beforehand into its work dir by this process (which imports the SageMaker SDK once for all of
    them): each `run` finds its definition up to date and compiles nothing, as a repeated run does."""
    from lgbm_pipeline_compiler.local.api import compile_into

    item = getattr(request, "_pyfuncitem", None)  # the test that asked first
    if item is not None and not set(item.fixturenames) & set(SHARED_RUNS):
        pytest.fail(
            f"{item.nodeid} asks for a shared run by name (request.getfixturevalue): take it as an "
            "argument, so that the test runs on the worker that has the shared runs (tests/conftest.py)"
        )
    needed = sorted({name for item in request.session.items for name in item.fixturenames} & set(SHARED_RUNS))
    launches: dict[str, _Launch] = {}
    env = checkout_env(**warm_pool_env)
    for name in needed:
        text, arguments, default_work_dir = SHARED_RUNS[name]
        project = tmp_path_factory.mktemp(name.replace("_", "-"))
        spec = project / "spec" / "census.yaml"
        spec.parent.mkdir()
        spec.write_text(text())
        work = project / (".lgbm-pipeline" if default_work_dir else "work")
        compile_into(spec, work)
        command = [sys.executable, "-m", "lgbm_pipeline_compiler.cli", "run", str(spec), "--local", *arguments]  # fmt: skip
        with (project / "stdout.txt").open("w") as out, (project / "stderr.txt").open("w") as err:
            process = subprocess.Popen(command, cwd=project, env=env, stdout=out, stderr=err)
        launches[name] = _Launch(spec, work, project, process)
    yield launches
    for launch in launches.values():  # a session cut short leaves no run behind
        if launch.process.poll() is None:
            launch.process.kill()
            launch.process.wait()


@pytest.fixture(scope="session")
def clarify_run(_launched) -> SharedRun:
    """The fast spec with the default Clarify engine (sagemaker-clarify), run as the README runs it
    on a fresh clone (`lgbm-pipeline run SPEC --local --first-run`), with --json and --work-dir (its
    compile done beforehand: the compile inside `run` is test_cache's and test_hardening_kill's)."""
    return _launched["clarify_run"].finish()


@pytest.fixture(scope="session")
def builtin_run(_launched) -> SharedRun:
    """The fast spec with `clarify.engine: builtin` and SMALL_TRIALS trials, run as `lgbm-pipeline
    run SPEC --local --first-run` from a project dir: the default work dir `.lgbm-pipeline/`."""
    return _launched["builtin_run"].finish()


@pytest.fixture(scope="session")
def plain_run(_launched) -> SharedRun:
    """The fast spec without checks, with SMALL_TRIALS trials and step caching on: the base of the
    variants that need no check (and so no report), and test_cache.py's first run."""
    return _launched["plain_run"].finish()


def fork(run: SharedRun, tmp_path: Path, rerun: tuple[str, ...] = ()) -> Path:
    """A private copy of a shared run's work dir, to resume (same run id) with other inputs.

    ``rerun`` names steps that the copy shows as a run shows the steps it has not reached yet,
    together with every step that depends on them: a not-run record, no step dir, no log. Resuming
    the copy runs them afresh and reuses the others, whose resolved inputs are unchanged.

    Resuming with other inputs alone would not do here: the runner's reuse check hashes a step's
    resolved Arguments only, so it reuses a ClarifyCheck step whose SkipCheck or supplied
    constraints changed; and a step that runs again does so in its previous step dir, with what
    that dir still holds (a second baseline file beside the new one, Tune's trial dirs).
    """
    from lgbm_pipeline_compiler.local.graph import build_graph
    from lgbm_pipeline_compiler.local.records import EXECUTING, NOT_EXECUTED, SKIPPED, RunStore, StepRecord

    work = tmp_path / "work"
    shutil.copytree(run.work, work)
    if not rerun:
        return work
    store = RunStore(work)
    execution = store.load(run.execution.id)
    run_dir = store.dir(execution.id)
    unknown = set(rerun) - set(execution.steps)
    assert not unknown, f"fork: no step {sorted(unknown)} in run {execution.id}"
    reset = set(rerun)
    for node in build_graph(json.loads((run_dir / "pipeline.json").read_text())):  # dependencies first
        if node.depends & reset:
            reset.add(node.name)
    for name in reset:
        step = execution.steps[name]
        if step.status not in (NOT_EXECUTED, SKIPPED):  # (the record's paths are the shared run's)
            step_dir, log = run_dir / "steps" / name, run_dir / "logs" / f"{name}.log"
            assert step_dir.is_dir() and log.is_file(), f"fork: no step dir or log of {name} in {run_dir}"
            shutil.rmtree(step_dir)
            log.unlink()
        execution.steps[name] = StepRecord(name=name, type=step.type)
    shutil.rmtree(run_dir / "report", ignore_errors=True)
    execution.status, execution.ended = EXECUTING, None
    execution.failure_reason = execution.report = None
    if any(execution.steps[name].type == "RegisterModel" for name in reset):
        execution.registered_model_package = None
    store.save(execution)
    return work


@pytest.fixture(scope="session")
def approved_run(tmp_path_factory, clarify_run) -> SharedRun:
    """A copy of `clarify_run` after `lgbm-pipeline registry approve` of the package it registered,
    which runs the deployment its deploy step left pending (the package awaited approval)."""
    from lgbm_pipeline_compiler.cli import main
    from lgbm_pipeline_compiler.local.records import RunStore

    folder = tmp_path_factory.mktemp("approved-run")
    work = fork(clarify_run, folder)
    out, err = io.StringIO(), io.StringIO()
    arn = clarify_run.execution.registered_model_package
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["registry", "approve", arn, "--work-dir", str(work)])
    assert code == 0, out.getvalue() + err.getvalue()
    execution = RunStore(work).load(clarify_run.execution.id)
    return SharedRun(clarify_run.spec, work, execution, code, out.getvalue(), err.getvalue(), folder)


def job_context(work_dir: Path, step: dict[str, Any], **fields: Any) -> Any:
    """A StepContext for running one executor on its own, as the runner builds it for run ``r1``:
    the step's dir under ``work_dir``, the work dir's object store, a string log; ``registry=True``
    adds the work dir's local registry; other ``fields`` override (cores, jobs, resolve, ...)."""
    from lgbm_pipeline_compiler.local.context import StepContext
    from lgbm_pipeline_compiler.local.registry import LocalRegistry
    from lgbm_pipeline_compiler.local.store import ObjectStore

    if fields.pop("registry", False):
        fields["services"] = {"registry": LocalRegistry(work_dir, "us-east-1", "111122223333")}
    defaults = {
        "resolve": lambda value: value,
        "store": ObjectStore(work_dir),
        "work": work_dir / "runs" / "r1" / "steps" / step["Name"],
        "log": io.StringIO(),
        "execution_id": "r1",
        "work_dir": work_dir,
        "cores": 2,
        "region": "us-east-1",
        "account": "111122223333",
    }
    return StepContext(step=step, **{**defaults, **fields})
