"""The `lgbm-pipeline` command: thin wrappers that parse arguments, call the API, format errors.

Exit codes, for every command:

    0    ok
    1    the run or the check failed (a failed step; validate's error findings)
    2    bad input: the spec, variables, arguments, paths, run ids, ARNs; one line each, no traceback
    3    the environment: a full disk (ENOSPC, EDQUOT), permissions (EACCES, EPERM), a read-only
         file system (EROFS), too many open files, no memory; a run records Failed with the reason
    130  interrupted: SIGINT, SIGTERM or SIGHUP; a run records Stopped and can be resumed
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import CompileError, EnvironmentFailure, Finding, SpecError, is_environment_error
from .variables import parse_vars

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _print_findings(findings: Sequence[Finding], fmt: str) -> None:
    if fmt == "json":
        rows = [f.__dict__ for f in findings]
        print(json.dumps(rows, indent=2), file=sys.stderr)
    elif fmt == "github":
        for f in findings:
            print(f"::error file={f.file},line={f.line},col={f.col}::{f.path}: {f.message}", file=sys.stderr)
    else:
        for f in findings:
            print(f.format(), file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    if args.list_rules:
        from .lint.run import rules_table

        sys.stdout.write(rules_table())
        return EXIT_OK
    if args.spec is None:
        print("error: validate needs PATH (a spec .yaml or a pipeline definition .json)", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.spec.lower().endswith(".json") and not args.deep and args.format != "sarif":
        from .spec import load_spec  # the spec alone, as before: no botocore, no SDK

        load_spec(args.spec, parse_vars(args.var))
        print(f"{args.spec}: ok", file=sys.stderr)
        return EXIT_OK
    from .lint.run import validate

    return validate(args.spec, deep=args.deep, variables=parse_vars(args.var), fmt=args.format)


def cmd_compile(args: argparse.Namespace) -> int:
    if args.check:  # before loading anything: the fast path imports neither the spec models nor the SDK
        from .review.cli import check_command

        return check_command(args)
    from .spec import load_spec

    variables = parse_vars(args.var)
    spec = load_spec(args.spec, variables)
    inputs = None
    if args.output:  # what this compile reads, hashed, for `compile --check` (manifest.json "inputs")
        from .review.fingerprint import record

        inputs = record(args.spec, variables, spec)
    from .compiler import compile_definition
    from .emit import render_json, write_output

    compiled = compile_definition(spec)
    if args.output:
        out = write_output(args.output, compiled, inputs=inputs)
        print(f"wrote {out}/pipeline.json and {len(compiled.artifacts)} artifacts", file=sys.stderr)
    else:
        sys.stdout.write(render_json(compiled.definition))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from .emit import render_json, write_text_atomic
    from .spec.schema import spec_json_schema

    if args.markdown:
        from .spec.schema import markdown_reference

        text = markdown_reference()
    else:
        text = render_json(spec_json_schema())
    if args.output:
        write_text_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lgbm-pipeline",
        description="Compile LightGBM pipeline specs into SageMaker pipeline definitions.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_spec(p: argparse.ArgumentParser) -> None:
        p.add_argument("spec", metavar="SPEC", help="the YAML spec, e.g. specs/census.yaml")
        p.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override one of the spec's variables: (inserted as given, typed like its default)",
        )

    p = sub.add_parser("compile", help="compile a spec to the pipeline definition JSON")
    with_spec(p)
    p.add_argument(
        "-o", "--output", metavar="DIR", help="write pipeline.json, manifest.json and artifacts/ here"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 with a diff summary if the output in -o DIR is stale (fast when nothing changed; "
        "exit 0 up to date, 2 bad input)",
    )
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser(
        "validate",
        help="check a spec (fast, no SageMaker SDK), or a pipeline definition JSON against what SageMaker accepts",
        description="PATH is a spec (.yaml: checked alone; with --deep compiled, then checked as a "
        "definition) or a pipeline definition (.json, from any tool). Exit 0 valid, 1 error findings, "
        "2 unreadable input or a spec that does not validate. Rules: --list-rules, docs/lint-rules.md.",
    )
    p.add_argument("spec", metavar="PATH", nargs="?", help="a spec (.yaml) or a pipeline definition (.json)")
    p.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one of the spec's variables: (inserted as given, typed like its default)",
    )
    p.add_argument(
        "--deep",
        action="store_true",
        help="for a spec: compile it and check the definition and its artifacts",
    )
    p.add_argument(
        "--format",
        choices=["text", "json", "github", "sarif"],
        default="text",
        help="how to print findings (sarif: SARIF 2.1.0)",
    )
    p.add_argument("--list-rules", action="store_true", help="print every rule's code and description")
    p.set_defaults(func=cmd_validate)

    from .local.cli import add_commands

    add_commands(sub, with_spec)

    from .review.cli import add_commands as add_review_commands

    add_review_commands(sub, with_spec)

    from .ship.cli import add_commands as add_ship_commands

    add_ship_commands(sub, with_spec)

    from .wheels_cli import add_commands as add_wheels_commands

    add_wheels_commands(sub, with_spec)

    from .monitor.cli import add_command as add_monitor_command

    add_monitor_command(sub)

    p = sub.add_parser("schema", help="print the JSON Schema of the spec (for yaml-language-server)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE")
    p.add_argument("--markdown", action="store_true", help="a Markdown reference of every key instead")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code is one of the module docstring's table."""
    args = build_parser().parse_args(argv)
    where = getattr(args, "spec", None)

    def error(err: BaseException) -> None:
        print(f"{where}: error: {err}" if where else f"error: {err}", file=sys.stderr)

    try:
        return args.func(args)
    except SpecError as err:
        _print_findings(err.findings, getattr(args, "format", "text"))
        return EXIT_BAD_INPUT
    except EnvironmentFailure as err:
        error(err)
        return EXIT_ENVIRONMENT
    except OSError as err:
        error(err)
        return EXIT_ENVIRONMENT if is_environment_error(err) else EXIT_BAD_INPUT
    except (CompileError, ValueError, LookupError) as err:
        error(err)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as err:  # RunStopped says which run and how to resume it
        if str(err):
            error(err)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
