"""The `lgbm-pipeline wheels` command (the work is in wheels.py, imported when the command runs: the
spec models it needs cost ~0.5 s to import, which every other command's start would pay)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cmd_wheels(args: argparse.Namespace) -> int:
    from .spec.dependencies import LOCK_FILE
    from .variables import parse_vars
    from .wheels import write_lock

    lock = write_lock(args.spec, parse_vars(args.var), args.dest, args.find_links, args.no_index)
    spec_path = Path(args.spec)
    for wheel in lock["wheels"]:
        print(f"{wheel['file']}  sha256:{wheel['sha256'][:12]}  {wheel['tags'][0]}")
    print(f"wheel set sha256:{lock['wheel_set_sha256']} → {spec_path.parent / LOCK_FILE}")
    return 0


def add_commands(sub: Any, with_spec: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``wheels`` on the `lgbm-pipeline` subparsers."""
    p = sub.add_parser(
        "wheels",
        help="resolve step_scripts/requirements.txt into wheels for the container's platform and write "
        "wheels.lock.json beside the spec (for `dependencies: bundled`; needs internet, or --find-links)",
    )
    with_spec(p)
    p.add_argument(
        "--dest", metavar="DIR", help="where the wheels go (inside the spec's directory; default wheels/)"
    )
    p.add_argument(
        "--find-links", action="append", default=[], metavar="DIR", help="also look for wheels here"
    )
    p.add_argument("--no-index", action="store_true", help="do not use PyPI (only --find-links)")
    p.set_defaults(func=cmd_wheels)
