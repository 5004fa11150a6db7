"""Shared fixtures: repository paths, the census spec compiled once per session, and the Adult data
preprocessed and a model trained on it once per session (the step scripts in container layouts)."""

from __future__ import annotations

import gzip
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

# pytest runs with --import-mode=importlib, which leaves sys.path alone: make the plain helper
# module beside this file (step_jobs) importable by the suites' helpers and tests.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from step_jobs import ADULT_COLUMNS, ADULT_PREPROCESSING, install_code, run_script, train_job  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """The suite writes bytecode (into this checkout's ``__pycache__`` dirs, which git ignores) even
    where PYTHONDONTWRITEBYTECODE is set, as Python does by default: the suite starts about a hundred
    Python processes (workers, local runs, jobs, CLI commands), and without it each one compiles the
    package from source again, about 50 s of CPU in all on 2 cores. Set before xdist starts its
    workers, so they and every process they start inherit it."""
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        sys.dont_write_bytecode = False
    config.addinivalue_line(
        "markers", "long_running: a module of long tests, handed out to the workers early (_FIRST)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """One full garbage collection at the end of a process's session (finalizers run, and what they
    raise still reaches pytest's unraisable-exception check), then what survives is frozen: pytest
    then collects five more times over a worker's few million objects, seconds of CPU at the tail of
    the suite that would find nothing the first collection did not."""
    import gc

    gc.collect()
    gc.freeze()


CENSUS_SPEC = REPO / "specs" / "census.yaml"
CENSUS_JSON = REPO / "specs" / "census.json"


def adult_csv_from_bundled(target: Path) -> Path:
    """census-income.csv as ../shared/data describes it, built from the bundled examples/data files:
    adult.data then adult.test, a header of the column names, ', ' separators as ',', the test
    file's comment line and label dots removed."""
    lines = [",".join(ADULT_COLUMNS)]
    for name in ("adult.data.gz", "adult.test.gz"):
        text = gzip.decompress((REPO / "examples" / "data" / name).read_bytes()).decode()
        for line in text.splitlines():
            if line.strip() and not line.startswith("|"):
                lines.append(line.replace(", ", ",").rstrip("."))
    target.write_bytes(("\r\n".join(lines) + "\r\n").encode())  # byte-identical to the shared copy
    return target


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def census_spec():
    from lgbm_pipeline_compiler import load_spec

    return load_spec(CENSUS_SPEC)


@pytest.fixture(scope="session")
def census_compiled(census_spec):
    from lgbm_pipeline_compiler.compiler import compile_definition

    return compile_definition(census_spec)


@pytest.fixture(scope="session")
def adult_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The UCI Adult CSV (48,842 rows with a header), from the data bundled in examples/data."""
    return adult_csv_from_bundled(tmp_path_factory.mktemp("adult") / "census-income.csv")


@pytest.fixture(scope="session")
def preprocessed(tmp_path_factory: pytest.TempPathFactory, adult_csv: Path) -> SimpleNamespace:
    """preprocessing.py once on Adult in a processing-job layout, with the census spec's arguments."""
    ml = tmp_path_factory.mktemp("processing-job") / "opt" / "ml" / "processing"
    (ml / "input" / "data").mkdir(parents=True)
    shutil.copy(adult_csv, ml / "input" / "data" / adult_csv.name)
    code = install_code(["preprocessing.py"], ml / "input" / "code")
    args = [
        "--input-dir",
        str(ml / "input" / "data"),
        "--output-dir",
        str(ml / "output"),
        *ADULT_PREPROCESSING,
    ]
    result = run_script(code / "preprocessing.py", args, cwd=code)
    assert result.returncode == 0, result.stderr
    output = ml / "output"
    return SimpleNamespace(
        output=output, result=result, input=adult_csv, clarify_csv=output / "clarify" / "clarify.csv"
    )


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, preprocessed: SimpleNamespace) -> SimpleNamespace:
    """train.py once with its default hyperparameters in a training-job layout (step_jobs.train_job:
    script mode, with the arguments SageMaker adds; one OpenMP thread, as every job here), then
    model.tar.gz as SageMaker packs the model dir after the job."""
    return train_job(tmp_path_factory.mktemp("training-job"), preprocessed)


_ONE_PARSER_DIRS = frozenset({"attacks", "lint", "spec"})


@pytest.fixture(scope="session", autouse=True)
def _warm_pool():
    """The in-process local runs of a worker share warm job servers (local.warm_jobs.warm_pool), as a
    notebook's runs can: each run would otherwise import NumPy, pandas, scikit-learn and LightGBM
    again in a server of its own (Tune steps' trials too). Runs in subprocesses started with
    `warm_pool_env` (the shared runs, the kill -9 test, library_usage.py) ask this pool for their
    servers; other subprocesses and the tests of a run's own server (`no_warm_pool`) start their own."""
    from lgbm_pipeline_compiler.local.warm_jobs import warm_pool

    with warm_pool() as pool:
        yield pool


@pytest.fixture(scope="session")
def warm_pool_env(_warm_pool) -> dict[str, str]:
    """For the environment of a subprocess whose runs are to use the worker's warm pool."""
    return _warm_pool.environ()


@pytest.fixture
def no_warm_pool(monkeypatch):
    """Runs of this test start warm job servers of their own, as outside a warm_pool."""
    from lgbm_pipeline_compiler.local import warm_jobs

    monkeypatch.setattr(warm_jobs, "_pool", None)


@pytest.fixture(scope="module", autouse=True)
def _one_cli_parser(request: pytest.FixtureRequest):
    """In the corpora of tests/attacks, tests/lint and tests/spec, which call ``cli.main`` hundreds
    of times: one argparse parser per module rather than one per call (~12 ms each). Parsing leaves
    a parser as it was, so every call still parses as a fresh one. (Not everywhere: a test that
    monkeypatches a command function needs the parser built after its patch.)"""
    if request.path.parent.name not in _ONE_PARSER_DIRS:
        yield
        return
    import functools

    from lgbm_pipeline_compiler import cli

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "build_parser", functools.cache(cli.build_parser))
        yield


@pytest.fixture(scope="session")
def moto_server():
    """moto's standalone server on loopback (a real HTTP endpoint for boto3, in-process and in jobs)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_env(monkeypatch, moto_server):
    """boto3's standard chain pointed at moto's server: endpoint, test credentials, a region."""
    for key, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_server


# -- running on several workers (pytest-xdist, `-n auto --dist loadgroup` in pyproject.toml) ---------

# Tests that read the same expensive session fixture run on one worker, so each fixture is still
# built once per session; every other test is grouped with its module, so module fixtures are too.
_SHARED_GROUPS = {
    # the shared full local runs of tests/local/conftest.py (built together, in parallel)
    "_launched": "local-runs",
    "clarify_run": "local-runs",
    "builtin_run": "local-runs",
    "plain_run": "local-runs",
    "approved_run": "local-runs",
    # Adult preprocessed and a model trained on it (this file)
    "preprocessed": "adult-model",
    "trained": "adult-model",
}


_FIRST = ("local-runs", "adult-model")
"""The groups that take longest, handed out first (pyproject.toml: `--no-loadscope-reorder`, so
xdist deals groups in collection order), then the modules marked ``long_running``, then the rest:
the local runs start at once and the many small groups fill both workers until the end, rather
than a long group starting last and running alone."""


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups: dict[str, str] = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker:
            groups[item.nodeid] = str(marker.args[0] if marker.args else marker.kwargs.get("name"))
            continue
        shared = {_SHARED_GROUPS[name] for name in item.fixturenames if name in _SHARED_GROUPS}
        if shared:
            group = "local-runs" if "local-runs" in shared else shared.pop()
        else:
            group = item.nodeid.split("::", 1)[0]
        groups[item.nodeid] = group
        item.add_marker(pytest.mark.xdist_group(group))
    rank = {group: place for place, group in enumerate(_FIRST)}
    for item in items:
        if item.get_closest_marker("long_running"):
            rank.setdefault(groups[item.nodeid], len(_FIRST))
    items.sort(key=lambda item: rank.get(groups[item.nodeid], len(_FIRST) + 1))  # (stable sort)
