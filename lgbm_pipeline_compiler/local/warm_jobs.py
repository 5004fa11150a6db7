"""Warm script jobs: a run's processing, check and quality jobs forked from one warm server.

Every Python script job of a local run (preprocessing, evaluation, the builtin Clarify and
data-quality jobs, and any custom processing script) used to pay for importing NumPy, pandas,
scikit-learn and LightGBM in a fresh interpreter: about two seconds of CPU each, most of a short
job. The run's first script job starts one warm server (the Tune step's warm_server.py, see
warm.py) that imports :data:`PRELOADS` with the jobs' environment (OpenMP gets the run's cores, as
every processing job does) and lives until the run ends; each job is then a small client whose
worker, forked from the server, runs the script exactly as ``python SCRIPT ARGS`` would: its
environment, working dir, argv, stdio, ``sys.path`` (the script's dir, then the job's PYTHONPATH,
as the interpreter builds it), exit status and traceback. The step log shows the cold command,
as SageMaker runs it, and its output is the cold job's.

A job with network isolation is warm too: its client runs under ``unshare -rn``, as the cold job
would, and its worker enters the client's namespaces, so it has no network either.

What a warm job shares with the server that a cold one would not: the modules already imported
(never the job's own: step_common and the script are imported by each worker from its own dirs)
and Python's hash seed. A job runs cold, with the reason in its step log, when
``LGBM_PIPELINE_COLD_JOBS=1``; when its environment differs from the server's in a variable that
a library reads at import (:data:`IMPORT_ENV`: OpenMP and BLAS thread counts, locale, Python's own
flags); when its script's dir or a PYTHONPATH entry of its own holds its own copy of a module the
server imported (a preloaded package, or one they import: json.py beside the script); and when the
server is not ready (no fork or Unix sockets, an import failed or wrote output).

Inside :func:`warm_pool`, the runs of one process (a notebook, a sweep, a test session) share their
warm servers instead of each starting its own: one per import environment, kept until the pool
closes. A Tune step's trials use them too (:func:`pooled_trials`) when its script imports nothing
at its top level that the pool's servers do not import ahead and its code dir provides none of the
modules they imported. Processes started with :meth:`WarmPool.environ` in their environment
(``LGBM_PIPELINE_WARM_POOL``: ``lgbm-pipeline run`` commands a sweep starts) ask the pool for
their servers over a Unix socket in its private dir, and start their own where it does not answer
(close a pool after the runs it serves have ended: a job whose server ends under it fails).
Runs share nothing more than a run's jobs share with each other, the preloaded modules: each job
still runs in a worker forked for it, which dies with its client, a job of its own run, when that
run stops or its runner is killed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from . import warm
from .context import StepContext
from .processes import Jobs

COLD_JOBS = "LGBM_PIPELINE_COLD_JOBS"
"""Set to 1 to run every script job in a fresh process (benchmarks, debugging)."""
PRELOADS = ["numpy", "pandas", "sklearn.metrics", "lightgbm"]
"""What the bundled job scripts import (step_common loads models with LightGBM)."""
IMPORT_ENV = ("OMP_", "KMP_", "GOMP_", "OPENBLAS_", "GOTO", "MKL_", "BLIS_", "VECLIB_", "NUMEXPR_")
IMPORT_ENV_EXACT = frozenset({"LANG", "LANGUAGE", "TZ", "LD_LIBRARY_PATH", "LD_PRELOAD"})
"""Variables a library reads when it is imported (prefixes, and exact names; also ``LC_*`` and
``PYTHON*`` but PYTHONPATH, which the worker applies): a job whose value differs runs cold."""
SERVICE = "warm_jobs"
"""The StepContext service name of a run's :class:`WarmJobs`."""
POOL = "LGBM_PIPELINE_WARM_POOL"
"""A warm pool's dir, in the environment of the processes it serves (:meth:`WarmPool.environ`)."""
CONTROL = "control"
"""The pool dir's Unix socket: a request is one JSON line, the environment; the answer one JSON
line, the server's dir or why there is none."""


def cold_forced() -> bool:
    return os.environ.get(COLD_JOBS, "").strip() not in ("", "0")


def _import_env(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v
        for k, v in env.items()
        if k.startswith((*IMPORT_ENV, "LC_"))
        or k in IMPORT_ENV_EXACT
        or (k.startswith("PYTHON") and k != "PYTHONPATH")
    }


def _own_package(env: Mapping[str, str]) -> str | None:
    """A PYTHONPATH entry of the job holding a package the server preloaded, or None."""
    packages = {name.split(".")[0] for name in PRELOADS}
    for entry in filter(None, env.get("PYTHONPATH", "").split(os.pathsep)):
        for package in sorted(packages):
            if (Path(entry) / package).is_dir() or (Path(entry) / f"{package}.py").is_file():
                return f"{entry} has its own {package}"
    return None


PRELOAD_DEFAULTS = {"KMP_DUPLICATE_LIB_OK": "True", "KMP_INIT_AT_FORK": "FALSE"}
"""What importing scikit-learn (LightGBM imports it too) sets in ``os.environ`` where unset
(sklearn/__init__.py): a job's fresh interpreter gets the same values when its script imports
them, so unset and these values are alike here (a process that imported scikit-learn after its
server started, and so has them, keeps its jobs warm)."""


def env_reason(env: Mapping[str, str], server_env: Mapping[str, str]) -> str | None:
    """Why a job with ``env`` cannot run in a worker of a server started with ``server_env``, or None."""
    job = _import_env({**PRELOAD_DEFAULTS, **env})
    server = _import_env({**PRELOAD_DEFAULTS, **server_env})
    changed = sorted(k for k in set(job) | set(server) if job.get(k) != server.get(k))
    if changed:
        return f"its environment sets {', '.join(changed)} unlike the warm server's"
    return _own_package(env)


def _start(jobs: Jobs, folder: Path, env: Mapping[str, str]) -> tuple[warm.WarmTrials | None, str]:
    """A job server started in ``folder`` (an empty ``code`` dir its working dir, the socket beside
    it), importing :data:`PRELOADS` with ``env``; or None and why not."""
    shutil.rmtree(folder, ignore_errors=True)  # (an earlier attempt's)
    try:
        (folder / "code").mkdir(parents=True, mode=0o700)
        folder.chmod(0o700)  # the socket's dir: only this user connects
    except OSError as err:
        return None, f"its dir cannot be made: {err}"
    return warm.launch(jobs, folder, folder / "code", PRELOADS, env)


class WarmPool:
    """Warm servers shared by the runs of one process, and of the processes it starts with
    :meth:`environ`, while :func:`warm_pool` is open."""

    def __init__(self) -> None:
        self._jobs = Jobs()
        self._folder = Path(tempfile.mkdtemp(prefix="lgbm-warm-pool-"))
        self._servers: dict[tuple[object, ...], warm.WarmTrials] = {}
        self._started = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._closed = False

    def environ(self) -> dict[str, str]:
        """What to add to the environment of a process whose runs are to use this pool's servers
        (it starts answering their requests on the first call)."""
        with self._lock:
            if self._listener is None:
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                listener.bind(str(self._folder / CONTROL))
                listener.listen(16)
                self._listener = listener
                threading.Thread(target=self._answer, args=(listener,), daemon=True).start()
        return {POOL: str(self._folder)}

    def _answer(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # (closed)
                return
            threading.Thread(target=self._answer_one, args=(conn,), daemon=True).start()

    def _answer_one(self, conn: socket.socket) -> None:
        with conn:
            try:
                server, reason = self.server(dict(json.loads(_line(conn))))
                answer = {"folder": str(server.folder)} if server is not None else {"reason": reason}
            except (OSError, ValueError, TypeError) as err:
                answer = {"reason": f"the request cannot be read: {err}"}
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps(answer).encode() + b"\n")

    def server(self, env: Mapping[str, str]) -> tuple[warm.WarmTrials | None, str]:
        """The pool's live server for jobs of ``env``'s import environment (started if need be)."""
        key = (tuple(sorted(_import_env(env).items())), env.get("PYTHONPATH", ""))
        with self._lock:
            if self._closed:
                return None, "the warm pool is closed"
            server = self._servers.get(key)
            if server is not None and server.proc.poll() is None:
                return server, ""
            if server is not None:  # (it ended: its jobs ran cold, as a client that cannot connect does)
                del self._servers[key]
                server.close()
            self._started += 1
            server, reason = _start(self._jobs, self._folder / f"server-{self._started}", env)
            if server is not None:
                self._servers[key] = server
            return server, reason

    def close(self) -> None:
        """Stop its servers (a job still running in one fails: close it after the runs it serves)."""
        with self._lock:
            self._closed = True
            if self._listener is not None:
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)  # (wakes its accept)
                self._listener.close()
            for server in self._servers.values():
                server.close()
            self._servers.clear()
            self._jobs.close()
            shutil.rmtree(self._folder, ignore_errors=True)


_pool: WarmPool | None = None


def _line(conn: socket.socket, limit: int = 1 << 20) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(1 << 16)
        if not chunk or len(data) > limit:
            raise ValueError("no complete line")
        data += chunk
    return data


def _ask(folder: str, env: Mapping[str, str]) -> tuple[warm.Borrowed | None, str]:
    """A server of the pool in ``folder`` (another process's) for jobs of ``env``, or None and why."""
    path = os.path.join(folder, CONTROL)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(warm.READY_SECONDS)
            conn.connect(path)
            conn.sendall(json.dumps(dict(env)).encode() + b"\n")
            answer = json.loads(_line(conn))
    except (OSError, ValueError) as err:
        return None, f"the warm pool {POOL}={folder} does not answer ({err})"
    if isinstance(answer, dict) and isinstance(answer.get("folder"), str):
        return warm.Borrowed(Path(answer["folder"])), ""
    return None, str(answer.get("reason") if isinstance(answer, dict) else answer)


def _borrow(
    pool: WarmPool | None, remote: str | None, env: Mapping[str, str]
) -> tuple[warm.Borrowed | None, str]:
    """A server of ``pool`` (this process's) or else of the pool in dir ``remote``, or None and why."""
    if pool is not None:
        server, reason = pool.server(env)
        return (warm.Borrowed(server.folder) if server is not None else None), reason
    if remote:
        return _ask(remote, env)
    return None, "no warm pool is open"


def pooled_trials(
    code_archive: bytes, program: str, env: Mapping[str, str]
) -> tuple[warm.Borrowed | None, str]:
    """A server of the open warm pool for a Tune step's trials (``env``: the trials' environment,
    without what differs between them) and a line for the step log; or None and why not."""
    if warm.cold_forced() or not warm.supported() or (_pool is None and not os.environ.get(POOL)):
        return None, "no warm pool is open"
    try:
        with tarfile.open(fileobj=io.BytesIO(code_archive)) as tar:
            member = tar.extractfile(program)
            source = member.read() if member is not None else b""
            folder = str(PurePosixPath(program).parent)
            prefix = "" if folder == "." else f"{folder}/"
            names = [name.removeprefix("./") for name in tar.getnames()]
            own = warm.module_names([name[len(prefix) :] for name in names if name.startswith(prefix)])
    except (KeyError, OSError, tarfile.TarError) as err:
        return None, f"the code cannot be read ({err})"
    modules = warm.preloads(source)
    extra = [name for name in modules if name not in PRELOADS]
    if not modules or extra:
        return None, f"{program} imports {', '.join(extra) or 'none of them'}"
    server, reason = _borrow(_pool, os.environ.get(POOL), env)
    if server is None:
        return None, reason
    clash = sorted(own & warm.imported_modules(server.folder))
    if clash:
        return None, f"the code dir has its own {', '.join(clash)}"
    return server, (
        f"trials run in workers forked from one process that imported {', '.join(PRELOADS)}, a "
        f"server of the open warm pool ({warm.COLD_TRIALS}=1: each in a fresh process)"
    )


@contextlib.contextmanager
def warm_pool() -> Iterator[WarmPool]:
    """Runs started in this process while the block is open share warm job servers (see the module
    docstring); they are stopped when it closes. Nested blocks use the outer pool."""
    global _pool
    if _pool is not None:
        yield _pool
        return
    _pool = pool = WarmPool()
    try:
        yield pool
    finally:
        _pool = None
        pool.close()


class WarmJobs:
    """A run's warm job server, started by the run's first script job that can use it (or taken
    from the open :func:`warm_pool`)."""

    def __init__(self, jobs: Jobs, folder: Path, cores: int) -> None:
        self.env = {**os.environ, "OMP_NUM_THREADS": str(cores)}
        self._jobs, self._folder = jobs, folder
        self._server: warm.WarmTrials | warm.Borrowed | None = None
        self._reason: str | None = None
        self._imported: set[str] | None = None  # (what the server imported: read once)
        self._pool, self._remote = _pool, os.environ.get(POOL) or None
        if cold_forced():
            self._reason = f"{COLD_JOBS} is set"
        elif not warm.supported():
            self._reason = "no fork or Unix sockets here"
        self._lock = threading.Lock()

    def server(self) -> tuple[warm.WarmTrials | warm.Borrowed | None, str]:
        """The ready server (the open pool's, else started by the first call), or None and why not."""
        with self._lock:
            if self._server is None and self._reason is None:
                if self._pool is not None or self._remote:
                    self._server, self._reason = _borrow(self._pool, self._remote, self.env)
                if self._server is None:
                    self._server, self._reason = _start(self._jobs, self._folder, self.env)
            return self._server, self._reason or ""

    def why_cold(self, ctx: StepContext, env: dict[str, str]) -> str | None:
        """Why this job must run in a fresh process, or None."""
        return env_reason(env, self.env)

    def _shadowed(self, command: list[str], env: Mapping[str, str], folder: Path) -> str | None:
        """Why the job's own dirs (its script's, and its PYTHONPATH entries the server did not
        have) would give a fresh process its own copy of a module the server in ``folder``
        imported, or None."""
        if self._imported is None:
            self._imported = warm.imported_modules(folder)
        known = set(self.env.get("PYTHONPATH", "").split(os.pathsep))
        entries = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p not in known]
        for entry in [str(Path(command[1]).parent), *entries]:
            try:
                names = [f"{e.name}/" if e.is_dir() else e.name for e in os.scandir(entry)]
            except OSError:
                continue
            clash = sorted(warm.module_names(names) & self._imported)
            if clash:
                return f"{entry} has its own {', '.join(clash)}"
        return None

    def run(self, ctx: StepContext, command: list[str], env: dict[str, str], cwd: Path | None) -> str:
        """:meth:`StepContext.run_script` of ``python SCRIPT ARGS`` (``command``), warm when it can be."""
        reason = self.why_cold(ctx, env)
        server = None
        if reason is None:
            server, reason = self.server()
        if server is not None:
            reason = self._shadowed(command, env, server.folder)
            server = None if reason else server
        if server is None:
            ctx.log.write(f"note: the job runs in a fresh process ({reason})\n")
            return ctx.run_script(command, env=env, cwd=cwd)
        if self._pool is not None:
            owner = "a warm server of this process's warm_pool"
        elif isinstance(server, warm.Borrowed):
            owner = f"a warm server of the warm pool that {POOL} names"
        else:
            owner = "the run's warm server"
        ctx.log.write(
            f"note: the job runs in a worker forked from {owner}, which imported "
            f"{', '.join(PRELOADS)} ({COLD_JOBS}=1: a fresh process)\n"
        )
        return ctx.run_script(server.command(command), env=env, cwd=cwd, shown=command)

    def close(self) -> None:
        with self._lock:
            if self._server is not None:  # (a pool's, Borrowed, outlives the run)
                self._server.close()
            self._server = None
            self._reason = self._reason or "the run has ended"


def run_script_job(ctx: StepContext, command: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Run a script job (``python SCRIPT ARGS``) through the run's warm server when the step has one
    (:data:`SERVICE`), else as :meth:`StepContext.run_script` does."""
    service = ctx.services.get(SERVICE)
    if isinstance(service, WarmJobs):
        return service.run(ctx, command, env, cwd)
    return ctx.run_script(command, env=env, cwd=cwd)
