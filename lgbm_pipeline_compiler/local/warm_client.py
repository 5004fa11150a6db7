"""A tuning trial's job when its Tune step has a warm trial server (warm_server.py).

Usage (a job under the supervisor, with the trial's environment and working dir):
``python -I -S warm_client.py SOCKET_DIR SCRIPT ARGS...``

It hands the server its stdin, stdout and stderr (the job's output pipe, so the trial writes its
log itself) and the read end of a lifeline pipe whose write end only this process holds, with the
trial's argv, working dir and environment; then it waits for the worker's wait status and ends the
same way: its exit code, or killed by its signal, as the supervisor expects of a job. Killed itself
(the run stopping, or the runner gone), it closes the lifeline, and the worker kills its group.

It also hands over its user and network namespaces (``/proc/self/ns/user`` and ``net``): a job with
network isolation runs its client under ``unshare -rn``, and the worker enters the client's
namespaces, so that it has no network, as the cold job has none.

If the server cannot be reached, nothing has started: it execs ``python SCRIPT ARGS`` (the cold
trial), so a trial never depends on the server being alive. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

SOCKET_NAME = "sock"
HEADER = struct.Struct("!Q")


def _cold(argv: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, *argv])


def _connect(socket_dir: str) -> socket.socket:
    """Connect by a relative name (a Unix socket's path is limited to about 100 bytes)."""
    here = os.getcwd()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.chdir(socket_dir)
        sock.connect(SOCKET_NAME)
    except OSError:
        sock.close()
        raise
    finally:
        os.chdir(here)
    return sock


def _namespaces() -> list[int]:
    """This process's user and network namespaces, opened (none where /proc does not show them)."""
    fds: list[int] = []
    try:
        for kind in ("user", "net"):
            fds.append(os.open(f"/proc/self/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        for fd in fds:
            os.close(fd)
        return []
    return fds


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: warm_client.py SOCKET_DIR SCRIPT ARGS...", file=sys.stderr)
        return 2
    socket_dir, trial = argv[1], argv[2:]
    payload = json.dumps({"argv": trial, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    try:
        sock = _connect(socket_dir)
    except OSError:
        _cold(trial)
        return 127  # (execv does not return)
    lifeline, keep = os.pipe()
    namespaces = _namespaces()
    try:
        socket.send_fds(sock, [HEADER.pack(len(payload))], [0, 1, 2, lifeline, *namespaces])
        sock.sendall(payload)
    except OSError:
        sock.close()
        for fd in (lifeline, *namespaces):
            os.close(fd)
        _cold(trial)
        return 127
    for fd in (lifeline, *namespaces):
        os.close(fd)
    reply = b""
    while not reply.endswith(b"\n"):
        try:
            chunk = sock.recv(64)
        except InterruptedError:
            continue
        if not chunk:
            os.write(2, b"warm trial server ended before the trial did\n")
            return 1
        reply += chunk
    code = os.waitstatus_to_exitcode(int(reply))
    if code < 0:  # killed by a signal: end the same way
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        return 128 - code
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
