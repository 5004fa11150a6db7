"""Warm tuning trials: a Tune step's trials forked from one process that imported the training
script's heavy libraries once, instead of each paying for the imports in a fresh interpreter.

A Tune step whose script imports, at its top level, modules of :data:`PRELOADABLE` packages
(LightGBM, NumPy, pandas, SciPy, scikit-learn: libraries whose import does not depend on what
differs between trials) starts one warm trial server (warm_server.py) as a job of the run: it
imports them with the trials' environment (OpenMP and BLAS read their thread counts at import, and
every trial of a step has the same share) and the step's code first on ``sys.path``. Each trial is
then a job of its own, as before, under the supervisor, in a process group of its own, killed with
the run and when the runner dies, but the job is a small client (warm_client.py) whose worker,
forked from the server, runs the script exactly as ``python SCRIPT ARGS`` would: the trial's
environment, working dir, argv, ``sys.path[0]``, stdio (the job's output pipe), ``__main__`` from
the trial's own file, its own modules (``step_common``) imported from its own code dir, and the
interpreter's exit status and traceback. The trial's log shows the cold command line, as SageMaker
runs the script; its output, exit code and model are those of a cold trial.

A trial with network isolation is warm too: its client runs under ``unshare -rn`` as the cold
trial would, and the worker enters the client's user and network namespaces (warm_server.py).

A custom (non-bundled) script is warm on the same terms: only allowlisted libraries are imported
ahead, the script itself always runs fresh. What a worker shares with the server and a cold trial
would not: Python's hash seed (string set order is the same in every trial; it is random per cold
trial) and modules already imported. A script that sets OpenMP or BLAS environment variables before
importing those libraries would not get them: use the cold path. The cold path (a fresh process per
trial) is used when ``LGBM_PIPELINE_COLD_TRIALS=1``, when the script imports none of them, when the
platform has no ``fork`` or Unix sockets, and when the server is not ready (an import failed or
wrote output, such as a warning a cold trial would print in its log); the step log says which.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .context import StepContext, python
from .processes import Jobs, JobsStopped, shared_jobs

COLD_TRIALS = "LGBM_PIPELINE_COLD_TRIALS"
"""Set to 1 to run every trial in a fresh process (benchmarks, debugging)."""
PRELOADABLE = frozenset({"lightgbm", "numpy", "pandas", "scipy", "sklearn"})
SERVER = str(Path(__file__).with_name("warm_server.py"))
CLIENT = str(Path(__file__).with_name("warm_client.py"))
SOCKET_NAME = "sock"  # (warm_client.SOCKET_NAME: the client imports nothing of the package)
MODULES_NAME = "modules"  # (warm_server.MODULES_NAME: beside the socket)
WARM_DIR = "warm"
"""The step dir's subdir of the server: ``code/`` (its working dir) and the socket."""
READY_SECONDS = 600.0
STOP_SECONDS = 5.0


def cold_forced() -> bool:
    return os.environ.get(COLD_TRIALS, "").strip() not in ("", "0")


def supported() -> bool:
    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")


def preloads(source: bytes) -> list[str]:
    """The modules of :data:`PRELOADABLE` packages a script imports at its top level, in order."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [n for n in names if n.split(".")[0] in PRELOADABLE and n not in found]
    return found


@dataclass
class WarmTrials:
    """A running warm trial server; :meth:`command` is a trial's job command."""

    proc: subprocess.Popen
    jobs: Jobs
    folder: Path
    modules: list[str]
    output: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    pidfd: int | None = None
    """The server process (its supervisor's child), to end it alone: see :meth:`close`."""
    pid: int = 0

    def command(self, cold: list[str]) -> list[str]:
        """The job command of the trial whose cold command is ``python SCRIPT ARGS...``."""
        return client_command(self.folder, cold)

    def close(self) -> str:
        """Stop the server; what it wrote after ``ready`` (nothing, unless it failed).

        SIGTERM to the server alone, so that its supervisor reaps it (and with it the CPU time of
        its workers, which it reaped) before ending the same way; only then the job's release,
        which kills the group if anything is left."""
        if self.pid and self.proc.poll() is None:
            with contextlib.suppress(OSError):
                if self.pidfd is not None:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGTERM)
                else:
                    os.kill(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_SECONDS)
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self.jobs.release(self.proc)
        if self.reader is not None:
            self.reader.join(10)
        shutil.rmtree(self.folder, ignore_errors=True)
        return "".join(self.output[1:])


def client_command(folder: Path, cold: list[str]) -> list[str]:
    """The job command that runs ``python SCRIPT ARGS...`` (``cold``) in a worker of the server in ``folder``."""
    return [python(), "-I", "-S", CLIENT, str(folder), *cold[1:]]


@dataclass(frozen=True)
class Borrowed:
    """A server that a warm pool owns (warm_jobs.warm_pool): a run's jobs or trials use it as their
    own, and closing it leaves it running for the pool's other runs."""

    folder: Path

    def command(self, cold: list[str]) -> list[str]:
        return client_command(self.folder, cold)

    def close(self) -> str:
        return ""


def imported_modules(folder: Path) -> set[str]:
    """The top-level names of the modules the server in ``folder`` imported (warm_server.py writes
    them before it is ready)."""
    try:
        return set((folder / MODULES_NAME).read_text().split())
    except OSError:
        return set()


def module_names(paths: list[str]) -> set[str]:
    """The top-level module names that files and dirs at ``paths`` (relative to a sys.path entry)
    provide: ``x.py``, ``x.pyc``, an extension ``x.*.so``, a package or namespace dir ``x/``."""
    names = set()
    for path in paths:
        first, _, rest = path.strip("/").partition("/")
        if rest or path.endswith("/"):
            names.add(first)
        elif first.endswith((".py", ".pyc", ".so", ".pyd")):
            names.add(first.split(".")[0])
    return {name for name in names if name.isidentifier()}


def _read(proc: subprocess.Popen, output: list[str], first: threading.Event) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line)
        first.set()
    first.set()


def start(
    ctx: StepContext, code_archive: bytes, program: str, env: Mapping[str, str]
) -> tuple[WarmTrials | None, str]:
    """A warm trial server for a Tune step's trials, or None (cold trials); and a line for the log.

    ``env`` is the trials' environment without what differs between them."""
    if cold_forced():
        return None, f"each trial runs in a fresh process ({COLD_TRIALS} is set)"
    if not supported():
        return None, "each trial runs in a fresh process (no fork or Unix sockets here)"
    folder = ctx.work / WARM_DIR
    shutil.rmtree(folder, ignore_errors=True)
    code = folder / "code"
    try:
        code.mkdir(parents=True, mode=0o700)
        folder.chmod(0o700)  # the socket's dir: only this user connects
        with tarfile.open(fileobj=io.BytesIO(code_archive)) as tar:
            tar.extractall(code, filter="data")
        script = code.joinpath(*program.split("/"))
        modules = preloads(script.read_bytes()) if script.is_file() else []
    except (OSError, tarfile.TarError) as err:  # (each trial meets it again, and reports it)
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"each trial runs in a fresh process (the code cannot be unpacked: {err})"
    if not modules:
        shutil.rmtree(folder, ignore_errors=True)
        return None, f"each trial runs in a fresh process ({program} imports none of {sorted(PRELOADABLE)})"
    server, reason = launch(ctx.jobs or shared_jobs(), folder, script.parent, modules, env)
    if server is None:
        return None, f"each trial runs in a fresh process ({reason})"
    return server, (
        f"trials run in workers forked from one process that imported {', '.join(modules)} "
        f"({COLD_TRIALS}=1: each in a fresh process)"
    )


def launch(
    jobs: Jobs, folder: Path, script_dir: Path, modules: list[str], env: Mapping[str, str]
) -> tuple[WarmTrials | None, str]:
    """Start a warm server in ``folder`` (its working dir ``folder/code``, its socket beside it) that
    imports ``modules`` with ``script_dir`` first on sys.path and ``env``; the server once it is
    ready, else None and why (``folder`` then removed)."""
    try:
        proc = jobs.start(
            [python(), SERVER, f"../{SOCKET_NAME}", str(script_dir), *modules], cwd=folder / "code", env=env
        )
    except JobsStopped:
        shutil.rmtree(folder, ignore_errors=True)
        return None, "the run is stopping"
    server = WarmTrials(proc, jobs, folder, modules)
    first = threading.Event()
    server.reader = threading.Thread(target=_read, args=(proc, server.output, first), daemon=True)
    server.reader.start()
    first.wait(READY_SECONDS)
    line = server.output[0].strip() if server.output else ""
    if line.startswith("ready "):
        server.pid = int(line.split()[1])
        with contextlib.suppress(AttributeError, OSError):  # (Linux: a handle no other process reuses)
            server.pidfd = os.pidfd_open(server.pid)
    else:
        ended = proc.poll()
        server.close()
        reason = line.removeprefix("not-ready: ") or (
            f"no answer in {READY_SECONDS:.0f} s" if ended is None else f"it ended with {ended}"
        )
        return None, f"the warm server is not ready: {reason}"
    return server, ""


def run_job(ctx: StepContext, shown: list[str], command: list[str], env: dict[str, str], cwd: Path) -> str:
    """:meth:`StepContext.run_script` of ``command``, whose log shows ``shown`` (the cold trial's
    command: what the job runs, and what SageMaker runs), with the same output and failure."""
    return ctx.run_script(command, env=env, cwd=cwd, shown=shown)
