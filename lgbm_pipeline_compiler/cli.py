"""The `lgbm-pipeline` command: thin wrappers that parse arguments, call the API, format errors.

Exit codes: 0 success, 1 an internal failure, 2 bad input (spec, variables, paths).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import CompileError, Finding, SpecError
from .spec.variables import parse_vars

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


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
    from .spec import load_spec

    load_spec(args.spec, parse_vars(args.var))
    print(f"{args.spec}: ok", file=sys.stderr)
    return EXIT_OK


def cmd_compile(args: argparse.Namespace) -> int:
    from .spec import load_spec

    spec = load_spec(args.spec, parse_vars(args.var))
    from .compiler import compile_definition
    from .emit import render_json, write_output

    compiled = compile_definition(spec)
    if args.output:
        out = write_output(args.output, compiled)
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
            "--var", action="append", default=[], metavar="KEY=VALUE", help="a Jinja2 variable for the spec"
        )

    p = sub.add_parser("compile", help="compile a spec to the pipeline definition JSON")
    with_spec(p)
    p.add_argument(
        "-o", "--output", metavar="DIR", help="write pipeline.json, manifest.json and artifacts/ here"
    )
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("validate", help="check a spec without compiling it (fast, no SageMaker SDK)")
    with_spec(p)
    p.add_argument(
        "--format", choices=["text", "json", "github"], default="text", help="how to print findings"
    )
    p.set_defaults(func=cmd_validate)

    from .local.cli import add_commands

    add_commands(sub, with_spec)

    p = sub.add_parser("schema", help="print the JSON Schema of the spec (for yaml-language-server)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the schema to FILE")
    p.add_argument("--markdown", action="store_true", help="a Markdown reference of every key instead")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SpecError as err:
        _print_findings(err.findings, getattr(args, "format", "text"))
        return EXIT_BAD_INPUT
    except (CompileError, ValueError, OSError, LookupError) as err:
        where = getattr(args, "spec", None)
        print(f"{where}: error: {err}" if where else f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
