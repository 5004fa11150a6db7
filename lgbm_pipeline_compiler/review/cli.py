"""The review commands, wired into `lgbm-pipeline`: ``diff`` and ``graph`` (and ``compile --check``,
through :func:`check_command`).

Exit codes: ``diff`` 0 no change, 1 changes, 2 bad input; ``graph`` 0, or 2 for bad input. Bad input
is one located line per problem (``file:line:col: message``), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import CompileError, Finding, SpecError

EXIT_OK, EXIT_CHANGED, EXIT_BAD_INPUT = 0, 1, 2


def _variables(args: argparse.Namespace) -> dict[str, str]:
    from ..variables import parse_vars

    return parse_vars(args.var)


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Bad input as one located line per problem and exit 2 (the same when called without main)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except SpecError as err:
            for finding in err.findings:
                print(finding.format(), file=sys.stderr)
        except (CompileError, ValueError, OSError) as err:
            where = getattr(args, "new", None) or getattr(args, "path", None) or "lgbm-pipeline"
            print(Finding(str(where), 1, 1, "", f"error: {err}").format(), file=sys.stderr)
        return EXIT_BAD_INPUT

    return run


def _compiled_path(new: str, explicit: str | None) -> str:
    """Where the compiled output of ``new`` is committed (for ``--base``)."""
    if explicit:
        return explicit
    path = Path(new)
    if path.suffix.lower() in (".yaml", ".yml"):
        sibling = path.with_suffix(".json")
        raise ValueError(
            f"--base needs the committed compiled output of {new}: pass --compiled DIR_OR_JSON "
            f"(e.g. --compiled {sibling}), or diff that output itself"
        )
    return new


def cmd_diff(args: argparse.Namespace) -> int:
    from . import render, sides
    from .diff import compare

    variables = _variables(args)
    if args.base:
        if args.old is not None:
            raise ValueError("--base REF takes one path (NEW); the old side is NEW's compiled output at REF")
        old = sides.at_ref(args.base, _compiled_path(args.new, args.compiled))
    elif args.old is None:
        raise ValueError("diff needs OLD and NEW, or --base REF and NEW")
    else:
        old = sides.load(args.old, variables)
    new = sides.load(args.new, variables)
    result = compare(old, new)
    if args.format == "json":
        sys.stdout.write(render.render_json_text(result))
    elif args.format == "markdown":
        sys.stdout.write(render.markdown(result))
    else:
        colour = {"always": True, "never": False}.get(args.color, sys.stdout.isatty())
        sys.stdout.write(render.text(result, colour=colour))
    return EXIT_CHANGED if result.changed else EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    from . import graph, sides
    from .model import view

    side = sides.load(args.path, _variables(args))
    drawing = graph.drawing(view(side.definition), params=args.params)
    text = graph.mermaid(drawing) if args.format == "mermaid" else graph.dot(drawing)
    if args.output:
        from ..emit import write_text_atomic

        write_text_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def check_command(args: argparse.Namespace) -> int:
    """``compile SPEC --check -o DIR [--var K=V]``: see :func:`stale.check`."""
    from .stale import check

    return check(args.spec, args.output, _variables(args))


def _var(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--var", action="append", default=[], metavar="KEY=VALUE", help="a template variable for spec sides"
    )


def add_commands(sub: Any, with_spec: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``diff`` and ``graph`` on the `lgbm-pipeline` subparsers (``with_spec`` is taken for
    symmetry with the other command groups: these commands accept a spec or a compiled output)."""
    del with_spec
    p = sub.add_parser(
        "diff",
        help="what changed between two pipelines, in SageMaker's terms (exit 0 same, 1 changed, 2 error)",
        description="Each side is a spec (.yaml, compiled in memory), a compiled output directory "
        "(pipeline.json + manifest.json: artifact contents are diffed too) or a definition JSON. "
        "--base REF compares NEW with its compiled output as committed at a git ref.",
    )
    p.add_argument("old", metavar="OLD", nargs="?", help="the old side (omit with --base)")
    p.add_argument("new", metavar="NEW", help="the new side")
    p.add_argument(
        "--base", metavar="GIT_REF", help="compare with NEW's compiled output committed at this ref"
    )
    p.add_argument(
        "--compiled",
        metavar="PATH",
        help="with --base and a spec NEW: where its compiled output (directory or JSON) is committed",
    )
    p.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto", help="text colours")
    _var(p)
    p.set_defaults(func=_guarded(cmd_diff))

    p = sub.add_parser(
        "graph",
        help="the step DAG as Mermaid or Graphviz DOT",
        description="PATH is a spec (.yaml), a compiled output directory or a definition JSON. Solid "
        "edges read a step's properties, dashed ones are DependsOn only; a condition's branches "
        "are labelled if/else.",
    )
    p.add_argument("path", metavar="PATH", help="a spec, a compiled output directory or a definition JSON")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    p.add_argument("--params", action="store_true", help="also draw each pipeline parameter and its readers")
    p.add_argument("-o", "--output", metavar="FILE", help="write the graph to FILE")
    _var(p)
    p.set_defaults(func=_guarded(cmd_graph))


def main(argv: Sequence[str] | None = None) -> int:
    """The review commands alone (``python -m lgbm_pipeline_compiler.review.cli``)."""
    parser = argparse.ArgumentParser(prog="lgbm-pipeline")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_commands(sub, lambda p: None)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
