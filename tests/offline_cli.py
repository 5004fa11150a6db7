"""Run the CLI with networking disabled: every socket connect or DNS lookup raises.

Used by tests as `python tests/offline_cli.py compile specs/census.yaml` to prove that compiling
needs no network (and, with AWS_* removed from the environment, no credentials).
"""

from __future__ import annotations

import socket
import sys


def _deny(*_args: object, **_kwargs: object) -> None:
    raise OSError("network access attempted while it is disabled for this test")


socket.socket.connect = _deny  # type: ignore[method-assign]
socket.socket.connect_ex = _deny  # type: ignore[method-assign]
socket.create_connection = _deny  # type: ignore[assignment]
socket.getaddrinfo = _deny  # type: ignore[assignment]

from lgbm_pipeline_compiler.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
