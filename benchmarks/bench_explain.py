"""Benchmark: the explainability step on the KDD census data with the default row budget, against
exact SHAP on every test row.

Run on demand (not a test):  python benchmarks/bench_explain.py [--data-dir ../shared/data]

A KDD census spec (builtin engine, every other setting the census spec's) is compiled; its
preprocessing config and explainability analysis config are taken from the compiled artifacts, so
the jobs run exactly as the pipeline runs them. preprocessing.py splits the 299,285 rows and writes
the explainability sample (clarify.explainability.max_rows, default 2000); train.py trains with its
defaults (about 800 trees). Then clarify_check.py explains:

- the step as compiled: the sample (goal: <= 60 s on 2 cores);
- the baseline, in the same run: every test row (the clarify dataset), as before the budget.

Agreement: the top-10 features by global mean |SHAP| of the full run, and Spearman's rank
correlation of their importances in the sample run. Results, machine and date go to
benchmarks/RESULTS.md (section "Explainability budget").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "step_scripts"
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_shap import machine  # noqa: E402

KDD_COLUMNS = [
    "age",
    "class_of_worker",
    "detailed_industry_recode",
    "detailed_occupation_recode",
    "education",
    "wage_per_hour",
    "enroll_in_edu_inst_last_wk",
    "marital_stat",
    "major_industry_code",
    "major_occupation_code",
    "race",
    "hispanic_origin",
    "sex",
    "member_of_a_labor_union",
    "reason_for_unemployment",
    "full_or_part_time_employment_stat",
    "capital_gains",
    "capital_losses",
    "dividends_from_stocks",
    "tax_filer_stat",
    "region_of_previous_residence",
    "state_of_previous_residence",
    "detailed_household_and_family_stat",
    "detailed_household_summary_in_household",
    "instance_weight",
    "migration_code_change_in_msa",
    "migration_code_change_in_reg",
    "migration_code_move_within_reg",
    "live_in_this_house_1_year_ago",
    "migration_prev_res_in_sunbelt",
    "num_persons_worked_for_employer",
    "family_members_under_18",
    "country_of_birth_father",
    "country_of_birth_mother",
    "country_of_birth_self",
    "citizenship",
    "own_business_or_self_employed",
    "fill_inc_questionnaire_for_veterans_admin",
    "veterans_benefits",
    "weeks_worked_in_year",
    "year",
    "income",
]


def kdd_spec() -> str:
    census = (REPO / "tests" / "golden" / "builtin_engine" / "spec.yaml").read_text()
    start, end = census.index("data:\n"), census.index("\npreprocessing:")
    data = (
        "data:\n"
        "  input: [census-income.data.gz, census-income.test.gz]\n"
        "  target_column: income\n"
        "  positive_class: '50000+.'\n"
        "  header: false\n"
        f"  columns: {json.dumps(KDD_COLUMNS)}\n"
        "  drop_columns: [instance_weight]\n"
        "  split: {train: 0.8, validation: 0.1, test: 0.1}\n"
    )
    text = census[:start] + data + census[end:]
    text = text.replace("facet_name: Sex", "facet_name: sex").replace(
        "facet_values: [Female]", "facet_values: [Female]"
    )
    return "\n".join(line for line in text.splitlines() if "InputDataUrl" not in line) + "\n"


def artifact(build: Path, name: str, contains: str = "") -> Path:
    manifest = json.loads((build / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        path = build / entry["path"]
        if path.name == name and contains in path.read_text():
            return path
    raise LookupError(name)


def run(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    return time.perf_counter() - started


def explain(data_dir: Path, model: Path, config: Path, out: Path) -> tuple[float, dict[str, float], str]:
    command = [
        sys.executable, str(SCRIPTS / "clarify_check.py"), "--check", "explainability",
        "--model-dir", str(model), "--data-dir", str(data_dir), "--config", str(config),
        "--output-dir", str(out), "--skip-check", "true", "--register-new-baseline", "true",
    ]  # fmt: skip
    log = out.with_suffix(".log")
    with log.open("w") as handle:
        seconds = run(command, stdout=handle, stderr=subprocess.STDOUT)
    analysis = json.loads((out / "analysis.json").read_text())
    shap = analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    return seconds, shap, log.read_text()


def spearman(a: list[float], b: list[float]) -> float:
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: -values[i])
        out = [0.0] * len(values)
        for rank, i in enumerate(order):
            out[i] = float(rank)
        return out

    ra, rb = ranks(a), ranks(b)
    n = len(a)
    return 1 - 6 * sum((x - y) ** 2 for x, y in zip(ra, rb, strict=True)) / (n * (n * n - 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("LGBM_PIPELINE_DATA_DIR", REPO.parent / "shared" / "data")),
    )
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    args = parser.parse_args()
    kdd = args.data_dir / "census-income-kdd"
    if not (kdd / "census-income.data.gz").is_file():
        print(f"bench_explain: KDD data not found under {kdd}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "kdd.yaml").write_text(kdd_spec())
        run(
            [
                sys.executable,
                "-m",
                "lgbm_pipeline_compiler.cli",
                "compile",
                str(work / "kdd.yaml"),
                "-o",
                str(work / "build"),
            ]
        )
        pre_config = artifact(work / "build", "preprocessing.json")
        explain_config = artifact(work / "build", "analysis_config.json", '"shap"')
        print("bench_explain: preprocessing 299,285 rows ...", flush=True)
        data = work / "data"
        for i, name in enumerate(("census-income.data.gz", "census-income.test.gz"), start=1):
            (data / str(i)).mkdir(parents=True)
            (data / str(i) / name).symlink_to(kdd / name)
        pre = work / "pre"
        pre_seconds = run(
            [
                sys.executable,
                str(SCRIPTS / "preprocessing.py"),
                "--input-dir",
                str(data),
                "--output-dir",
                str(pre),
                "--config",
                str(pre_config),
            ],
            stdout=subprocess.DEVNULL,
        )
        print("bench_explain: training (train.py defaults) ...", flush=True)
        env = dict(
            os.environ,
            SM_CHANNEL_TRAIN=str(pre / "train"),
            SM_CHANNEL_VALIDATION=str(pre / "validation"),
            SM_MODEL_DIR=str(work / "model"),
            SM_OUTPUT_DATA_DIR=str(work / "output"),
        )
        train_seconds = run([sys.executable, str(SCRIPTS / "train.py")], env=env, stdout=subprocess.DEVNULL)
        trees = len(re.findall(r"^Tree=", (work / "model" / "model.txt").read_text(), flags=re.M))
        sample_rows = len((pre / "explain" / "explain.csv").read_text().splitlines())
        full_rows = len((pre / "clarify" / "clarify.csv").read_text().splitlines())
        print(f"bench_explain: explaining the {sample_rows}-row sample ...", flush=True)
        sample_s, sample_shap, sample_log = explain(
            pre / "explain", work / "model", explain_config, work / "sample"
        )
        print(f"bench_explain: explaining all {full_rows} test rows (baseline) ...", flush=True)
        full_s, full_shap, _ = explain(pre / "clarify", work / "model", explain_config, work / "full")
    top = sorted(full_shap, key=lambda k: -full_shap[k])[:10]
    rho = spearman([full_shap[k] for k in top], [sample_shap[k] for k in top])
    sample_top = sorted(sample_shap, key=lambda k: -sample_shap[k])[:10]
    progress = [line for line in sample_log.splitlines() if "rows/s" in line][-1:] or ["(no progress line)"]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"""
## Explainability budget (`bench_explain.py`)

Measured {when} on: {machine()}.
KDD census (299,285 rows; split 0.8/0.1/0.1), train.py defaults: {trees} trees; preprocessing
{pre_seconds:.1f} s, training {train_seconds:.1f} s. The explainability step (clarify_check.py, exact
TreeSHAP) as compiled, on the default sample, against every test row in the same run:

| run | rows | wall (process) | per row |
| --- | --- | --- | --- |
| step with the default budget (max_rows 2000) | {sample_rows:,} | {sample_s:.1f} s | {1000 * sample_s / sample_rows:.1f} ms |
| baseline: exact SHAP on all test rows | {full_rows:,} | {full_s:.1f} s | {1000 * full_s / full_rows:.1f} ms |

ratio full / sample: {full_s / sample_s:.1f}x (goal for the step: <= 60 s on 2 cores).
Top-10 global importances (mean |SHAP|) of the full run: {", ".join(top)}.
Spearman rank correlation of those 10 in the sample run: {rho:.3f}; top-10 sets shared: {len(set(top) & set(sample_top))}/10.
Last progress line of the sample run: `{progress[0].strip()}`.
"""
    text = args.output.read_text() if args.output.is_file() else "# Benchmark results\n"
    marker = "\n## Explainability budget (`bench_explain.py`)\n"
    if marker in text:
        head, _, rest = text.partition(marker)
        tail = rest[rest.find("\n## ") :] if "\n## " in rest else ""
        text = head + tail
    args.output.write_text(text.rstrip("\n") + "\n" + section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
