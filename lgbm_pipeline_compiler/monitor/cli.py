"""`lgbm-pipeline monitor ENDPOINT`: captured traffic against the served package's baselines.

Locally it reads the local control plane and object store under ``--work-dir``; with ``--aws``,
SageMaker and S3 through boto3 (s3.py: the standard credential chain, ``--region``), by the same
code (blobs.py's read-only blob source). Exit 0: no violation; 1: violations (listed in
``constraint_violations.json``, summed up on stderr); 2: bad input (no such endpoint, bucket or
object, no capture, no baseline, unreadable captures or ground truth), one line; 3 (``--aws``):
the environment (no or rejected credentials, AccessDenied, no region, no network), one line.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .blobs import BlobSource

EXIT_CLEAN, EXIT_VIOLATIONS = 0, 1
DEFAULT_OUT = "monitoring"


def read_ground_truth(path: Path) -> dict[str, list[str]]:
    """Model Monitor's ground-truth records (AWS, "Ingest Ground Truth labels and merge them with
    predictions"): JSON Lines ``{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata":
    {"eventId": "..."}, "eventVersion": "0"}``; the id is the captured record's inferenceId, else its
    eventId. ``data`` holds one label per row of the request (CSV lines: one for a one-row request,
    as in AWS's example)."""
    truth: dict[str, list[str]] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise ValueError(f"--ground-truth {path}: {err.strerror or err}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            data, encoding = (
                record["groundTruthData"]["data"],
                record["groundTruthData"].get("encoding", "CSV"),
            )
            event = str(record["eventMetadata"]["eventId"])
            if encoding == "BASE64":
                data = base64.b64decode(data, validate=True).decode("utf-8")
            elif encoding not in ("CSV", "JSON"):
                raise ValueError(f"unknown encoding {encoding!r}")
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"--ground-truth {path} line {number}: not a Model Monitor ground-truth record ({err})"
            ) from None
        truth[event] = [v.strip() for v in str(data).splitlines() if v.strip()]
    return truth


def _since(text: str | None) -> dt.datetime | None:
    from .captured import parse_time

    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise ValueError(
            f"--since {text!r}: expected an ISO 8601 time such as 2026-11-30T18:00:00Z"
        ) from None


def _control_and_blobs(args: argparse.Namespace, work_dir: Path) -> tuple[Any, BlobSource]:
    """SageMaker (its Describe calls) and the blob source: AWS's with ``--aws``, else the local ones."""
    if args.aws:
        from .s3 import connect

        return connect(args.region)
    if args.region:
        raise ValueError("--region applies to --aws (the local control plane has no region)")
    from ..local.control import LocalSageMaker
    from ..local.store import ObjectStore
    from .blobs import LocalBlobs

    return LocalSageMaker(work_dir), LocalBlobs(ObjectStore(work_dir))


def run_monitor(args: argparse.Namespace) -> tuple[list[Any], list[Path]]:
    """The checks' results and the files written."""
    from ..local.cli import checked_work_dir
    from . import checks
    from .captured import capture_files, features_as_text, read_captured
    from .output import write_outputs
    from .sources import baseline_predictions, load_served_model, read_json, served

    since = _since(args.since)
    work_dir = checked_work_dir(args.work_dir)
    control, blobs = _control_and_blobs(args, work_dir)
    source = served(control, args.endpoint, args.variant)
    if "data_quality" not in source.baselines:
        raise ValueError(
            f"model package {source.package_arn} has no DriftCheckBaselines.ModelDataQuality (Statistics and "
            "Constraints): register it with a data-quality baseline to monitor data quality"
        )
    model = load_served_model(blobs, source.model_data_url)
    schema = model.schema
    features = list(schema["features"])
    files = [
        f
        for f in capture_files(blobs, source.capture_destination, args.endpoint)
        if f.variant in source.variants
    ]
    captured = read_captured(files, schema, since)
    truth = read_ground_truth(Path(args.ground_truth)) if args.ground_truth else None

    statistics_uri, constraints_uri = source.baselines["data_quality"]
    statistics = read_json(blobs, statistics_uri, "the data-quality baseline statistics")
    constraints = read_json(blobs, constraints_uri, "the data-quality baseline constraints")
    results = [checks.data_quality(features_as_text(captured, features), statistics, constraints)]
    reference, where = baseline_predictions(blobs, source.package)
    results.append(checks.prediction_drift(captured, reference, constraints, where))
    bias_baseline = None
    if "bias" in source.baselines:
        config_uri, baseline_uri = source.baselines["bias"]
        bias_baseline = read_json(blobs, baseline_uri, "the bias baseline")
        labels = checks.ground_truth_labels(captured, truth) if truth is not None else None
        config = read_json(blobs, config_uri, "the bias analysis config")
        results.append(checks.bias_drift(captured, labels, config, bias_baseline, schema))
    else:
        results.append(
            checks.CheckResult("bias drift", "not computed", note="the package has no bias baseline")
        )
    if "explainability" in source.baselines:
        config_uri, baseline_uri = source.baselines["explainability"]
        config = read_json(blobs, config_uri, "the explainability analysis config")
        baseline = read_json(blobs, baseline_uri, "the explainability baseline")
        results.append(checks.attribution_drift(model, captured, config, baseline))
    else:
        results.append(
            checks.CheckResult(
                "feature attribution drift", "not computed", note="the package has no explainability baseline"
            )
        )
    times = sorted(captured["_inference_time"])
    meta = {
        "endpoint": args.endpoint,
        "variants": source.variants,
        "model_package": source.package_arn,
        "rows": len(captured),
        "first_inference": times[0],
        "last_inference": times[-1],
        "since": args.since,
        "capture_files": len(files),
    }
    out = Path(args.out) if args.out else work_dir / DEFAULT_OUT / args.endpoint
    return results, write_outputs(out, results, meta, bias_baseline, args.pdf)


def cmd_monitor(args: argparse.Namespace) -> int:
    from ..errors import EnvironmentFailure
    from .bundled import module
    from .captured import CaptureError
    from .sources import SourceError

    input_error = module("step_common").InputError  # what the step scripts' code raises on bad data
    try:
        results, written = run_monitor(args)
    except (CaptureError, SourceError, input_error) as err:
        raise ValueError(f"monitor {args.endpoint}: {err}") from None
    except EnvironmentFailure as err:
        raise EnvironmentFailure(f"monitor {args.endpoint}: {err}") from None
    violations = [v for r in results for v in r.violations]
    for result in results:
        print(
            f"{result.name}: {result.status}" + (f" ({result.note})" if result.note else ""), file=sys.stderr
        )
    for violation in violations:
        where = violation.get("feature_name") or violation.get("facet") or violation.get("label")
        print(f"  {violation['constraint_check_type']}: {where}: {violation['description']}", file=sys.stderr)
    print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return EXIT_VIOLATIONS if violations else EXIT_CLEAN


def add_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "monitor",
        help="compare an endpoint's captured traffic with its model package's baselines (exit 1 on violations)",
        description="Data quality, prediction drift, bias drift (with --ground-truth) and feature-attribution "
        "drift of an endpoint's captured traffic (what `lgbm-pipeline serve` captured; with --aws, what "
        "SageMaker captured in S3), against the baselines registered with the model package the endpoint "
        "serves. Writes constraint_violations.json, "
        "monitor.json and report.html. Exit 0 no violation, 1 violations, 2 bad input, 3 (--aws) credentials, "
        "permissions or network.",
    )
    p.add_argument("endpoint", metavar="ENDPOINT")
    p.add_argument(
        "--since", metavar="TIME", help="only requests at or after this ISO 8601 time (UTC if no offset)"
    )
    p.add_argument(
        "--ground-truth",
        metavar="FILE",
        help="Model Monitor ground-truth JSON Lines, for the bias drift check",
    )
    p.add_argument(
        "--variant",
        help="only this production variant's traffic (needed when variants serve different packages)",
    )
    p.add_argument("--out", metavar="DIR", help=f"where to write (default WORK_DIR/{DEFAULT_OUT}/ENDPOINT)")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf")
    p.add_argument(
        "--aws",
        action="store_true",
        help="read the endpoint from SageMaker and its captures and baselines from S3 (boto3's credential "
        "chain: AWS_PROFILE, the environment; exit 3 for credentials or permissions)",
    )
    p.add_argument(
        "--region", help="with --aws: the endpoint's AWS region (default: AWS_REGION or the profile's)"
    )
    p.add_argument(
        "--work-dir",
        default=".lgbm-pipeline",
        help="local object store and records (default .lgbm-pipeline); with --aws, only the default --out",
    )
    p.set_defaults(func=cmd_monitor)
