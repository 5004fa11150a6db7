"""The local runner's commands: run, runs, registry, serve (wired into `lgbm-pipeline`)."""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..emit import render_json
from . import paths
from .records import Execution, RunStore, StepRecord

DEFAULT_WORK_DIR = ".lgbm-pipeline"
ARN_HINT = (
    "pass it as `lgbm-pipeline registry list` prints it: "
    "arn:aws:sagemaker:REGION:ACCOUNT:model-package/GROUP/VERSION"
)
_MARKS = {"started": "▶", "succeeded": "✓", "failed": "✗", "skipped": "–", "cached": "↺"}


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} {item!r}: expected NAME=VALUE")
        out[key] = value
    return out


def _data_pairs(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        # The S3 URI contains no '=', the local path may: split at the first '=' after 's3://'.
        uri, sep, path = item.partition("=")
        if not sep or not uri.startswith("s3://") or not path:
            raise ValueError(f"--data {item!r}: expected S3_URI=LOCAL_PATH")
        out[uri] = path
    return out


def checked_work_dir(value: str) -> Path:
    """The work dir to use. The default one lives in the user's checkout, where a cloned repository
    could have planted it as a symlink to anywhere: a symlinked default is refused (an explicit
    --work-dir is the user's own choice, link or not)."""
    path = Path(value)
    if value == DEFAULT_WORK_DIR and path.is_symlink():
        raise paths.UnsafePath(
            "work dir",
            value,
            f"the default work dir is a symlink (to {path.readlink()})",
            f"remove it, or pass --work-dir {path.readlink()} if you mean it",
        )
    return path


def progress(event: str, record: StepRecord) -> None:
    mark = _MARKS[event]
    if event == "started":
        line = f"{mark} {record.name} [{record.type}]"
    elif event == "failed":
        line = f"{mark} {record.name} failed: {record.failure_reason}"
    elif event == "skipped":
        line = f"{mark} {record.name} {record.status.lower()}: {record.note}"
    else:
        extra = f" — {record.note}" if record.note else ""
        line = f"{mark} {record.name} {'reused' if record.cached else f'{record.seconds:.1f}s'}{extra}"
    print(line, file=sys.stderr, flush=True)


def summary(execution: Execution, work_dir: Path) -> dict[str, Any]:
    return {
        "execution_id": execution.id,
        "pipeline": execution.pipeline_name,
        "status": execution.status,
        "failure_reason": execution.failure_reason,
        "registered_model_package": execution.registered_model_package,
        "report": execution.report,
        "work_dir": str(work_dir),
        "parameters": execution.parameters,
        "inputs": execution.inputs,
        "steps": [
            {k: v for k, v in asdict(s).items() if k != "input_hash"} | {"outputs": s.properties}
            for s in execution.steps.values()
        ],
    }


def cmd_run(args: argparse.Namespace) -> int:
    from .api import run_spec
    from .runner import RunOptions

    if not args.local:
        raise ValueError(
            "only local runs are supported: add --local (cloud runs go through SageMaker itself)"
        )
    from ..variables import parse_vars

    work_dir = checked_work_dir(args.work_dir)
    if args.resume:  # before compiling: a run id that is a path is refused at once
        RunStore(work_dir).dir(args.resume)
    options = RunOptions(
        work_dir=work_dir,
        parameters=_pairs(args.param, "--param"),
        data=_data_pairs(args.data),
        resume=args.resume,
        first_run=args.first_run,
        listener=None if args.json else progress,
    )
    execution = run_spec(args.spec, options, parse_vars(args.var))
    if args.json:
        sys.stdout.write(render_json(summary(execution, work_dir)))
    else:
        for uri, source in execution.inputs.items():
            print(f"input {uri} from {source}", file=sys.stderr)
        print(f"run {execution.id}: {execution.status}", file=sys.stderr)
        if execution.failure_reason:
            print(execution.failure_reason, file=sys.stderr)
        if execution.registered_model_package:
            print(f"registered {execution.registered_model_package}", file=sys.stderr)
        if execution.report:
            print(f"report {execution.report}", file=sys.stderr)
    return 0 if execution.status == "Succeeded" else 1


def cmd_runs(args: argparse.Namespace) -> int:
    runs = RunStore(checked_work_dir(args.work_dir)).list()
    for run in runs:
        failed = [s.name for s in run.steps.values() if s.status in ("Failed", "Stopped")]
        print(
            f"{run.id}  {run.pipeline_name}  {run.status}  {run.started}"
            + (f"  failed: {', '.join(failed)}" if failed else "")
            + (f"  ({run.failure_reason})" if run.status != "Succeeded" and run.failure_reason else "")
        )
    if not runs:
        print(f"no runs under {args.work_dir}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_run_report

    work_dir = checked_work_dir(args.work_dir)
    RunStore(work_dir).dir(args.run_id)  # a run id that is a path is refused, naming it
    html, markdown = write_run_report(work_dir, args.run_id)
    print(f"wrote {html} and {markdown}", file=sys.stderr)
    if args.pdf:
        from ..report.pdf import write_pdf

        print(f"wrote {write_pdf(html, f'Run {args.run_id}: bias and SHAP report')}", file=sys.stderr)
    return 0


def cmd_registry(args: argparse.Namespace) -> int:
    """List the local registry, or approve (reject) a package. Approving runs the deploy handler
    with the event the pipeline's deploy step left pending for the package, as the approval
    EventBridge rule does in AWS (step_scripts/deploy_endpoint.py)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..step_scripts import deploy_endpoint
    from .autoscaling import LocalApplicationAutoScaling
    from .control import LocalSageMaker, validated
    from .registry import LocalRegistry, RegistryError, parse_versioned

    work_dir = checked_work_dir(args.work_dir)
    registry = LocalRegistry(work_dir)
    control = LocalSageMaker(work_dir, registry)
    if args.action == "list":
        for group in registry.groups():
            for package in registry.versions(group):
                pending = control.pending_deployment(package["ModelPackageArn"])
                print(
                    f"{package['ModelPackageArn']}  {package['ModelApprovalStatus']}  {package['CreationTime']}"
                    + (f"  pending deployment to {pending['event']['endpoint_name']}" if pending else "")
                )
        return 0
    if not args.arn:
        raise ValueError("registry approve needs a model package ARN (see: lgbm-pipeline registry list)")
    status = "Rejected" if args.reject else "Approved"
    try:
        validated("UpdateModelPackage", {"ModelPackageArn": args.arn, "ModelApprovalStatus": status})
        parse_versioned(args.arn)  # the whole ARN, before it comes near a path
    except ClientError as err:
        raise LookupError(f"{err.response['Error']['Message']} (local registry: {registry.root})") from None
    except RegistryError as err:
        raise paths.UnsafePath(
            "model package ARN", args.arn, "not a versioned model package ARN", ARN_HINT
        ) from err
    try:
        answer = control.update_model_package(ModelPackageArn=args.arn, ModelApprovalStatus=status)
    except ClientError as err:
        raise LookupError(f"{err.response['Error']['Message']} (local registry: {registry.root})") from None
    arn = answer["ModelPackageArn"]
    print(f"{arn}: {status}")
    if args.reject:
        return 0
    pending = control.pending_deployment(arn)
    if pending is None:
        print(f"no pending deployment for {arn}")
        return 0
    try:
        result = deploy_endpoint.handle(pending["event"], control, LocalApplicationAutoScaling(control))
    except (ValueError, deploy_endpoint.DeployError, BotoCoreError, ClientError) as err:
        # ValueError: a malformed pending event (parse_event), one line like the rest
        raise ValueError(f"deploying {arn} failed: {err}") from None
    if result["action"] == "skipped":  # its status changed again meanwhile: it stays pending
        print(f"not deployed: {result['reason']}")
        return 1
    control.clear_pending_deployment(arn)
    print(
        f"deployed to endpoint {result['endpoint_name']} ({result['action']}: model {result['model_name']}, "
        f"endpoint config {result['endpoint_config_name']})"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve an endpoint (every production variant of its config, with its data capture) or one
    model package (a single ``AllTraffic`` variant, no capture)."""
    from botocore.exceptions import ClientError

    from .capture import CaptureConfigError
    from .control import LocalSageMaker
    from .registry import LocalRegistry, RegistryError
    from .serve import load_model, make_server
    from .store import ObjectStore
    from .variants import EndpointConfigError, load_endpoint, single_model_endpoint

    work_dir = checked_work_dir(args.work_dir)
    store = ObjectStore(work_dir)
    control = LocalSageMaker(work_dir)
    try:
        if args.model_package:
            model = load_model(store, LocalRegistry(work_dir).model_data_url(args.model_package))
            endpoint, what = single_model_endpoint(model), args.model_package
        else:
            endpoint = load_endpoint(control, store, args.endpoint, seed=args.seed)
            variants = ", ".join(f"{v.name} (weight {v.weight:g})" for v in endpoint.variants)
            what = f"endpoint {args.endpoint}: {variants}"
    except ClientError as err:
        known = ", ".join(control.endpoints()) or "none"
        raise LookupError(
            f"{err.response['Error']['Message']} (endpoints under {work_dir}: {known})"
        ) from None
    except (CaptureConfigError, EndpointConfigError, RegistryError) as err:
        raise ValueError(str(err)) from None
    server = make_server(endpoint, args.host, args.port)
    capture = endpoint.capture
    if capture is not None:
        config = capture.config
        what += f"; capturing {config.percentage}% of requests to {config.destination}/{args.endpoint}/"
    print(
        f"serving {what} on http://{args.host}:{server.server_address[1]} (POST /invocations, GET /ping)",
        file=sys.stderr,
        flush=True,
    )

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM and SIGHUP end serving as Ctrl-C does: captures are written

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
        written = endpoint.close()
        if written:
            print(f"wrote {len(written)} capture file(s) on exit", file=sys.stderr, flush=True)
    return 0


def add_commands(sub: argparse._SubParsersAction, with_spec: Any) -> None:
    def work_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--work-dir",
            default=DEFAULT_WORK_DIR,
            help=f"local object store and records (default {DEFAULT_WORK_DIR})",
        )

    p = sub.add_parser("run", help="run the compiled pipeline locally (no Docker, no AWS)")
    with_spec(p)
    p.add_argument("--local", action="store_true", help="run on this machine")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a pipeline parameter")
    p.add_argument(
        "--data", action="append", default=[], metavar="S3_URI=PATH", help="local file for an S3 input"
    )
    p.add_argument("--resume", metavar="RUN_ID", help="re-run failed and not-run steps of an earlier run")
    p.add_argument(
        "--first-run",
        action="store_true",
        help="establish the first Clarify baselines: every Skip…Check and RegisterNew…Baseline parameter "
        "set to true (a check with no baseline fails otherwise, as in SageMaker)",
    )
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    work_dir(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("runs", help="list local runs")
    work_dir(p)
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("report", help="write a run's bias and SHAP report (HTML + markdown)")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--pdf", action="store_true", help="also write report.pdf beside report.html")
    work_dir(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "registry",
        help="the local model registry: list packages, approve one (and run its pending deployment)",
    )
    p.add_argument("action", choices=["list", "approve"])
    p.add_argument(
        "arn",
        nargs="?",
        help="model package ARN (approve): approving deploys it to the endpoint its pipeline's deploy "
        "step skipped, if any",
    )
    p.add_argument("--reject", action="store_true", help="with approve: reject instead")
    work_dir(p)
    p.set_defaults(func=cmd_registry)

    p = sub.add_parser("serve", help="serve a locally deployed endpoint or model package over HTTP")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--endpoint", help="an endpoint the deploy step created")
    target.add_argument("--model-package", help="a model package ARN from the local registry")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed the variant routing and the capture sampling (the same requests route and are "
        "captured the same way every time)",
    )
    work_dir(p)
    p.set_defaults(func=cmd_serve)
