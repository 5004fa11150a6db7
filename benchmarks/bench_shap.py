"""Benchmark: clarify_check.py's exact TreeSHAP (LightGBM pred_contrib) against KernelSHAP.

Run on demand (not a test):  python benchmarks/bench_shap.py [--kernel-rows 100] [--nsamples 100]

Trains the census model the way the pipeline does (preprocessing.py with specs/census.yaml's
split, train.py with its default hyperparameters), then on the Clarify dataset (the test split):

- TreeSHAP: ``clarify_check.tree_shap`` over every row (what the explainability check runs);
- KernelSHAP: ``shap.KernelExplainer`` with ``nsamples`` (default 100, census.yaml's
  num_samples) and a 10-centroid ``shap.kmeans`` background of the dataset (Clarify's default
  baseline is k-means clusters of the input), on ``--kernel-rows`` rows;
- per-row time of each and the ratio (goal: TreeSHAP >= 10x faster per row);
- KernelSHAP's error against the exact TreeSHAP values of the same rows (mean and max
  absolute error, log-odds units), split into sampling error (against exact Shapley values of
  the same k-means game, every coalition enumerated, on ``--exact-rows`` rows) and the
  difference of the two definitions (interventional on 10 centroids vs TreeSHAP's path-dependent
  expectation over the training data).

Writes the figures, the machine and the date to benchmarks/SHAP_RESULTS.md (``--output``).
``shap`` is a benchmark-only dependency: ``pip install shap``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "step_scripts"
PROG = "bench_shap"


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, {cpu}, Python {platform.python_version()}"


def load_clarify_check():
    if str(SCRIPTS) not in sys.path:  # the script imports the modules shipped with it
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("bench_clarify_check", SCRIPTS / "clarify_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def adult_csv(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    base = os.environ.get("LGBM_PIPELINE_DATA_DIR") or str(REPO.parent / "shared" / "data")
    return Path(base) / "adult" / "census-income.csv"


def train_census(csv: Path, work: Path) -> tuple[Path, Path]:
    """preprocessing.py + train.py as census.yaml configures them; returns (model dir, clarify csv)."""
    pre = work / "preprocessed"
    subprocess.run(
        [
            sys.executable, str(SCRIPTS / "preprocessing.py"),
            "--input-dir", str(csv), "--output-dir", str(pre),
            "--target-column", "Target", "--positive-class", ">50K", "--drop-columns", "fnlwgt",
            "--train-ratio", "0.8", "--validation-ratio", "0.1", "--test-ratio", "0.1",
            "--seed", "42", "--facet-columns", "Sex",
        ],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    env = dict(
        os.environ,
        SM_CHANNEL_TRAIN=str(pre / "train"),
        SM_CHANNEL_VALIDATION=str(pre / "validation"),
        SM_MODEL_DIR=str(work / "model"),
        SM_OUTPUT_DATA_DIR=str(work / "output"),
    )
    subprocess.run(
        [sys.executable, str(SCRIPTS / "train.py"), "--seed", "42", "--num_threads", "1"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return work / "model", pre / "clarify" / "clarify.csv"


def tree_depth(node: dict) -> int:
    if "leaf_index" in node:
        return 0
    return 1 + max(tree_depth(node["left_child"]), tree_depth(node["right_child"]))


class Encoded:
    """Model input as a float matrix (categoricals as level codes, missing -1) and back."""

    def __init__(self, schema: dict):
        self.schema = schema
        self.names = list(schema["features"])

    def encode(self, features: pd.DataFrame) -> np.ndarray:
        columns = []
        for name in self.names:
            column = features[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                columns.append(column.cat.codes.to_numpy(dtype="float64"))
            else:
                columns.append(column.to_numpy(dtype="float64"))
        return np.column_stack(columns)

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        out = {}
        for j, name in enumerate(self.names):
            levels = self.schema["categorical"].get(name)
            if levels is None:
                out[name] = matrix[:, j].astype("float64")
            else:
                codes = np.clip(np.rint(np.nan_to_num(matrix[:, j], nan=-1)), -1, len(levels) - 1).astype(int)
                out[name] = pd.Categorical.from_codes(codes, categories=levels)
        return pd.DataFrame(out)


def main() -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="Adult census-income.csv (default: shared data dir)")
    parser.add_argument("--kernel-rows", type=int, default=100)
    parser.add_argument("--nsamples", type=int, default=100)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument(
        "--exact-rows", type=int, default=10, help="rows for the exact k-means-game Shapley values"
    )
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=1, help="OpenMP threads for LightGBM (0 = all cores); 1 is steadiest"
    )
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "SHAP_RESULTS.md"))
    args = parser.parse_args()
    if args.threads > 0:  # before LightGBM is loaded: it reads OMP_NUM_THREADS then
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    try:
        import shap
    except ImportError:
        print(
            f"{PROG}: the shap package is needed for this benchmark only: pip install shap", file=sys.stderr
        )
        return 2
    import lightgbm as lgb

    csv = adult_csv(args.data)
    if not csv.is_file():
        print(
            f"{PROG}: Adult data not found at {csv}; pass --data or set LGBM_PIPELINE_DATA_DIR",
            file=sys.stderr,
        )
        return 2
    cc = load_clarify_check()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{PROG}: training the census model (preprocessing.py + train.py defaults) ...", flush=True)
        model_dir, clarify_csv = train_census(csv, Path(tmp))
        schema = json.loads((model_dir / "schema.json").read_text())
        booster = lgb.Booster(model_file=str(model_dir / "model.txt"))
        frame = cc.read_dataset(clarify_csv, [schema["target"], *schema["features"]], schema)
    features = cc.to_model_frame(frame, schema)
    info = booster.dump_model()["tree_info"]
    model_desc = (
        f"{booster.num_trees()} trees, <= {max(t['num_leaves'] for t in info)} leaves, "
        f"max depth {max(tree_depth(t['tree_structure']) for t in info)}, {len(schema['features'])} features"
    )
    n_rows = len(features)
    print(f"{PROG}: model {model_desc}; {n_rows} explainability rows", flush=True)

    enc = Encoded(schema)
    matrix = enc.encode(features)

    def margin(z: np.ndarray) -> np.ndarray:
        return booster.predict(enc.decode(z), raw_score=True)

    background = shap.kmeans(matrix, args.clusters)
    explainer = shap.KernelExplainer(margin, background)
    rows = np.sort(
        np.random.default_rng(args.seed).choice(n_rows, size=min(args.kernel_rows, n_rows), replace=False)
    )
    booster.predict(features.iloc[:50], pred_contrib=True)  # warm-up
    load_before = os.getloadavg()
    # Interleaved rounds so that machine noise hits both alike; figures are medians.
    # l1_reg=False: estimate every feature (Clarify reports all of them); shap's default
    # "num_features(10)" keeps 10 of the 13 per row and is measured too, for reference.
    variants = (False, "num_features(10)")
    timings: dict = {"tree": [], False: [], "num_features(10)": []}
    kernel = {}
    for _ in range(args.rounds):
        start = time.perf_counter()
        tree_values, tree_expected = cc.tree_shap(booster, features)
        timings["tree"].append(time.perf_counter() - start)
        for l1 in variants:
            np.random.seed(args.seed)  # KernelExplainer samples coalitions with np.random
            start = time.perf_counter()
            values = np.asarray(
                explainer.shap_values(matrix[rows], nsamples=args.nsamples, silent=True, l1_reg=l1)
            )
            timings[l1].append(time.perf_counter() - start)
            kernel[l1] = (values, np.abs(values - tree_values[rows]))
    load_after = os.getloadavg()
    tree_seconds = statistics.median(timings["tree"])
    tree_per_row = tree_seconds / n_rows
    kernel_values, err = kernel[False]
    kernel_seconds = statistics.median(timings[False])
    kernel_per_row = kernel_seconds / len(rows)
    ratio = kernel_per_row / tree_per_row
    _, default_err = kernel["num_features(10)"]
    default_seconds = statistics.median(timings["num_features(10)"])
    print(
        f"{PROG}: TreeSHAP {tree_seconds:.2f} s for {n_rows} rows = {tree_per_row * 1e3:.3f} ms/row "
        f"(median of {args.rounds}; min {min(timings['tree']):.2f} s)",
        flush=True,
    )
    print(
        f"{PROG}: KernelSHAP(nsamples={args.nsamples}, {args.clusters} k-means centroids) {kernel_seconds:.2f} s for "
        f"{len(rows)} rows = {kernel_per_row * 1e3:.1f} ms/row; TreeSHAP is {ratio:.1f}x faster per row",
        flush=True,
    )
    print(
        f"{PROG}: KernelSHAP vs exact TreeSHAP: mean abs error {err.mean():.4f}, max abs error {err.max():.4f}"
    )
    print(
        f"{PROG}: with shap's default l1_reg=num_features(10): {default_seconds / len(rows) * 1e3:.1f} ms/row, "
        f"mean abs error {default_err.mean():.4f}, max abs error {default_err.max():.4f}"
    )
    print(f"{PROG}: load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")

    exact_rows = rows[: max(0, min(args.exact_rows, len(rows)))]
    decomposition = None
    if len(exact_rows):
        n_features = matrix.shape[1]
        start = time.perf_counter()
        exact = np.asarray(
            explainer.shap_values(matrix[exact_rows], nsamples=2**n_features, silent=True, l1_reg=False)
        )
        exact_seconds = time.perf_counter() - start
        sampling = np.abs(kernel_values[: len(exact_rows)] - exact)
        definition = np.abs(exact - tree_values[exact_rows])
        decomposition = (
            len(exact_rows),
            sampling.mean(),
            sampling.max(),
            definition.mean(),
            definition.max(),
        )
        print(
            f"{PROG}: on {len(exact_rows)} rows, all {2**n_features - 2} coalitions ({exact_seconds:.1f} s): "
            f"sampling error mean {sampling.mean():.4f} max {sampling.max():.4f}; k-means game vs TreeSHAP "
            f"mean {definition.mean():.4f} max {definition.max():.4f}"
        )

    scale = np.abs(tree_values[rows]).mean()
    goal = "met" if ratio >= 10 else "NOT met"
    versions = f"lightgbm {lgb.__version__}, shap {shap.__version__}, numpy {np.__version__}, pandas {pd.__version__}"
    lines = [
        "## SHAP (builtin vs KernelSHAP)",
        "",
        f"Run {date.today().isoformat()} on {machine()}; {versions}.",
        f"Command: `python benchmarks/bench_shap.py --kernel-rows {args.kernel_rows} --nsamples {args.nsamples} "
        f"--clusters {args.clusters} --exact-rows {args.exact_rows} --rounds {args.rounds} --threads {args.threads}`; "
        f"LightGBM threads: {args.threads or 'all cores'}; 1-minute load "
        f"average {load_before[0]:.2f} before the timed rounds, {load_after[0]:.2f} after.",
        "",
        f"Model: the census pipeline's (preprocessing.py with census.yaml's split, train.py defaults): {model_desc}. "
        f"Rows: the Clarify dataset (test split), {n_rows} rows. Units: log-odds (raw margin).",
        "",
        f"Times are medians of {args.rounds} interleaved rounds.",
        "",
        "| | rows | total | per row |",
        "|---|---:|---:|---:|",
        f"| TreeSHAP (`clarify_check.tree_shap`, LightGBM `pred_contrib`, exact) | {n_rows} | {tree_seconds:.2f} s "
        f"| {tree_per_row * 1e3:.3f} ms |",
        f"| KernelSHAP (`shap.KernelExplainer`, nsamples={args.nsamples}, `shap.kmeans` {args.clusters} centroids, "
        f"l1_reg=False) | {len(rows)} | {kernel_seconds:.2f} s | {kernel_per_row * 1e3:.1f} ms |",
        f"| KernelSHAP, same with shap's default l1_reg=num_features(10) | {len(rows)} | {default_seconds:.2f} s "
        f"| {default_seconds / len(rows) * 1e3:.1f} ms |",
        "",
        f"**TreeSHAP is {ratio:.1f}x faster per row** (goal >= 10x: {goal}).",
        "",
        f"KernelSHAP error against the exact TreeSHAP values of the same {len(rows)} rows x "
        f"{matrix.shape[1]} features: **mean abs error {err.mean():.4f}, max abs error {err.max():.4f}** "
        f"(mean |TreeSHAP value| {scale:.4f}); with shap's default l1_reg (10 of 13 features kept per row): "
        f"mean abs error {default_err.mean():.4f}, max abs error {default_err.max():.4f}.",
    ]
    if decomposition:
        k, s_mean, s_max, d_mean, d_max = decomposition
        lines += [
            "",
            f"Where that error comes from, on {k} of those rows with exact Shapley values of KernelSHAP's own game "
            f"(all {2 ** matrix.shape[1] - 2} coalitions, same {args.clusters}-centroid background):",
            f"- sampling (nsamples={args.nsamples} vs all coalitions): mean abs {s_mean:.4f}, max abs {s_max:.4f};",
            f"- definition (interventional on {args.clusters} centroids vs TreeSHAP's path-dependent expectation "
            f"over the training data): mean abs {d_mean:.4f}, max abs {d_max:.4f}.",
        ]
    lines += [
        "",
        "Both run on the same LightGBM threads (`--threads`), KernelSHAP through its batched model calls. "
        "TreeSHAP's cost grows with trees x leaves x depth^2, KernelSHAP's with nsamples x background size model rows.",
    ]
    Path(args.output).write_text("\n".join(lines) + "\n")
    print(f"{PROG}: wrote {args.output}")
    print(f"{PROG}: expected value {tree_expected:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
