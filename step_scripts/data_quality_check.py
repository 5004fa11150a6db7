"""Data-quality baseline of the training split, as Model Monitor's analyzer writes it, and its check.

A stand-in for the sagemaker-model-monitor-analyzer container in a QualityCheckStep
(DataQualityCheckConfig), run in a scikit-learn processing job (Python 3.9, pandas and numpy only)
or on a laptop. The computation is data_quality.py's (shipped beside this script on PYTHONPATH,
and shared with ``lgbm-pipeline monitor``). Modes:

- ``--mode baseline`` (default): read the training split (``--data-dir``: preprocessing.py's
  ``train/``: every CSV in it, with a header, target first, and ``schema.json``; a sharded train
  split, for data-parallel training, has no schema.json: then ``--schema-dir``'s, the validation
  split's, which is the same), profile its features (the
  schema's ``features``, without the target: what the endpoint receives), and write under
  ``--output-dir``: ``statistics.json`` and ``constraints.json`` (the calculated baseline:
  QualityCheckStep's CalculatedBaselineStatistics / CalculatedBaselineConstraints);
  ``constraint_violations.json`` (``{"violations": [...]}``, empty when nothing was compared);
  ``drift_check_statistics.json`` and ``drift_check_constraints.json`` (BaselineUsedForDriftCheck*:
  this run's baseline when ``--register-new-baseline`` is true or there was none, else the
  supplied one).
- ``--mode dataset``: write the features of the training split with a header as
  ``--output-dir``/baseline.csv, the baseline dataset Model Monitor's analyzer reads.

The previous baseline follows QualityCheckStep ("Baseline calculation, drift detection and
lifecycle with ClarifyCheck and QualityCheck steps", SageMaker Developer Guide): the supplied one
(``--baseline-statistics``, ``--baseline-constraints``: a JSON file or a dir holding
statistics.json / constraints.json; ``{}`` or an empty dir means none); else, with
``--model-package-group``, the DriftCheckBaselines.ModelDataQuality of the latest Approved package
in the group, looked up with boto3 (the job's role needs sagemaker:ListModelPackages,
sagemaker:DescribeModelPackage and s3:GetObject on the baseline); else, unless both
``--skip-check`` and ``--register-new-baseline`` are true (a first run), the step fails. With
``--skip-check`` violations are recorded but never fail the step (nor does a broken baseline);
likewise with ``--fail-on-violation false``.

Exit status: 0 done, 1 bad input or no baseline, 2 bad arguments, 3 check failed (one
``data_quality_check: error: ...`` line on stderr naming the first violation).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import data_quality
from step_common import (
    InputError,
    Progress,
    latest_approved,
    load_json,
    new_parser,
    parse_bool,
    run_main,
    violation_exit,
)

PROG = "data_quality_check"
FILES = {"statistics": "statistics.json", "constraints": "constraints.json"}
DRIFT_FILES = {"statistics": "drift_check_statistics.json", "constraints": "drift_check_constraints.json"}
VIOLATIONS_FILE = "constraint_violations.json"
DRIFT_SECTION = "ModelDataQuality"  # where a model package keeps this baseline (DriftCheckBaselines)
DATASET_FILE = "baseline.csv"


def build_parser() -> argparse.ArgumentParser:
    p = new_parser(PROG, __doc__)
    p.add_argument("--mode", choices=("baseline", "dataset"), default="baseline")
    p.add_argument("--data-dir", default="/opt/ml/processing/input/data")
    p.add_argument("--schema-dir", default=None, help="schema.json here when --data-dir has none")
    p.add_argument("--output-dir", default="/opt/ml/processing/output")
    p.add_argument("--baseline-statistics", default=None, help="statistics JSON (or a dir holding one)")
    p.add_argument("--baseline-constraints", default=None, help="constraints JSON (or a dir holding one)")
    p.add_argument("--model-package-group", default=None, help="else, the latest Approved baseline here")
    p.add_argument("--skip-check", type=parse_bool, default=False)
    p.add_argument("--register-new-baseline", type=parse_bool, default=False)
    p.add_argument("--fail-on-violation", type=parse_bool, default=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(PROG, build_parser().parse_args, run, argv)


def read_training(data_dir: Path, schema_dir: Path | None = None) -> tuple[Any, list[str]]:
    """The training split's features (categoricals as text) and their names, in schema order; the
    schema from ``schema_dir`` when ``data_dir`` has none (a sharded train split)."""
    schema_file = data_dir / "schema.json"
    if schema_dir is not None and not schema_file.is_file():
        schema_file = schema_dir / "schema.json"
        print(
            f"{PROG}: the train split has no schema.json (a sharded split): reading {schema_file}",
            flush=True,
        )
    schema = load_json(schema_file, "training schema")
    try:
        frame = data_quality.read_split(data_dir, schema)
    except ValueError as exc:
        raise InputError(f"cannot read the training split: {exc}") from None
    print(f"{PROG}: read train: {len(frame):,} rows, {len(schema['features'])} features", flush=True)
    return frame, list(schema["features"])


def load_document(path: str | None, kind: str) -> dict | None:
    """A supplied statistics or constraints JSON (a file, or a dir holding ``{kind}.json`` or one
    *.json); None when none was supplied (no path, ``{}``, or a dir without JSON)."""
    if not path:
        return None
    where = Path(path)
    if where.is_dir():
        found = [where / FILES[kind]] if (where / FILES[kind]).is_file() else sorted(where.glob("*.json"))
        if not found:
            return None
        if len(found) > 1:
            raise InputError(f"baseline dir '{where}' must hold {FILES[kind]} or exactly one *.json file")
        where = found[0]
    data = load_json(where, f"baseline {kind}")
    if not isinstance(data, dict):
        raise InputError(f"baseline {kind} '{where.name}' must be a JSON object")
    if data and not isinstance(data.get("features"), list):
        raise InputError(
            f"baseline {kind} '{where.name}' has no 'features' list (Model Monitor's {FILES[kind]})"
        )
    return data or None


def no_baseline_message(group: str | None) -> str:
    where = (
        f"no Approved package in model package group {group} has one" if group else "no model package group"
    )
    return (
        f"no data quality baseline: none supplied (--baseline-constraints) and {where} "
        f"(DriftCheckBaselines.{DRIFT_SECTION}). QualityCheckStep needs the previous baseline unless SkipCheck "
        "and RegisterNewBaseline are both true; for a first run set data_quality.baseline.skip_check and "
        "register_new_baseline true (or their pipeline parameters; locally: lgbm-pipeline run --local "
        "--first-run), or supply data_quality.baseline.supplied_statistics and supplied_constraints"
    )


def latest_approved_baseline(client: Any, group: str) -> dict[str, str | None] | None:
    """{"statistics": uri, "constraints": uri} of DriftCheckBaselines.ModelDataQuality in the latest
    Approved package of ``group`` that has its constraints (ListModelPackages, Approved, newest
    first, page by page); None if none. ``client`` answers as boto3's SageMaker client does."""

    def pick(package: dict[str, Any]) -> dict[str, str | None] | None:
        quality = (package.get("DriftCheckBaselines") or {}).get(DRIFT_SECTION) or {}
        uris = {kind: (quality.get(kind.capitalize()) or {}).get("S3Uri") for kind in FILES}
        return uris if uris["constraints"] else None

    return latest_approved(client, group, pick)


def aws_clients() -> tuple[Any, Any]:
    import boto3  # in the scikit-learn image; only a job that looks its baseline up needs it

    return boto3.client("sagemaker"), boto3.client("s3")


def looked_up(group: str) -> tuple[dict | None, dict]:
    """(statistics, constraints) of the latest Approved package's baseline, read with boto3."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        sagemaker, s3 = aws_clients()
        uris = latest_approved_baseline(sagemaker, group)
        if uris is None:
            raise InputError(no_baseline_message(group))
        documents = {}
        for kind, uri in uris.items():
            bucket, _, key = (uri or "").removeprefix("s3://").partition("/")
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read() if uri else b"{}"
            documents[kind] = json.loads(body) or None
    except (BotoCoreError, ClientError, ValueError) as exc:
        raise InputError(
            f"cannot look up the data quality baseline in model package group {group}: {exc} (the job's role "
            "needs sagemaker:ListModelPackages, sagemaker:DescribeModelPackage and s3:GetObject on the baseline)"
        ) from None
    print(f"{PROG}: checking against the baseline {uris['constraints']} (latest Approved package in {group})")
    return documents["statistics"], documents["constraints"]


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def profile(frame: Any, features: list[str]) -> dict:
    """compute_statistics, with a progress line per feature batch in the job log."""
    progress = Progress(PROG, "profiled", len(features), "features", rate=False)
    parts = []
    for i, name in enumerate(features):
        parts.append(data_quality.compute_statistics(frame, [name])["features"][0])
        progress.update(i + 1)
    return {"version": 0, "dataset": {"item_count": len(frame)}, "features": parts}


def run(args: argparse.Namespace) -> int:
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame, features = read_training(Path(args.data_dir), Path(args.schema_dir) if args.schema_dir else None)
    if args.mode == "dataset":
        frame.to_csv(out / DATASET_FILE, index=False)
        print(f"{PROG}: wrote {out / DATASET_FILE} ({len(frame):,} rows, features only, with a header)")
        return 0
    first_run = args.skip_check and args.register_new_baseline
    try:
        statistics = load_document(args.baseline_statistics, "statistics")
        constraints = load_document(args.baseline_constraints, "constraints")
    except InputError:
        if not args.skip_check:
            raise
        statistics = constraints = None  # not enforced: a broken baseline cannot fail the step
    if constraints is None and args.model_package_group and not first_run:
        statistics, constraints = looked_up(args.model_package_group)
    if constraints is None and not first_run:
        raise InputError(no_baseline_message(args.model_package_group))
    calculated = profile(frame, features)
    suggested = data_quality.suggest_constraints(calculated)
    write_json(out / FILES["statistics"], calculated)
    write_json(out / FILES["constraints"], suggested)
    violations: list[dict] = []
    if constraints is not None:
        try:
            violations = data_quality.check_constraints(calculated, statistics, constraints)
        except (KeyError, TypeError, ValueError) as exc:
            if not args.skip_check:
                raise InputError(f"cannot check against the baseline constraints: {exc}") from None
    write_json(out / VIOLATIONS_FILE, {"violations": violations})
    new = args.register_new_baseline or constraints is None
    write_json(out / DRIFT_FILES["statistics"], calculated if new or statistics is None else statistics)
    write_json(out / DRIFT_FILES["constraints"], suggested if new else constraints)
    if constraints is None:
        status = "FIRST BASELINE: nothing compared"
    else:
        status = f"{len(violations)} violation(s) of the baseline"
        status += " (skip_check: not enforced)" if args.skip_check else ""
    print(f"{PROG}: {status}; wrote {out / FILES['statistics']} and {out / FILES['constraints']}")
    if violations and args.fail_on_violation and not args.skip_check:
        first = violations[0]
        more = f" ({len(violations)} violations, see {out / VIOLATIONS_FILE})"
        return violation_exit(
            PROG,
            f"data quality check failed: {first['feature_name']}: "
            f"{first['constraint_check_type']}: {first['description']}{more}",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
