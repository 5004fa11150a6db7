"""The shipping commands, wired into `lgbm-pipeline`: ``plan``, ``deploy``, ``status``, ``iam-policy``.

Exit codes (the CLI's table): 0 ok; 1 a failed or stopped execution (``deploy --wait``, ``status``)
or an AWS failure; 2 bad input (the spec, arguments, a missing bucket or function, a role or
definition SageMaker rejects); 3 the environment (no or rejected credentials, AccessDenied, no
network). Every error is one line naming the AWS action and the fix.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

EXIT_OK, EXIT_FAILED = 0, 1


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A ShipError (or an AWS error that escaped) as one line and its exit code; spec errors go on to
    `lgbm-pipeline`'s own handler."""

    def run(args: argparse.Namespace) -> int:
        # imported here, not at module level: every `lgbm-pipeline` start (and compile --check's fast
        # path) builds this parser, and boto3/botocore cost ~0.3 s to import
        from botocore.exceptions import BotoCoreError, ClientError

        from .aws import ShipError, aws_error

        try:
            return command(args)
        except (BotoCoreError, ClientError) as err:
            error = aws_error(err, "AWS")
        except ShipError as err:
            error = err
        where = getattr(args, "spec", None) or getattr(args, "execution_arn", None)
        print(f"{where}: error: {error}" if where else f"error: {error}", file=sys.stderr)
        return error.exit_code

    return run


def _target(args: argparse.Namespace) -> Any:
    from ..variables import parse_vars
    from .target import load_target

    return load_target(args.spec, parse_vars(args.var), getattr(args, "role", None))


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_plan(args: argparse.Namespace) -> int:
    from .aws import connect
    from .plan import make_plan, render_plan

    target = _target(args)
    aws = connect(target.region)
    plan = make_plan(aws, target)
    colour = {"always": True, "never": False}.get(args.color, sys.stdout.isatty())
    sys.stdout.write(render_plan(aws, plan, colour=colour))
    return EXIT_OK


def _pairs(items: list[str]) -> dict[str, str]:
    from .aws import ShipInputError

    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ShipInputError(f"--param {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def cmd_deploy(args: argparse.Namespace) -> int:
    from .aws import ShipInputError, connect
    from .plan import apply_plan, make_plan
    from .watch import failure_lines, watch

    if not args.start and (args.first_run or args.param or args.wait):
        raise ShipInputError("--first-run, --param and --wait apply to an execution: add --start")
    overrides = _pairs(args.param)
    target = _target(args)
    parameters = {}
    if args.start:
        from .pipeline import execution_parameters

        parameters = execution_parameters(target, overrides, args.first_run)  # checked before any change
    aws = connect(target.region)
    aws.account()  # credentials that work, before anything else
    plan = make_plan(aws, target)
    apply_plan(aws, plan, _say)
    if not args.start:
        return EXIT_OK
    from .pipeline import start_execution

    arn = start_execution(aws, target, parameters)
    shown = ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())) or "defaults"
    _say(f"started execution ({shown})")
    print(arn)
    if not args.wait:
        return EXIT_OK
    final = watch(aws, arn, sys.stderr, poll=args.poll, live=sys.stderr.isatty())
    for line in failure_lines(aws, final):
        _say(line)
    return EXIT_OK if final.status == "Succeeded" else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    from .aws import connect
    from .watch import execution_region, failure_lines, progress_lines, snapshot

    aws = connect(execution_region(args.execution_arn), strict=False)
    snap = snapshot(aws, args.execution_arn)
    lines = progress_lines(snap) + failure_lines(aws, snap)
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FAILED if snap.status in ("Failed", "Stopped") else EXIT_OK


def cmd_iam_policy(args: argparse.Namespace) -> int:
    from ..emit import render_json
    from .aws import ShipInputError
    from .iam import policies

    found = policies(_target(args))
    if args.only is None:
        sys.stdout.write(render_json(found))
        return EXIT_OK
    key = {"execution": "execution_role", "lambda": "deploy_lambda_role"}[args.only]
    if key not in found:
        raise ShipInputError("the spec has no deploy: section, so there is no deploy Lambda role")
    sys.stdout.write(render_json(found[key]["policy"]))
    return EXIT_OK


def add_commands(sub: Any, with_spec: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``plan``, ``deploy``, ``status`` and ``iam-policy`` on the `lgbm-pipeline` subparsers."""
    role_help = (
        "the role SageMaker Pipelines assumes to run the pipeline (CreatePipeline RoleArn; default "
        "pipeline.role_arn; the jobs run as compiled)"
    )
    p = sub.add_parser(
        "plan",
        help="what deploy would change in AWS: uploads, the deploy Lambda, the pipeline (a semantic diff); "
        "changes nothing",
    )
    with_spec(p)
    p.add_argument("--role", metavar="ARN", help=role_help)
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    p.set_defaults(func=_guarded(cmd_plan))

    p = sub.add_parser(
        "deploy",
        help="upload the artifacts, create or update the deploy Lambda and the pipeline; optionally start "
        "and watch an execution",
        description="Credentials and region from boto3's standard chain (AWS_PROFILE, the environment, "
        "AWS_ENDPOINT_URL). Exit 0 ok (--wait: the execution succeeded), 1 failed, 2 bad input, 3 "
        "credentials or permissions.",
    )
    with_spec(p)
    p.add_argument("--role", metavar="ARN", help=role_help)
    p.add_argument("--start", action="store_true", help="start an execution after deploying; prints its ARN")
    p.add_argument(
        "--first-run",
        action="store_true",
        help="set the Clarify checks' Skip…Check and RegisterNew…Baseline parameters (the first execution)",
    )
    p.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a pipeline parameter override"
    )
    p.add_argument("--wait", action="store_true", help="show the execution's steps until it ends")
    p.add_argument("--poll", type=float, default=15.0, metavar="SECONDS", help="--wait's polling interval")
    p.set_defaults(func=_guarded(cmd_deploy))

    p = sub.add_parser(
        "status", help="a pipeline execution's steps, and each failure's reason and log streams"
    )
    p.add_argument("execution_arn", metavar="EXECUTION_ARN", help="as `deploy --start` prints it")
    p.set_defaults(func=_guarded(cmd_status))

    p = sub.add_parser(
        "iam-policy",
        help="least-privilege IAM policies for the execution role and the deploy Lambda's role, from the "
        "compiled definition",
    )
    with_spec(p)
    p.add_argument(
        "--only",
        choices=["execution", "lambda"],
        help="print that role's policy document alone (for aws iam put-role-policy --policy-document)",
    )
    p.set_defaults(func=_guarded(cmd_iam_policy))
