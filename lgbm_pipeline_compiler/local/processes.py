"""A run's job processes: each in its own process group, none outliving the runner.

Every job (a processing script, a tuning trial, a check) starts under ``supervisor.py`` in a new
session: the job and whatever it starts share one process group, which :meth:`Jobs.stop` ends
(SIGTERM, then SIGKILL after a grace period) when the run fails or is stopped. When the runner
itself dies without cleaning up (``kill -9``), each supervisor sees the runner's end of a pipe
close and kills its group (see supervisor.py for why a pipe rather than PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path

from ..errors import RunStopped

SUPERVISOR = str(Path(__file__).with_name("supervisor.py"))
GRACE_SECONDS = 3.0
"""How long a stopped job has between SIGTERM and SIGKILL."""


NO_PROXY_ENV = {
    name: "http://127.0.0.1:9"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
} | {"NO_PROXY": "", "no_proxy": ""}
"""Where a job without network namespaces sends its traffic: a closed port (isolation.py)."""


@cache
def namespace_available() -> bool:
    """Whether this machine lets an unprivileged process have a network namespace of its own."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        done = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def wrap(command: list[str], env: Mapping[str, str] | None) -> tuple[list[str], dict[str, str]]:
    """``command`` and ``env`` for a process without network: in a network namespace of its own
    (``unshare -rn``: user and network namespaces, only a loopback that is down) where the kernel
    allows one, else with proxy settings that point at a closed port (pip, boto3 and urllib honour
    them; a raw socket does not). The process stays in its job's process group."""
    base = dict(os.environ if env is None else env)
    if namespace_available():
        return ["unshare", "-rn", "--", *command], base
    return command, {**base, **NO_PROXY_ENV}


class JobsStopped(RuntimeError):
    """The run is stopping: no new job starts."""


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Jobs:
    """The live jobs of one run (thread-safe: trials start from a thread pool)."""

    def __init__(self) -> None:
        self._watch_read, self._watch_write = os.pipe()  # both close-on-exec; only _read is passed
        self._live: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self.stopping = False

    def start(self, command: list[str], *, cwd: Path, env: Mapping[str, str] | None) -> subprocess.Popen:
        """Start ``command`` under a supervisor, its output (stdout and stderr) on a text pipe."""
        with self._lock:
            if self.stopping:
                raise JobsStopped("the run is stopping: no new job starts")
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", SUPERVISOR, str(self._watch_read), *command],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                pass_fds=(self._watch_read,),
                start_new_session=True,
            )
            self._live[proc.pid] = proc
        return proc

    def release(self, proc: subprocess.Popen) -> None:
        """Forget a job; if it still runs (its reader left early), kill its group first."""
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        with self._lock:
            self._live.pop(proc.pid, None)

    def run(self, command: list[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> tuple[int, str]:
        """Run ``command`` to its end under a supervisor; (exit code, stdout and stderr)."""
        proc = self.start(command, cwd=cwd, env=env)
        try:
            output, _ = proc.communicate()
        finally:
            self.release(proc)
        return proc.returncode, output

    def live(self) -> list[int]:
        with self._lock:
            return sorted(self._live)

    def stop(self, grace: float = GRACE_SECONDS) -> None:
        """Refuse new jobs; SIGTERM every live job's group, SIGKILL what is left after ``grace``."""
        with self._lock:
            self.stopping = True
            procs = list(self._live.values())
        for proc in procs:
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
            _signal_group(proc.pid, signal.SIGKILL)  # the job's own subprocesses, if any stayed
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(grace)

    def close(self) -> None:
        """Stop what still runs and close the watch pipe (every supervisor left kills its group)."""
        if self.live():
            self.stop()
        for fd in (self._watch_read, self._watch_write):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._watch_read = self._watch_write = -1

    def __enter__(self) -> Jobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: Jobs | None = None
_shared_lock = threading.Lock()


def shared_jobs() -> Jobs:
    """The process-wide Jobs for executors run outside a LocalRun (tests, one-off calls)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Jobs()
        return _shared


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """While a run runs: SIGTERM and SIGHUP raise RunStopped in the main thread (SIGINT raises
    KeyboardInterrupt, as always), once; further signals are ignored while the run stops."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if not fired:
            fired.append(signum)
            raise RunStopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ignore SIGINT, SIGTERM and SIGHUP for a moment (while a stopping run kills its jobs and
    records how it ended), in the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, *STOP_SIGNALS)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
