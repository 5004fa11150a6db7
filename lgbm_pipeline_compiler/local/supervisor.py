"""Runs one job command for the local runner and ties the job's life to the runner's.

Usage (the runner's processes.Jobs starts it): ``python -I -S supervisor.py WATCH_FD COMMAND...``

The runner starts this process in a new session, so it leads a process group of its own, with
the read end of a pipe whose write end only the runner holds (never inherited: it is
close-on-exec and not passed on). The job runs as its child, in the same group, and so do the
job's own subprocesses. However the runner ends, ``kill -9`` included, the kernel closes the
write end; the read here returns end-of-file and the whole group (the job, its subprocesses and
this process) is killed with SIGKILL. Unlike PR_SET_PDEATHSIG, this needs no ``preexec_fn``
(unsafe with threads, and trials start from threads), does not fire when the thread that started
the job exits, reaches the job's own subprocesses, and works on any POSIX system.

Standard library only, and no package import: it starts in a few milliseconds.
"""

from __future__ import annotations

import os
import signal
import sys
import threading


def _watch(fd: int) -> None:
    """Block until the runner's end of the pipe closes, then kill this process group."""
    while True:
        try:
            if not os.read(fd, 512):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    os.killpg(0, signal.SIGKILL)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: supervisor.py WATCH_FD COMMAND...", file=sys.stderr)
        return 2
    fd = int(argv[1])
    os.set_inheritable(fd, False)  # the job does not get the watch fd
    pid = os.fork()  # (no thread yet: a plain fork and exec, cheaper to start than subprocess)
    if pid == 0:
        try:
            os.execvp(argv[2], argv[2:])
        except OSError as err:
            os.write(2, f"cannot run {argv[2]}: {err}\n".encode())
        os._exit(127)
    threading.Thread(target=_watch, args=(fd,), daemon=True).start()
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: end the same way, so the runner sees what the job saw
        if -code not in (signal.SIGKILL, signal.SIGSTOP):  # these two cannot be handled or reset
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
