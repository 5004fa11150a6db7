"""Model Monitor's drift checks against a baseline, and ClarifyCheckStep's verdict on them.

Shipped with clarify_check.py (which imports it). A baseline is Clarify's ``analysis.json`` shape
(the constraints of an earlier run). A bias metric violates when it is farther from its ideal than
the baseline's value (|value| > |baseline| + tolerance; for DI the ideal is 1 and the distance is
|ln DI|). The explainability check computes the nDCG of the current global-SHAP ranking against
the baseline's attributions (by magnitude) and violates below the threshold (0.90). Without a
baseline nothing is compared; with skip_check violations are recorded but never fail the step.

Where the baseline comes from follows ClarifyCheckStep: the supplied constraints; else the
DriftCheckBaselines of the latest Approved package in the model package group
(:func:`latest_approved_baseline`, with any boto3-style SageMaker client: the job's boto3 client in
AWS, the local runner's control plane locally); else, unless SkipCheck and RegisterNewBaseline are
both true, the check fails (:func:`no_baseline_message`). ClarifyCheckStepMetadata (SageMaker API
reference), SkipCheck: "If it is set to False, the previous baseline of the configured check type
must be available"; RegisterNewBaseline: "If it is set to False, the previous baseline of the
configured check type must also be available". :func:`resolve_baseline` applies the rule in the
job: there the lookup is made with boto3, so the job's IAM role needs sagemaker:ListModelPackages,
sagemaker:DescribeModelPackage and s3:GetObject on the baseline object. Without a model package
group no lookup is made and a missing baseline means nothing is compared (laptop runs, the report).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from bias_metrics import ALIASES
from step_common import InputError, json_number, latest_approved

NDCG_THRESHOLD = 0.90  # Model Monitor's feature attribution drift threshold
SHAP_SECTION = "kernel_shap"  # where Clarify's analysis.json keeps the SHAP values
DRIFT_CHECK_BASELINES = {
    "bias": ("Bias", "PostTrainingConstraints"),
    "explainability": ("Explainability", "Constraints"),
}
"""Where a model package keeps each check's baseline (DriftCheckBaselines, as RegisterModel writes it)."""


def ndcg(baseline: Mapping[str, float], current: Mapping[str, float]) -> float:
    """nDCG of the current ranking, with the baseline's attributions as relevance.

    Features are ranked by |global SHAP| (magnitudes, so ``median`` values rank too); DCG sums
    a(f'_i) / log2(i + 1) over the current ranking f', iDCG the same over the baseline's own
    ranking, where a(f) is the baseline attribution. A feature missing on one side counts 0.
    Ties rank by feature name. Undefined (NaN) when every baseline attribution is 0.
    """
    names = sorted(set(baseline) | set(current))
    relevance = {n: abs(json_number(baseline.get(n)) or 0.0) for n in names}
    score = {n: abs(json_number(current.get(n)) or 0.0) for n in names}

    def dcg(order: Sequence[str]) -> float:
        return sum(relevance[n] / math.log2(i + 2) for i, n in enumerate(order))

    ideal = dcg(sorted(names, key=lambda n: (-relevance[n], n)))
    return dcg(sorted(names, key=lambda n: (-score[n], n))) / ideal if ideal > 0 else float("nan")


def ndcg_against(baseline: Mapping, label: str, current: Mapping[str, float]) -> float | None:
    """nDCG of the current global SHAP values against the baseline's for ``label``; None when the
    baseline has no SHAP section or the score is undefined."""
    if SHAP_SECTION not in (baseline.get("explanations") or {}):
        return None
    base = baseline["explanations"][SHAP_SECTION].get(label) or {}
    return json_number(ndcg(base.get("global_shap_values") or {}, current))


def distance_from_ideal(name: str, value: float) -> float:
    """How far a bias metric is from no bias: |ln DI| for DI (ideal 1), |value| for the rest (ideal 0)."""
    if name == "DI":
        return abs(math.log(value)) if value > 0 else math.inf
    return abs(value)


def _metric_values(section: Mapping) -> dict[tuple[str, str, str], float | None]:
    out = {}
    for facet, entries in (section.get("facets") or {}).items():
        for entry in entries or []:
            for metric in entry.get("metrics") or []:
                name = ALIASES.get(str(metric.get("name", "")).upper(), str(metric.get("name", "")).upper())
                value = metric.get("value")
                if isinstance(value, str) and value.lstrip("+-").lower() == "infinity":
                    value = -math.inf if value.startswith("-") else math.inf
                number = value if isinstance(value, float) and math.isinf(value) else json_number(value)
                out[(str(facet), str(entry.get("value_or_threshold")), name)] = number
    return out


def compare_bias(analysis: Mapping, baseline: Mapping, tolerance: float = 0.0) -> list[dict]:
    """Model Monitor's bias drift check: a metric violates when it is farther from its ideal than the baseline."""
    violations = []
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        if key not in analysis or key not in baseline:
            continue
        base = _metric_values(baseline[key])
        for (facet, value_text, name), value in _metric_values(analysis[key]).items():
            reference = base.get((facet, value_text, name))
            if value is None or reference is None:
                continue  # undefined on either side: nothing to compare
            if distance_from_ideal(name, value) > distance_from_ideal(name, reference) + tolerance:
                ideal = "1" if name == "DI" else "0"
                violations.append(
                    {
                        "facet": facet,
                        "facet_value": value_text,
                        "metric_name": name,
                        "constraint_check_type": "bias_drift_check",
                        "description": f"Metric value {value:.6g} is farther from {ideal} than the baseline "
                        f"constraint {reference:.6g}",
                        "value": value,
                        "baseline_value": reference,
                    }
                )
    return violations


def compare_explanations(
    analysis: Mapping, baseline: Mapping, threshold: float = NDCG_THRESHOLD
) -> list[dict]:
    """Model Monitor's feature attribution drift check: nDCG(baseline, current) < threshold per label."""
    current = (analysis.get("explanations") or {}).get(SHAP_SECTION) or {}
    reference = (baseline.get("explanations") or {}).get(SHAP_SECTION) or {}
    violations = []
    for label, base in sorted(reference.items()):
        if label not in current:
            continue
        score = ndcg(base.get("global_shap_values") or {}, current[label].get("global_shap_values") or {})
        if not math.isnan(score) and score < threshold:
            violations.append(
                {
                    "label": label,
                    "metric_name": "shap",
                    "constraint_check_type": "feature_attribution_drift_check",
                    "description": f"Feature attribution drift {score:.6g} exceeds threshold {threshold:g}",
                    "value": score,
                    "baseline_value": threshold,
                }
            )
    return violations


def latest_approved_baseline(client: Any, group: str, check: str) -> str | None:
    """The S3 URI of ``check``'s DriftCheckBaselines constraints in the latest Approved package of
    model package group ``group`` that has one; None when no Approved package has one.

    ``client`` answers ``list_model_packages`` and ``describe_model_package`` as boto3's SageMaker
    client does. Packages come newest first (ListModelPackages, Approved only, sorted by
    CreationTime descending, page by page via NextToken); one without this check's baseline is
    skipped. ``check`` is ``bias`` or ``explainability``.
    """
    section, member = DRIFT_CHECK_BASELINES[check]

    def pick(package: dict[str, Any]) -> str | None:
        baselines = (package.get("DriftCheckBaselines") or {}).get(section) or {}
        return (baselines.get(member) or {}).get("S3Uri") or None

    return latest_approved(client, group, pick)


def no_baseline_message(check: str, group: str) -> str:
    """Why a check without a previous baseline fails, and the switches that establish a first one."""
    section, member = DRIFT_CHECK_BASELINES[check]
    return (
        f"no {check} baseline: none supplied (--baseline-constraints) and no Approved package in model "
        f"package group {group} has one (DriftCheckBaselines.{section}.{member}). ClarifyCheckStep needs "
        "the previous baseline unless SkipCheck and RegisterNewBaseline are both true; for a first run set "
        f"SkipCheck and RegisterNewBaseline true (spec: clarify.{check}.baseline.skip_check / "
        "register_new_baseline or their pipeline parameters; locally: lgbm-pipeline run --local --first-run)"
    )


IAM_NEEDED = (
    "the job's role needs sagemaker:ListModelPackages, sagemaker:DescribeModelPackage and s3:GetObject "
    "on the baseline"
)


def read_s3(client: Any, uri: str) -> bytes:
    """An S3 object's bytes, with a boto3-style S3 client."""
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise InputError(f"baseline '{uri}' is not an S3 object URI")
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def resolve_baseline(
    settings: Any, clients: Callable[[], tuple[Any, Any]]
) -> tuple[dict | None, str | None, str]:
    """(baseline, where it came from, why the supplied one is unusable) under ClarifyCheckStep's rule.

    ``settings`` has the job's ``baseline_constraints`` (a constraints file or dir; None, ``{}`` or
    an empty dir: none supplied), ``model_package_group``, ``check``, ``skip_check`` and
    ``register_new_baseline``. With none supplied and a group, unless this is a first run (skip
    and register): the latest Approved package's, read with the (SageMaker, S3) clients that
    ``clients()`` returns; none there is an InputError (:func:`no_baseline_message`). A broken
    supplied baseline with skip is no error: the check is not enforced, so it cannot fail the step.
    """
    supplied, group, check = settings.baseline_constraints, settings.model_package_group, settings.check
    skip, register = settings.skip_check, settings.register_new_baseline
    if supplied:
        try:
            baseline = load_baseline(Path(supplied))
        except InputError as exc:
            if not skip:
                raise
            return None, None, str(exc)
        if baseline is not None:
            return baseline, supplied, ""
    if not group or (skip and register):
        return None, None, ""
    if check not in DRIFT_CHECK_BASELINES:
        raise InputError(f"--model-package-group needs --check bias or explainability, not {check}")
    from botocore.exceptions import BotoCoreError, ClientError  # boto3's; only a lookup needs it

    try:
        sagemaker, s3 = clients()
        uri = latest_approved_baseline(sagemaker, group, check)
        if uri is None:
            raise InputError(no_baseline_message(check, group))
        baseline = parse_baseline(read_s3(s3, uri), uri)
    except (BotoCoreError, ClientError) as exc:
        raise InputError(
            f"cannot look up the {check} baseline in model package group {group}: {exc} ({IAM_NEEDED})"
        ) from None
    if baseline is None:
        raise InputError(f"the {check} baseline {uri} (latest Approved package in {group}) is empty")
    print(f"clarify_check: checking against the baseline {uri} (latest Approved package in {group})")
    return baseline, uri, ""


def parse_baseline(text: str | bytes, name: str) -> dict | None:
    """A constraints JSON's content; None for ``{}``, the compiler's "no baseline" placeholder."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"baseline constraints '{name}' is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"baseline constraints '{name}' must be a JSON object")
    return data or None


def load_baseline(path: Path) -> dict | None:
    """The constraints JSON; a directory must hold analysis.json, constraints.json or exactly one *.json.

    A directory without any JSON file means no baseline (None): a pipeline can always map a
    baseline input and leave it empty for the first run.
    """
    if path.is_dir():
        candidates = [path / "analysis.json", path / "constraints.json"]
        found = [c for c in candidates if c.is_file()] or sorted(path.glob("*.json"))
        if not found:
            return None
        if len(found) != 1 and not (found and found[0] in candidates):
            raise InputError(
                f"baseline dir '{path}' must hold analysis.json, constraints.json or one *.json file"
            )
        path = found[0]
    if not path.is_file():
        raise InputError(f"baseline constraints '{path}' does not exist")
    return parse_baseline(path.read_bytes(), path.name)


def check_baseline(
    analysis: Mapping, baseline: Mapping, checks: Sequence[str], tolerance: float, ndcg_threshold: float
) -> list[dict]:
    """Every violation of the baseline for the sections this run computed."""
    violations = []
    if "bias" in checks:
        keys = [k for k in ("pre_training_bias_metrics", "post_training_bias_metrics") if k in analysis]
        if not any(k in baseline for k in keys):
            raise InputError(f"baseline constraints have none of the bias sections {keys}")
        violations += compare_bias(analysis, baseline, tolerance)
    if "explainability" in checks:
        if SHAP_SECTION not in (baseline.get("explanations") or {}):
            raise InputError(f"baseline constraints have no explanations.{SHAP_SECTION} section")
        violations += compare_explanations(analysis, baseline, ndcg_threshold)
    return violations


def violation_line(violation: Mapping, total: int, where: Path) -> str:
    """The single stderr line that names the metric, its value and the baseline."""
    more = f" ({total} violations, see {where})" if total > 1 else f" (see {where})"
    if violation["constraint_check_type"] == "bias_drift_check":
        ideal = "1" if violation["metric_name"] == "DI" else "0"
        return (
            f"bias check failed: {violation['metric_name']} for {violation['facet']}={violation['facet_value']} "
            f"is {violation['value']:.4f}, farther from {ideal} than the baseline {violation['baseline_value']:.4f}"
            + more
        )
    return (
        f"explainability check failed: nDCG of the SHAP feature ranking against the baseline is "
        f"{violation['value']:.4f}, below the threshold {violation['baseline_value']:.2f} "
        f"(label {violation['label']})" + more
    )


def decide(
    has_baseline: bool, skip: bool, fail_on_violation: bool, violations: Sequence[Mapping]
) -> tuple[str, bool]:
    """(status, fails) under ClarifyCheckStep semantics."""
    if not has_baseline:
        return "NO BASELINE", False
    if skip:
        return "SKIPPED", False
    if not violations:
        return "PASSED", False
    return ("FAILED", True) if fail_on_violation else ("NOT ENFORCED", False)


def baseline_note(
    source: str | None, problem: str, violations: Sequence[Mapping], skip: bool, fail_on_violation: bool
) -> str:
    """One sentence on what was compared with what: ``source`` names the baseline (None: none
    given), ``problem`` says why it was not usable (with skip_check)."""
    if problem:
        return f"skip_check is true; the baseline was not usable ({problem})."
    if source is None:
        return "No baseline constraints given: metrics computed, nothing compared."
    note = f"Compared with baseline '{source}': {len(violations)} violation(s)."
    if skip:
        note += " skip_check is true: violations are recorded, not enforced."
    elif violations and not fail_on_violation:
        note += " fail_on_violation is false: the step does not fail."
    return note


@dataclass
class Verdict:
    """What ClarifyCheckStep makes of a run: status, whether the step fails, the violations, the
    baseline used for drift checks afterwards, a one-sentence note and the SHAP nDCG."""

    status: str
    fails: bool
    violations: list
    drift_baseline: Mapping
    note: str
    ndcg: float | None = None


def judge(
    analysis: Mapping,
    found: tuple[dict | None, str | None, str],
    checks: Sequence[str],
    settings: Any,
    shap: tuple[str, Mapping[str, float]] | None = None,
) -> Verdict:
    """The verdict on ``analysis`` against ``found`` (:func:`resolve_baseline`'s answer).

    ``settings`` has the job's ``skip_check``, ``register_new_baseline``, ``fail_on_violation``,
    ``bias_tolerance`` and ``ndcg_threshold``; ``shap`` is (label, global SHAP values) when
    explained. The drift baseline is this analysis when a new baseline is registered or there
    was none, else the baseline checked against (ClarifyCheckStep's
    BaselineUsedForDriftCheckConstraints).
    """
    baseline, source, problem = found
    skip, violations, score = settings.skip_check, [], None
    if baseline is not None:
        try:
            violations = check_baseline(
                analysis, baseline, checks, settings.bias_tolerance, settings.ndcg_threshold
            )
        except InputError as exc:
            if not skip:
                raise
            problem = str(exc)
        if shap is not None:
            score = ndcg_against(baseline, *shap)
    status, fails = decide(
        baseline is not None or bool(problem), skip, settings.fail_on_violation, violations
    )
    new_baseline = settings.register_new_baseline or baseline is None
    source = source if baseline is not None else None
    note = baseline_note(source, problem, violations, skip, settings.fail_on_violation)
    return Verdict(status, fails, violations, analysis if new_baseline else baseline, note, score)
