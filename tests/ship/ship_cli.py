"""`lgbm-pipeline` with the ship commands: the real ``cli.main``; until ``cli.py`` wires
``ship.cli.add_commands`` itself (/tmp/h6-wiring.txt), its parser gets them added here exactly as the
wiring does. Run as a script, it is the command line (for the end-to-end subprocess test)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lgbm_pipeline_compiler import cli
from lgbm_pipeline_compiler.ship.cli import add_commands

_original = cli.build_parser


def _with_spec(p: argparse.ArgumentParser) -> None:  # as cli.build_parser's with_spec
    p.add_argument("spec", metavar="SPEC", help="the YAML spec, e.g. specs/census.yaml")
    p.add_argument("--var", action="append", default=[], metavar="KEY=VALUE")


def build_parser() -> argparse.ArgumentParser:
    parser = _original()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "deploy" not in sub.choices:
        add_commands(sub, _with_spec)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    cli.build_parser = build_parser
    try:
        return cli.main(argv)
    finally:
        cli.build_parser = _original


if __name__ == "__main__":
    sys.exit(main())
