"""Warm tuning trials (local/warm.py): the same Tune step run cold (LGBM_PIPELINE_COLD_TRIALS=1) and
warm, in the same work dir so that paths match, gives byte-identical trial logs, models, output data
and objective values; a failing trial fails alone, with its log; the fallbacks to cold trials; and
warm workers end with the run, whether it is stopped or its runner is killed with SIGKILL."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import tarfile
from pathlib import Path

import numpy as np
import pytest

from lgbm_pipeline_compiler.local import warm, warm_jobs
from lgbm_pipeline_compiler.local.context import StepContext, StepFailed
from lgbm_pipeline_compiler.local.executors import tuning
from lgbm_pipeline_compiler.local.processes import Jobs
from lgbm_pipeline_compiler.local.store import ObjectStore

from .conftest import REPO, archive, job_context

pytestmark = pytest.mark.long_running  # (handed out early: tests/conftest.py)

BUCKET = "s3://bucket"
CODE_URI = f"{BUCKET}/code/sourcedir.tar.gz"
BUNDLED = ("train.py", "cluster.py", "inference.py", "requirements.txt", "step_common.py")
PROBE = r"""
import sys
print("preloaded:", "numpy" in sys.modules, flush=True)
import argparse, atexit, os, signal, threading, time
import numpy as np
import __main__

parser = argparse.ArgumentParser()
parser.add_argument("--mode")
args = parser.parse_args()
print("argv:", sys.argv, "name:", __name__, "file:", __file__)
print("main:", sorted(vars(__main__)), __main__.__loader__.name, __main__.__loader__.path, __spec__)
print("path:", sys.path, "cwd:", os.getcwd())
print("env:", sorted((k, v) for k, v in os.environ.items() if k.startswith(("SM_", "OMP_"))))
print("random:", np.random.randint(1 << 30))


def fail():
    raise ValueError("boom")


if args.mode == "ok":
    atexit.register(print, "atexit ran")

    def late():
        time.sleep(0.3)
        print("thread done", flush=True)

    threading.Thread(target=late).start()
    unclosed = open(os.path.join(os.environ["SM_MODEL_DIR"], "unclosed.txt"), "w")
    unclosed.write("written, never closed\n")
    print("validation-f1: 0.5")
elif args.mode == "exit":
    print("to stdout")
    sys.exit("bad value")
elif args.mode == "raise":
    fail()
elif args.mode == "kill":
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGTERM)
"""
"""A custom script: how it sees its process, and each way a script ends."""
SLEEPER = "import os, time\nimport numpy\nprint(os.getpid(), flush=True)\ntime.sleep(300)\n"


def bundled_code() -> bytes:
    return archive({name: (REPO / "step_scripts" / name).read_bytes() for name in BUNDLED})


def labelled_csv(rows: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.choice(["p", "q", "r"], size=rows)
    y = ((a + (b == "q") + rng.normal(scale=0.5, size=rows)) > 0.5).astype(int)
    return "y,a,b\n" + "".join(f"{t},{x:.4f},{c}\n" for t, x, c in zip(y, a, b, strict=True))


def tune_step(
    grid: dict[str, list[str]], static: dict[str, str], channels: tuple[str, ...], program: str = "train.py"
) -> dict:
    """A Grid Tuning step: one trial per combination of ``grid``, in order, two at a time."""
    quoted = {k: json.dumps(v) for k, v in static.items()}
    return {
        "Name": "Tune",
        "Type": "Tuning",
        "Arguments": {
            "HyperParameterTuningJobConfig": {
                "Strategy": "Grid",
                "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:f1"},
                "ResourceLimits": {"MaxNumberOfTrainingJobs": 50, "MaxParallelTrainingJobs": 2},
                "ParameterRanges": {
                    "CategoricalParameterRanges": [{"Name": k, "Values": v} for k, v in grid.items()]
                },
            },
            "TrainingJobDefinition": {
                "StaticHyperParameters": {
                    "sagemaker_program": json.dumps(program),
                    "sagemaker_submit_directory": json.dumps(CODE_URI),
                    **quoted,
                },
                "AlgorithmSpecification": {
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "validation:f1", "Regex": "validation-f1: ([0-9.]+)"}],
                },
                "InputDataConfig": [
                    {"ChannelName": c, "DataSource": {"S3DataSource": {"S3Uri": f"{BUCKET}/data/{c}"}}}
                    for c in channels
                ],
                "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/models"},
            },
        },
    }


def prepare(work_dir: Path, code: bytes, step: dict, jobs: Jobs | None = None) -> StepContext:
    """The step's context in ``work_dir``, its code and data in the store (synthetic, 400 rows)."""
    store = ObjectStore(work_dir)
    store.put_bytes(CODE_URI, code)
    schema = {"target": "y", "features": ["a", "b"], "categorical": {"b": ["p", "q", "r"]}}
    for seed, channel in enumerate(("train", "validation")):
        store.put_bytes(f"{BUCKET}/data/{channel}/{channel}.csv", labelled_csv(400, seed).encode())
        store.put_bytes(f"{BUCKET}/data/{channel}/schema.json", json.dumps(schema).encode())
    return job_context(
        work_dir, step, store=store, jobs=jobs, work=work_dir / "runs" / "r1" / "steps" / "Tune"
    )


def outcome(ctx: StepContext, results: list[dict]) -> dict[str, dict]:
    """Per trial: its summary, log, and the bytes of every file of its model and output data."""
    found = {}
    for summary in results:
        name = summary["TrainingJobName"]
        trial = ctx.work / "trials" / name
        model: dict[str, bytes] = {}
        uri = f"{BUCKET}/models/{name}/output/model.tar.gz"
        if ctx.store.exists(uri):
            with tarfile.open(fileobj=io.BytesIO(ctx.store.read_bytes(uri))) as tar:
                model = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        output = trial / "container" / "output" / "data"
        found[name] = {
            "summary": summary,
            "log": Path(summary["Log"]).read_text(),
            "model": model,
            "output": {p.name: p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()},
        }
    return found


def run_both(tmp_path: Path, monkeypatch, code: bytes, step: dict) -> tuple[dict, dict, str, str]:
    """(cold, warm) outcomes and step logs of the same step in the same work dir."""
    runs = []
    for cold in (True, False):
        work_dir = tmp_path / "work"
        shutil.rmtree(work_dir, ignore_errors=True)
        if cold:
            monkeypatch.setenv(warm.COLD_TRIALS, "1")
        else:
            monkeypatch.delenv(warm.COLD_TRIALS, raising=False)
        ctx = prepare(work_dir, code, step)
        trials = tuning._Trials(ctx, step["Arguments"])
        candidates = list(tuning.sample(trials.config["ParameterRanges"], "Grid", trials.count, 0))
        try:
            results = tuning._run_all(trials, candidates)
        finally:
            trials.close()
        runs.append((outcome(ctx, results), ctx.log.getvalue()))
        assert not (ctx.work / warm.WARM_DIR).exists()  # the server's dir is removed with it
    (cold_outcome, cold_log), (warm_outcome, warm_log) = runs
    return cold_outcome, warm_outcome, cold_log, warm_log


def test_warm_and_cold_trials_of_train_py_are_identical_and_a_bad_hyperparameter_fails_alone(
    tmp_path, monkeypatch, no_warm_pool
):
    step = tune_step(
        {"num_leaves": ["4", "1", "12"]},
        {"n_estimators": "30", "min_child_samples": "5"},
        ("train", "validation"),
    )
    cold, warm_, cold_log, warm_log = run_both(tmp_path, monkeypatch, bundled_code(), step)
    assert "trials run in workers forked from one process that imported lightgbm" in warm_log
    assert f"({warm.COLD_TRIALS} is set)" in cold_log
    assert warm_ == cold
    statuses = [t["summary"]["TrainingJobStatus"] for t in warm_.values()]
    assert statuses == ["Completed", "Failed", "Completed"]
    failed = list(warm_.values())[1]
    error = "train: error: argument --num_leaves: must be in [2, inf], got '1'"
    assert error in failed["log"] and error in failed["summary"]["FailureReason"]
    assert failed["summary"]["FailureReason"].startswith("train.py exited with 2:")
    assert failed["model"] == {} and failed["output"] == {}
    for trial in (t for t in warm_.values() if t["summary"]["TrainingJobStatus"] == "Completed"):
        assert sorted(trial["model"]) == [
            "code/inference.py", "code/requirements.txt", "code/step_common.py",
            "metadata.json", "model.txt", "schema.json",
        ]  # fmt: skip
        value = trial["summary"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        metrics = json.loads(trial["output"]["metrics.json"])
        assert value == pytest.approx(metrics["validation_f1"], abs=1e-6) and 0.5 < value <= 1


@pytest.mark.parametrize("unbuffered", ["1", None], ids=["unbuffered", "buffered"])
def test_a_custom_script_sees_what_a_cold_trial_sees_and_ends_the_same_way(tmp_path, monkeypatch, unbuffered):
    """argv, __main__, __file__, sys.path, working dir, environment; an unclosed file, a thread,
    an atexit handler; sys.exit with a message, an uncaught exception, death by a signal; with
    block-buffered stdout (which orders a log's lines) and with PYTHONUNBUFFERED."""
    if unbuffered:
        monkeypatch.setenv("PYTHONUNBUFFERED", unbuffered)
    else:
        monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)
    step = tune_step({"mode": ["ok", "exit", "raise", "kill"]}, {}, ("train",))
    cold, warm_, _, warm_log = run_both(tmp_path, monkeypatch, archive({"train.py": PROBE}), step)
    assert (
        "imported numpy" in warm_log and "a server of the open warm pool" in warm_log
    )  # (tests/conftest.py)

    def strip(found: dict, preloaded: bool) -> list[str]:
        """Drop the two lines that differ, from the logs and the failures' log tails."""
        draws = []
        for trial in found.values():
            lines = trial["log"].splitlines(keepends=True)
            assert f"preloaded: {preloaded}\n" in lines
            draws += [line for line in lines if line.startswith("random: ")]
            trial["log"] = "".join(x for x in lines if not x.startswith(("random: ", "preloaded:")))
            reason = trial["summary"].get("FailureReason")
            if reason is not None:
                kept = [x for x in reason.split("\n") if not x.startswith(("random: ", "preloaded:"))]
                trial["summary"]["FailureReason"] = "\n".join(kept)
        return draws

    strip(cold, False)
    draws = strip(warm_, True)
    assert warm_ == cold
    assert len(set(draws)) == 4  # each worker draws its own NumPy seed, not the server's
    ok, exited, raised, killed = warm_.values()
    assert ok["model"] == {"unclosed.txt": b"written, never closed\n"}
    assert ok["log"].endswith("validation-f1: 0.5\nthread done\natexit ran\n")
    assert ok["summary"]["TrainingJobStatus"] == "Completed"
    assert "to stdout\n" in exited["log"] and "bad value\n" in exited["log"]
    assert exited["summary"]["FailureReason"].startswith("train.py exited with 1:\n")
    assert 'in fail\n    raise ValueError("boom")\nValueError: boom\n' in raised["log"]
    assert raised["summary"]["FailureReason"].startswith("train.py exited with 1:\n")
    script = raised["log"].split()[2]  # ($ python SCRIPT --mode raise)
    assert f'Traceback (most recent call last):\n  File "{script}", line ' in raised["log"]  # no server frame
    assert killed["summary"]["FailureReason"].startswith(f"train.py exited with {-signal.SIGTERM}:")


def test_an_entry_point_in_a_subdir_imports_its_own_modules_from_there(tmp_path, monkeypatch):
    script = "import sys, numpy, helper\nprint(sys.path[0], helper.__file__)\nprint('validation-f1: 0.5')\n"
    files = {"src/train.py": script, "src/helper.py": "", "helper.py": "raise SystemExit('the wrong one')\n"}
    step = tune_step({"seed": ["1"]}, {}, ("train",), program="src/train.py")
    cold, warm_, _, warm_log = run_both(tmp_path, monkeypatch, archive(files), step)
    assert warm_ == cold and "imported numpy" in warm_log
    (trial,) = warm_.values()
    assert trial["summary"]["TrainingJobStatus"] == "Completed"
    assert "/container/code/src /" in trial["log"] and "/container/code/src/helper.py\n" in trial["log"]


SHADOW = "import numpy\nprint(numpy.VALUE)\nprint('validation-f1: 0.5')\n"
"""A script whose code dir has a numpy.py of its own, which a cold trial imports."""


@pytest.mark.parametrize(
    ("program", "files", "why"),
    [
        ("train.py", {"train.py": "import json\nprint('validation-f1: 0.5')\n"}, "imports none of"),
        ("train.py", {"train.py": SHADOW, "numpy.py": "VALUE = 'numpy.py'\n"}, "script's own module numpy"),
        ("src/train.py", {"src/train.py": SHADOW, "src/numpy.py": "VALUE = 'numpy.py'\n"},
         "script's own module numpy"),
        ("train.py", {"train.py": "import numpy, sklearn.no_such_module\n"},
         "importing sklearn.no_such_module: ModuleNotFoundError"),
    ],
)  # fmt: skip
def test_scripts_the_server_cannot_serve_run_cold_with_the_reason_in_the_step_log(
    tmp_path, monkeypatch, program, files, why
):
    monkeypatch.delenv(warm.COLD_TRIALS, raising=False)
    step = tune_step({"seed": ["1"]}, {}, ("train",), program=program)
    ctx = prepare(tmp_path / "work", archive(files), step)
    try:
        result = tuning.run(ctx)
        log = Path(result["BestTrainingJob"]["Log"]).read_text()
    except StepFailed as err:
        log = str(err)
    assert "each trial runs in a fresh process (" in ctx.log.getvalue() and why in ctx.log.getvalue()
    if "numpy" in why:
        assert "\nnumpy.py\n" in log  # the code dir's own, as a cold trial imports it
    if "no_such_module" in why:
        assert "ModuleNotFoundError: No module named 'sklearn.no_such_module'" in log


def test_preloads_are_the_allowlisted_top_level_imports_in_order():
    source = (
        b"from __future__ import annotations\nimport os, lightgbm as lgb\nimport numpy\n"
        b"from sklearn.metrics import f1_score\nfrom . import local\nimport step_common\n"
        b"def f():\n    import scipy\nimport pandas.api.types\nimport numpy\n"
    )
    assert warm.preloads(source) == ["lightgbm", "numpy", "sklearn.metrics", "pandas.api.types"]
    assert warm.preloads(b"def broken(:\n") == []


def test_trials_take_the_warm_pools_server_unless_the_script_or_its_dir_needs_one_of_their_own(no_warm_pool):
    """A pool's server imported numpy, pandas, sklearn.metrics and lightgbm with no code dir: a
    step whose script imports nothing else at its top level, and whose script dir provides none of
    the modules the server imported (which a cold trial would import from there), takes it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with warm_jobs.warm_pool() as pool:
        server, note = warm_jobs.pooled_trials(
            archive({"train.py": "import numpy, lightgbm\n"}), "train.py", env
        )
        assert server == warm.Borrowed(pool.server(env)[0].folder)
        assert "a server of the open warm pool" in note and server.close() == ""  # (it stays up)
        imported = warm.imported_modules(server.folder)
        assert {"numpy", "pandas", "sklearn", "lightgbm", "scipy", "json"} <= imported
        elsewhere = {"src/train.py": "import pandas\n", "numpy.py": "", "src/notes/README": ""}
        assert warm_jobs.pooled_trials(archive(elsewhere), "src/train.py", env)[0] == server
        for files, program, why in (
            ({"train.py": "import numpy\n", "numpy.py": ""}, "train.py", "the code dir has its own numpy"),
            ({"src/train.py": "import numpy\n", "src/dateutil/parser.py": ""}, "src/train.py",
             "the code dir has its own dateutil"),  # (pandas imports it)
            ({"train.py": "import json\nimport pandas\n", "json.py": ""}, "train.py", "the code dir has its own json"),
            ({"train.py": "import numpy, scipy.stats\n"}, "train.py", "train.py imports scipy.stats"),
            ({"train.py": "import json\n"}, "train.py", "train.py imports none of them"),
        ):  # fmt: skip
            assert warm_jobs.pooled_trials(archive(files), program, env) == (None, why)
        assert pool._started == 1
    assert warm_jobs.pooled_trials(archive({"train.py": "import numpy\n"}), "train.py", env) == (
        None,
        "no warm pool is open",
    )
