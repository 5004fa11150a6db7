"""clarify_check.py on real Adult: independent recomputation of every metric, SHAP local accuracy,
and the script run as processing jobs (new baseline, passing and failing checks, skip_check)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from clarify_helpers import FEATURES, TARGET, ClarifyJob, analysis_config

from lgbm_pipeline_compiler.report import write_report


def metric_values(analysis: dict, stage: str, facet: str = "Sex", value: str = "Female") -> dict:
    (entry,) = [e for e in analysis[stage]["facets"][facet] if e["value_or_threshold"] == value]
    return {m["name"]: m["value"] for m in entry["metrics"]}


@pytest.fixture(scope="module")
def table(adult_inputs) -> pd.DataFrame:
    """The columns the metrics need, built with plain pandas (independent of clarify_check)."""
    frame = adult_inputs.frame
    return pd.DataFrame(
        {
            "d": frame["Sex"] == "Female",
            "y": pd.to_numeric(frame[TARGET]) == 1,
            "p": adult_inputs.proba >= 0.5,
            "g": frame["Relationship"],
        }
    )


# ------------------------------------------------------------------------------ metrics, independently


def test_dppl_is_fairlearn_demographic_parity_difference(first_run, table):
    fairlearn = pytest.importorskip("fairlearn.metrics", reason="fairlearn not installed (test-only extra)")
    expected = fairlearn.demographic_parity_difference(table["y"], table["p"], sensitive_features=table["d"])
    dppl = metric_values(first_run.analysis, "post_training_bias_metrics")["DPPL"]
    assert abs(dppl) == pytest.approx(expected, abs=1e-12)
    ratio = fairlearn.demographic_parity_ratio(table["y"], table["p"], sensitive_features=table["d"])
    di = metric_values(first_run.analysis, "post_training_bias_metrics")["DI"]
    assert min(di, 1 / di) == pytest.approx(ratio, abs=1e-12)


def test_post_training_metrics_match_pandas_and_sklearn(first_run, table):
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    got = metric_values(first_run.analysis, "post_training_bias_metrics")
    a, d = table[~table["d"]], table[table["d"]]
    rate = table.groupby("d")["p"].mean()
    assert got["DPPL"] == pytest.approx(rate[False] - rate[True], abs=1e-12)
    assert got["DI"] == pytest.approx(rate[True] / rate[False], abs=1e-12)
    assert got["RD"] == pytest.approx(recall_score(a.y, a.p) - recall_score(d.y, d.p), abs=1e-12)
    assert got["DAR"] == pytest.approx(precision_score(a.y, a.p) - precision_score(d.y, d.p), abs=1e-12)
    assert got["AD"] == pytest.approx(accuracy_score(a.y, a.p) - accuracy_score(d.y, d.p), abs=1e-12)
    npv = {k: ((~g.y) & (~g.p)).sum() / (~g.p).sum() for k, g in (("a", a), ("d", d))}
    assert got["DRR"] == pytest.approx(npv["d"] - npv["a"], abs=1e-12)
    accept = {k: g.y.sum() / g.p.sum() for k, g in (("a", a), ("d", d))}
    assert got["DCA"] == pytest.approx(accept["a"] - accept["d"], abs=1e-12)
    reject = {k: (~g.y).sum() / (~g.p).sum() for k, g in (("a", a), ("d", d))}
    assert got["DCR"] == pytest.approx(reject["d"] - reject["a"], abs=1e-12)
    te = {k: (g.y & ~g.p).sum() / (~g.y & g.p).sum() for k, g in (("a", a), ("d", d))}
    assert got["TE"] == pytest.approx(te["d"] - te["a"], abs=1e-12)
    assert got["CDDPL"] == pytest.approx(conditional_dd(table, "p"), abs=1e-12)
    assert -1 <= got["FT"] <= 1


def conditional_dd(table: pd.DataFrame, outcome: str) -> float:
    """CDD by groupby: sum_i n_i [d share of rejected_i - d share of accepted_i] / n."""
    total = 0.0
    for _, part in table.groupby("g"):
        rejected, accepted = part[~part[outcome]], part[part[outcome]]
        share_rejected = rejected["d"].mean() if len(rejected) else 0.0
        share_accepted = accepted["d"].mean() if len(accepted) else 0.0
        total += len(part) * (share_rejected - share_accepted)
    return total / table["g"].notna().sum()


def test_pre_training_metrics_match_scipy(first_run, table):
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy, ks_2samp

    got = metric_values(first_run.analysis, "pre_training_bias_metrics")
    a, d = table[~table["d"]], table[table["d"]]
    p_a = np.array([1 - a.y.mean(), a.y.mean()])
    p_d = np.array([1 - d.y.mean(), d.y.mean()])
    assert got["CI"] == pytest.approx((len(a) - len(d)) / len(table), abs=1e-12)
    assert got["DPL"] == pytest.approx(a.y.mean() - d.y.mean(), abs=1e-12)
    assert got["KL"] == pytest.approx(entropy(p_a, p_d), abs=1e-12)
    assert got["JS"] == pytest.approx(jensenshannon(p_a, p_d) ** 2, abs=1e-12)
    assert got["LP"] == pytest.approx(np.linalg.norm(p_a - p_d), abs=1e-12)
    assert got["TVD"] == pytest.approx(0.5 * np.abs(p_a - p_d).sum(), abs=1e-12)
    assert got["KS"] == pytest.approx(ks_2samp(a.y.astype(int), d.y.astype(int)).statistic, abs=1e-12)
    assert got["CDDL"] == pytest.approx(conditional_dd(table, "y"), abs=1e-12)


def test_flip_test_matches_brute_force_neighbours(bm, first_run, adult_inputs, table):
    matrix = bm.flip_test_matrix(adult_inputs.frame, adult_inputs.schema, exclude=["Sex", TARGET])
    d = table["d"].to_numpy()
    p = table["p"].to_numpy()
    a_rows, d_rows = matrix[~d], matrix[d]
    distances = (d_rows**2).sum(1)[:, None] + (a_rows**2).sum(1)[None, :] - 2 * d_rows @ a_rows.T
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :5]
    as_a = p[~d][nearest].sum(axis=1) >= 3
    own = p[d]
    expected = (np.sum(~own & as_a) - np.sum(own & ~as_a)) / d.sum()
    got = metric_values(first_run.analysis, "post_training_bias_metrics")["FT"]
    assert got == pytest.approx(expected, abs=2 / d.sum())  # at most a tie or two apart


# ------------------------------------------------------------------------------------------- SHAP


def test_shap_local_accuracy_on_every_row(adult_inputs):
    values, expected = adult_inputs.shap_values, adult_inputs.expected_value
    margin = adult_inputs.booster.predict(adult_inputs.features, raw_score=True)
    assert values.shape == (len(adult_inputs.frame), len(FEATURES))
    assert np.max(np.abs(values.sum(axis=1) + expected - margin)) < 1e-6


def test_shap_aggregations(cc):
    values = np.array([[1.0, -2.0], [-3.0, 0.0], [2.0, 1.0]])
    assert cc.aggregate_shap(values, "mean_abs").tolist() == pytest.approx([2.0, 1.0])
    assert cc.aggregate_shap(values, "median").tolist() == pytest.approx([1.0, 0.0])
    assert cc.aggregate_shap(values, "mean_sq").tolist() == pytest.approx([14 / 3, 5 / 3])


def test_job_shap_output_matches_in_process(first_run, adult_inputs):
    values, expected = adult_inputs.shap_values, adult_inputs.expected_value
    label0 = first_run.analysis["explanations"]["kernel_shap"]["label0"]
    assert label0["expected_value"] == pytest.approx(expected, abs=1e-12)
    assert list(label0["global_shap_values"]) == FEATURES
    assert list(label0["global_shap_values"].values()) == pytest.approx(
        np.abs(values).mean(axis=0), abs=1e-12
    )
    local = pd.read_csv(first_run.output / "explanations_shap" / "out.csv")
    assert list(local.columns) == FEATURES and local.shape == values.shape
    assert np.max(np.abs(local.to_numpy() - values)) < 1e-9


# ------------------------------------------------------------------------------------- the job's files


def test_analysis_json_has_clarifys_structure(first_run):
    analysis = first_run.analysis
    assert set(analysis) == {
        "version",
        "pre_training_bias_metrics",
        "post_training_bias_metrics",
        "explanations",
    }
    post = analysis["post_training_bias_metrics"]
    assert post["label"] == TARGET and post["label_value_or_threshold"] == "1"
    assert list(post["facets"]) == ["Sex"] and [e["value_or_threshold"] for e in post["facets"]["Sex"]] == [
        "Female"
    ]
    names = [m["name"] for m in post["facets"]["Sex"][0]["metrics"]]
    assert names == ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "FT", "RD", "TE"]
    for metric in post["facets"]["Sex"][0]["metrics"]:
        assert set(metric) == {"name", "description", "value"} and isinstance(metric["value"], float)
    pre = analysis["pre_training_bias_metrics"]["facets"]["Sex"][0]["metrics"]
    assert [m["name"] for m in pre] == ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
    assert first_run.result.violations == {"version": "1.0", "violations": []}
    assert "NO BASELINE" in first_run.result.stdout


def test_adult_shows_the_known_gender_gap(first_run):
    post = metric_values(first_run.analysis, "post_training_bias_metrics")
    assert 0.1 < post["DPPL"] < 0.35 and 0.1 < post["DI"] < 0.6  # women predicted >50K far less often
    assert metric_values(first_run.analysis, "pre_training_bias_metrics")["CI"] > 0.2  # fewer women


def test_report_files(first_run):
    page = (first_run.output / "report.html").read_text()
    label0 = first_run.analysis["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    top = sorted(label0, key=lambda n: -label0[n])[:3]
    for text in (
        "Facet <code>Sex</code> = Female",
        "DPPL",
        "Disparate Impact (DI)",
        "four-fifths rule",
        f"trees, {len(FEATURES)} features)",  # the model, as clarify_check.py described it
        *top,
    ):
        assert text in page, text
    assert page.count("<svg") == 5  # post: DI + bars; pre: bars; SHAP: importance + beeswarm
    markdown = (first_run.output / "report.md").read_text()
    assert (
        "**NO BASELINE**" in markdown
        and "| Sex=Female | DPPL |" in markdown
        and f"| 1 | {top[0]} |" in markdown
    )


# -------------------------------------------------------------------------------- baseline semantics


def lowered_dppl(analysis: dict, value: float = 0.01) -> dict:
    baseline = copy.deepcopy(analysis)
    for metric in baseline["post_training_bias_metrics"]["facets"]["Sex"][0]["metrics"]:
        if metric["name"] == "DPPL":
            metric["value"] = value
    return baseline


BIAS_ONLY = {"post_training_bias": {"methods": ["DPPL", "DI", "AD"]}}


def test_same_baseline_passes(clarify_job, first_run):
    result = clarify_job.run("bias", analysis_config(methods=BIAS_ONLY), baseline=first_run.analysis)
    assert result.returncode == 0, result.stderr
    assert "PASSED" in result.stdout and result.violations["violations"] == []


def test_violation_fails_with_one_clear_line(clarify_job, first_run):
    baseline = lowered_dppl(first_run.analysis)
    result = clarify_job.run("bias", analysis_config(methods=BIAS_ONLY), baseline=baseline)
    dppl = metric_values(first_run.analysis, "post_training_bias_metrics")["DPPL"]
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("clarify_check: error: bias check failed: DPPL for Sex=Female is ")
    assert f"is {dppl:.4f}, farther from 0 than the baseline 0.0100" in lines[0]
    (violation,) = result.violations["violations"]
    assert (
        violation["metric_name"] == "DPPL"
        and violation["facet"] == "Sex"
        and violation["facet_value"] == "Female"
    )
    assert violation["constraint_check_type"] == "bias_drift_check"
    assert metric_values(result.analysis, "post_training_bias_metrics")["DPPL"] == dppl


def test_skip_check_passes_even_with_a_violation(clarify_job, first_run):
    config = analysis_config(methods=BIAS_ONLY)
    result = clarify_job.run(
        "bias", config, "--skip-check", "true", baseline=lowered_dppl(first_run.analysis)
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and "SKIPPED" in result.stdout
    assert [v["metric_name"] for v in result.violations["violations"]] == ["DPPL"]  # recorded, not enforced
    gone = clarify_job.run(
        "bias", config, "--skip-check", "true", "--baseline-constraints", "/nonexistent.json"
    )
    assert gone.returncode == 0 and "SKIPPED" in gone.stdout and "not usable" in gone.stdout, gone.stderr
    broken = clarify_job.run("bias", config, "--baseline-constraints", "/nonexistent.json")
    assert broken.returncode == 1
    assert broken.stderr == "clarify_check: error: baseline constraints '/nonexistent.json' does not exist\n"


def test_fail_on_violation_false_does_not_fail(clarify_job, first_run):
    config = analysis_config(methods=BIAS_ONLY)
    extra = ("--fail-on-violation", "false", "--report-data")
    result = clarify_job.run("bias", config, *extra, baseline=lowered_dppl(first_run.analysis))
    assert result.returncode == 0, result.stderr
    assert "NOT ENFORCED" in result.stdout
    write_report(clarify_job.output)
    page = (clarify_job.output / "report.html").read_text()
    assert "NOT ENFORCED" in page and "violates the baseline" in page and "0.0100" in page


EXPLAIN_ROWS = 300
"""Rows the explainability checks below explain (exact TreeSHAP costs ~2 ms a row): the first of
the Clarify dataset's; the nDCG verdict holds for any rows (the baseline's ranking is reversed, or
is these rows' own)."""


def test_explainability_ranking_drift_fails(tmp_path, trained, clarify_csv, first_run):
    sample = tmp_path / "sample" / "clarify.csv"
    sample.parent.mkdir()
    sample.write_text("".join(clarify_csv.read_text().splitlines(keepends=True)[:EXPLAIN_ROWS]))
    job = ClarifyJob(tmp_path / "job", trained.archive, sample)
    baseline = {"version": "1.0", "explanations": copy.deepcopy(first_run.analysis["explanations"])}
    shap = baseline["explanations"]["kernel_shap"]["label0"]["global_shap_values"]
    ranked = sorted(shap, key=lambda n: -shap[n])
    for name, value in zip(ranked, sorted(shap.values()), strict=True):  # reverse the ranking
        shap[name] = value
    result = job.run("explainability", analysis_config(), baseline=baseline)
    assert result.returncode == 3, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "clarify_check: error: explainability check failed: nDCG of the SHAP feature ranking"
    )
    assert "below the threshold 0.90 (label label0)" in line
    (violation,) = result.violations["violations"]
    assert (
        violation["constraint_check_type"] == "feature_attribution_drift_check" and violation["value"] < 0.9
    )
    assert result.analysis["explanations"] != first_run.analysis["explanations"]  # its own rows' SHAP
    same = job.run("explainability", analysis_config(), baseline=result.analysis)  # the same rows'
    assert same.returncode == 0 and "PASSED" in same.stdout, same.stderr
    assert same.analysis == result.analysis


def test_bad_inputs_are_one_line_errors(clarify_job, tmp_path):
    result = clarify_job.run("bias", {"facet": [{"name_or_index": "Race"}], "methods": BIAS_ONLY})
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"clarify_check: error: facet[0] 'Race' is not in headers {[TARGET, *FEATURES]}"
    )
    missing = clarify_job.run(
        "bias", analysis_config(methods=BIAS_ONLY), "--data-dir", str(tmp_path / "none")
    )
    assert missing.returncode == 1 and "data path" in missing.stderr and "does not exist" in missing.stderr
