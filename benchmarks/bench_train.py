"""Benchmark step_scripts/train.py on Adult and KDD census (run on demand; not a test).

For each data set: preprocessing.py prepares the splits once, then train.py runs ``--repeats``
times as a child process (wall time and the child's peak RSS from ``os.wait4``). The baseline,
measured in the same run, is a child process that reads the same CSVs with train.py's own
reader and times a plain ``lightgbm.train`` with the same parameters and early stopping. Results
go to stdout and to the ``## Step scripts (train.py)`` section of benchmarks/RESULTS.md.

    python benchmarks/bench_train.py [--repeats 5] [--datasets adult,kdd] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "step_scripts"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
HEADING = "## Step scripts (train.py)"
KDD_COLUMNS = (
    "age,class_of_worker,detailed_industry_recode,detailed_occupation_recode,education,wage_per_hour,"
    "enroll_in_edu_inst_last_wk,marital_stat,major_industry_code,major_occupation_code,race,hispanic_origin,"
    "sex,member_of_a_labor_union,reason_for_unemployment,full_or_part_time_employment_stat,capital_gains,"
    "capital_losses,dividends_from_stocks,tax_filer_stat,region_of_previous_residence,"
    "state_of_previous_residence,detailed_household_and_family_stat,detailed_household_summary_in_household,"
    "instance_weight,migration_code_change_in_msa,migration_code_change_in_reg,migration_code_move_within_reg,"
    "live_in_this_house_1_year_ago,migration_prev_res_in_sunbelt,num_persons_worked_for_employer,"
    "family_members_under_18,country_of_birth_father,country_of_birth_mother,country_of_birth_self,citizenship,"
    "own_business_or_self_employed,fill_inc_questionnaire_for_veterans_admin,veterans_benefits,"
    "weeks_worked_in_year,year,income"
)

# Runs in a fresh interpreter: train.py's reader and parameters, then a bare lightgbm.train.
BASELINE = """
import importlib.util, json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(sys.argv[1]).parent))  # train.py imports step_common.py beside it
spec = importlib.util.spec_from_file_location("train_script", sys.argv[1])
train = importlib.util.module_from_spec(spec); spec.loader.exec_module(train)
import lightgbm as lgb
data = Path(sys.argv[2])
start = time.perf_counter()
schema = train.load_schema(data / "train")
x_train, y_train = train.read_split(data / "train", schema, "train")
x_val, y_val = train.read_split(data / "validation", schema, "validation")
read_s = time.perf_counter() - start
hp = {name: default for name, (_, default) in train.HYPERPARAMETERS.items()}
start = time.perf_counter()
train_set = lgb.Dataset(x_train, label=y_train)
booster = lgb.train(
    train.lgb_params(hp), train_set, num_boost_round=hp["n_estimators"],
    valid_sets=[lgb.Dataset(x_val, label=y_val, reference=train_set)],
    callbacks=[lgb.early_stopping(hp["early_stopping_rounds"], verbose=False)],
)
train_s = time.perf_counter() - start
print(json.dumps({"read_s": read_s, "train_s": train_s, "best_iteration": booster.best_iteration}))
"""


def data_dir() -> Path:
    override = os.environ.get("LGBM_PIPELINE_DATA_DIR")
    return Path(override) if override else REPO.parent / "shared" / "data"


def run_child(argv: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a child process; return wall seconds, peak RSS (MiB, from wait4) and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"bench_train: {' '.join(argv[:2])} failed ({proc.returncode}):\n{stderr}")
    return {"wall_s": wall, "maxrss_mib": usage.ru_maxrss / 1024, "stdout": stdout}


def preprocess(name: str, out: Path) -> dict:
    root = data_dir()
    if name == "adult":
        args = ["--input-dir", str(root / "adult" / "census-income.csv"), "--target-column", "Target"]
        args += ["--positive-class", ">50K", "--facet-columns", "Sex"]
    else:
        args = ["--input-dir", str(root / "census-income-kdd"), "--column-names", KDD_COLUMNS]
        args += [
            "--target-column",
            "income",
            "--positive-class",
            "50000+.",
            "--drop-columns",
            "instance_weight",
        ]
        args += ["--facet-columns", "sex"]
    return run_child([sys.executable, str(SCRIPTS / "preprocessing.py"), *args, "--output-dir", str(out)])


def bench(name: str, work: Path, repeats: int) -> dict:
    prepared = work / name / "prepared"
    prep = preprocess(name, prepared)
    schema = json.loads((prepared / "train" / "schema.json").read_text())
    rows = {
        s: len((prepared / s / f"{s}.csv").read_text().splitlines()) - 1
        for s in ("train", "validation", "test")
    }
    runs, baselines = [], []
    for i in range(repeats):
        model, output = work / name / f"model-{i}", work / name / f"output-{i}"
        env = {
            "SM_CHANNEL_TRAIN": str(prepared / "train"),
            "SM_CHANNEL_VALIDATION": str(prepared / "validation"),
            "SM_MODEL_DIR": str(model),
            "SM_OUTPUT_DATA_DIR": str(output),
        }
        result = run_child([sys.executable, str(SCRIPTS / "train.py")], env)
        result["metrics"] = json.loads((output / "metrics.json").read_text())
        runs.append(result)
        base = run_child([sys.executable, "-c", BASELINE, str(SCRIPTS / "train.py"), str(prepared)])
        base.update(json.loads(base["stdout"].strip().splitlines()[-1]))
        baselines.append(base)
    med = statistics.median
    return {
        "name": name,
        "rows": rows,
        "features": len(schema["features"]),
        "categorical": len(schema["categorical"]),
        "preprocess_s": prep["wall_s"],
        "preprocess_mib": prep["maxrss_mib"],
        "train_wall_s": [r["wall_s"] for r in runs],
        "train_mib": max(r["maxrss_mib"] for r in runs),
        "base_train_s": [b["train_s"] for b in baselines],
        "base_read_s": med(b["read_s"] for b in baselines),
        "base_wall_s": [b["wall_s"] for b in baselines],
        "base_mib": max(b["maxrss_mib"] for b in baselines),
        "best_iteration": runs[0]["metrics"]["best_iteration"],
        "base_best_iteration": baselines[0]["best_iteration"],
        "validation_f1": runs[0]["metrics"]["validation_f1"],
        "validation_auc": runs[0]["metrics"]["validation_auc"],
        "repeats": repeats,
    }


def machine() -> str:
    cpu = "unknown"
    mem_gib = 0.0
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
        mem_gib = kib / 1024**2
    except (OSError, StopIteration):
        pass
    import lightgbm
    import pandas
    import sklearn

    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem_gib:.1f} GiB RAM, {platform.system()} {platform.machine()}; "
        f"Python {platform.python_version()}, lightgbm {lightgbm.__version__}, pandas {pandas.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )


def render(results: list[dict], load: tuple[float, float]) -> str:
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HEADING,
        "",
        f"Measured {today} by `python benchmarks/bench_train.py` on: {machine()}.",
        f"1-minute load average {load[0]:.2f} before and {load[1]:.2f} after the run.",
        "",
        "`train.py` runs as a child process with the default hyperparameters (max 1000 rounds, early",
        "stopping 50, all cores); its wall time includes interpreter start, imports, CSV reading, training,",
        "threshold search, predictions on train and validation, and writing the model. Peak memory is the",
        "child's max RSS (`wait4`). The baseline, interleaved with it in the same run, is a fresh interpreter",
        "that reads the same CSVs with `train.py`'s reader and calls a bare `lightgbm.train` with the same",
        "parameters and early stopping; *baseline lgb.train* is that call alone, *baseline process* its whole",
        f"process. {results[0]['repeats']} runs each, shown as min / median; ratios use the minimums, which are",
        "the least disturbed by other work on this shared 2-core machine.",
        "",
        "| data set | train / val / test rows | features (categorical) | train.py wall | train.py peak RSS | "
        "baseline lgb.train | train.py / lgb.train | baseline process | train.py / process | "
        "baseline peak RSS | rounds (script / baseline) | validation F1 / AUC |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        rows = " / ".join(f"{r['rows'][s]:,}" for s in ("train", "validation", "test"))
        wall, base, proc = r["train_wall_s"], r["base_train_s"], r["base_wall_s"]
        lines.append(
            f"| {r['name']} | {rows} | {r['features']} ({r['categorical']}) | "
            f"{min(wall):.2f} / {statistics.median(wall):.2f} s | {r['train_mib']:.0f} MiB | "
            f"{min(base):.2f} / {statistics.median(base):.2f} s | {min(wall) / min(base):.2f}x | "
            f"{min(proc):.2f} / {statistics.median(proc):.2f} s | {min(wall) / min(proc):.2f}x | "
            f"{r['base_mib']:.0f} MiB | {r['best_iteration']} / {r['base_best_iteration']} | "
            f"{r['validation_f1']:.4f} / {r['validation_auc']:.4f} |"
        )
    lines += [
        "",
        "preprocessing.py on the same data (one run each): "
        + "; ".join(
            f"{r['name']} {r['preprocess_s']:.1f} s, {r['preprocess_mib']:.0f} MiB peak RSS" for r in results
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md, leaving other sections alone."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if HEADING in text:
        start = text.index(HEADING)
        end = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--datasets", default="adult,kdd")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-train-") as work:
        results = []
        for name in args.datasets.split(","):
            print(f"bench_train: {name} ...", flush=True)
            results.append(bench(name.strip(), Path(work), args.repeats))
            print(json.dumps(results[-1], indent=2), flush=True)
    section = render(results, (load_before, os.getloadavg()[0]))
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"bench_train: wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
