"""The warm trial server of a Tune step: imports a training script's heavy libraries once, then runs
each trial in a worker forked from it, exactly as ``python SCRIPT ARGS`` would run it.

Usage (warm.py starts it as a job of the run, under the supervisor, with the trials' environment
and the extracted code as its working dir): ``python warm_server.py SOCKET SCRIPT_DIR MODULE...``

It imports the MODULEs with ``SCRIPT_DIR`` first on ``sys.path``, as a trial's script has it,
writes the top-level names of all it imported to ``modules`` beside the socket, prints
``ready PID`` (or ``not-ready: REASON``, then exits: the step runs its trials cold) and accepts
trial clients (warm_client.py) on the Unix socket ``SOCKET``. A client sends its stdin, stdout,
stderr and the read end of a lifeline pipe, with the trial's argv, working dir and environment; the
server forks a worker, reaps it and sends the client its wait status. The worker:

- enters the client's user and network namespaces where they are not the server's (a job with
  network isolation: its client runs under ``unshare -rn``), so that it has no network either; a
  worker that cannot enter them fails the job before the script runs, never runs it with network;
- leads a process group of its own (its subprocesses join it);
- kills that group (SIGKILL) when the client ends: the client is the job the run supervises, so a
  trial stopped with the run, or left behind by a runner killed with ``kill -9``, ends with it;
- takes the client's stdio, environment, working dir and argv, sets ``sys.path[0]`` to the
  script's dir, reseeds NumPy's global generator, and runs the script as ``__main__`` from its file;
- exits as the interpreter would: ``SystemExit``'s status, or the traceback and status 1, after
  joining threads, atexit handlers and flushing stdio, without tearing down the server's imports.

Not ready when an import fails, writes anything (a warning a cold trial would print), or loads a
module from its working dir, the code (a trial's own modules are imported by each worker, from its
own dir). Standard library only; no package import.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import types
from importlib.machinery import SourceFileLoader

HEADER = struct.Struct("!Q")
"""A request: the payload's length, sent with the four file descriptors, then the JSON payload."""
MAX_REQUEST = 16 << 20
MODULES_NAME = "modules"
"""Beside the socket: the top-level names of every module imported when the server is ready, one per
line (a job whose own dirs provide one of them would import its own copy in a fresh process)."""


def _quiet_imports(script_dir: str, modules: list[str]) -> str | None:
    """Import ``modules`` as a trial would (``script_dir`` first on sys.path); why not, or None."""
    sys.path[0] = script_dir
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 1)
        os.dup2(captured.fileno(), 2)
        try:
            for name in modules:
                importlib.import_module(name)
        except BaseException as err:  # noqa: BLE001 - any failure: the trials run cold
            return f"importing {name}: {type(err).__name__}: {err}"
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        captured.seek(0)
        output = captured.read()
    if output:
        return "importing them writes output: " + output.decode(errors="replace").strip()[:300]
    inside = os.path.join(os.path.realpath(os.getcwd()), "")  # the code dir, as a trial's
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and os.path.realpath(path).startswith(inside):
            return f"they import the script's own module {name}"
    if sys.stdout is not sys.__stdout__ or sys.stderr is not sys.__stderr__:
        return "importing them replaced sys.stdout or sys.stderr"
    return None


class Request:
    """A trial: the client's stdin, stdout, stderr and lifeline (and its user and network
    namespaces, where it could open them), and what to run where."""

    def __init__(self, fds: list[int], payload: dict) -> None:
        self.fds = fds[:4]
        self.namespaces = fds[4:]
        self.argv: list[str] = payload["argv"]
        self.cwd: str = payload["cwd"]
        self.env: dict[str, str] = payload["env"]


def _receive(conn: socket.socket) -> Request:
    conn.settimeout(30)
    head, fds, _, _ = socket.recv_fds(conn, HEADER.size, 6)
    try:
        if len(head) != HEADER.size or len(fds) not in (4, 6):
            raise ValueError("malformed request")
        (size,) = HEADER.unpack(head)
        if size > MAX_REQUEST:
            raise ValueError("request too large")
        chunks, got = [], 0
        while got < size:
            chunk = conn.recv(min(size - got, 1 << 16))
            if not chunk:
                raise ValueError("truncated request")
            chunks.append(chunk)
            got += len(chunk)
        return Request(fds, json.loads(b"".join(chunks)))
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def serve(listener: socket.socket) -> Request:
    """Fork a worker per client, reap them, report their wait status; returns in a worker only."""
    wake_read, wake_write = os.pipe()
    for fd in (wake_read, wake_write):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    workers: dict[int, socket.socket] = {}
    while True:
        ready, _, _ = select.select([listener, wake_read], [], [])
        if wake_read in ready:
            while True:
                try:
                    if not os.read(wake_read, 512):
                        break
                except BlockingIOError:
                    break
            _reap(workers)
        if listener not in ready:
            continue
        conn, _ = listener.accept()
        try:
            request = _receive(conn)
        except (OSError, ValueError, KeyError, TypeError):
            conn.close()
            continue
        pid = os.fork()
        if pid == 0:  # the worker: nothing of the server's stays open or installed
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (wake_read, wake_write):
                os.close(fd)
            for sock in (listener, conn, *workers.values()):
                sock.close()
            return request
        for fd in (*request.fds, *request.namespaces):
            os.close(fd)
        workers[pid] = conn


def _reap(workers: dict[int, socket.socket]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = workers.pop(pid, None)
        if conn is not None:
            with contextlib.suppress(OSError):  # (a client gone was killed: so is its worker)
                conn.sendall(f"{status}\n".encode())
            conn.close()


def _watch(lifeline: int) -> None:
    """Block until the client's end of the lifeline closes, then kill this worker's group."""
    while True:
        try:
            if not os.read(lifeline, 512):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    os.killpg(0, signal.SIGKILL)


NAMESPACES = (("user", 0x10000000), ("net", 0x40000000))
"""The namespaces a worker takes from its client, in the order they are entered (CLONE_NEWUSER
first: it gives the capabilities in the client's user namespace that entering its network
namespace needs)."""


def _join(namespaces: list[int]) -> None:
    """Enter the client's namespaces that differ from this process's (setns(2); a worker is still
    single-threaded here, as entering a user namespace requires)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for fd, (kind, flag) in zip(namespaces, NAMESPACES, strict=True):
        theirs, ours = os.fstat(fd), os.stat(f"/proc/self/ns/{kind}")
        if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino) and libc.setns(fd, flag) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"entering the job's {kind} namespace: {os.strerror(error)}")
    for fd in namespaces:
        os.close(fd)


def _enter(request: Request) -> str:
    """Become the trial's process: namespaces, group, stdio, lifeline, environment, dir, argv,
    sys.path."""
    if request.namespaces:
        try:
            _join(request.namespaces)
        except OSError as err:  # never run the job with the network its client does not have
            os.write(
                request.fds[2],
                f"warm worker: {err.strerror}; LGBM_PIPELINE_COLD_JOBS=1 and "
                f"LGBM_PIPELINE_COLD_TRIALS=1 run every job in a fresh process\n".encode(),
            )
            os._exit(1)
    os.setpgid(0, 0)
    stdin, stdout, stderr, lifeline = request.fds
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
    for fd in {stdin, stdout, stderr} - {0, 1, 2}:
        os.close(fd)
    os.set_inheritable(lifeline, False)
    threading.Thread(target=_watch, args=(lifeline,), daemon=True).start()
    os.environ.clear()
    os.environ.update(request.env)
    os.chdir(request.cwd)
    script = request.argv[0]
    sys.argv = list(request.argv)
    sys.path[0] = os.path.dirname(os.path.realpath(script))  # as `python SCRIPT` sets it
    job_entries = _pythonpath(request.env.get("PYTHONPATH", ""))
    if job_entries != SERVER_PYTHONPATH:  # the job's PYTHONPATH follows the script's dir, as cold
        rest = [p for p in sys.path[1:] if p not in SERVER_PYTHONPATH and p not in job_entries]
        sys.path[1:] = job_entries + rest
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:  # the server's seed is every worker's: draw a fresh one
        numpy_random.seed()
    return script if os.path.isabs(script) else os.path.join(os.getcwd(), script)


def _pythonpath(value: str) -> list[str]:
    """A PYTHONPATH's entries as the interpreter puts them on sys.path (absolute, once each)."""
    entries: list[str] = []
    for part in value.split(os.pathsep):
        if part and os.path.abspath(part) not in entries:
            entries.append(os.path.abspath(part))
    return entries


SERVER_PYTHONPATH = _pythonpath(os.environ.get("PYTHONPATH", ""))
"""The server's own PYTHONPATH entries (on its sys.path after its script's dir)."""

INTERRUPTED = object()
"""run_main's status for a script ended by KeyboardInterrupt (the interpreter then ends by SIGINT)."""


def run_main(script: str) -> object:
    """Run ``script`` as ``__main__``: 0, ``SystemExit``'s code, or 1 (or :data:`INTERRUPTED`)
    after an uncaught exception's traceback, printed as the interpreter prints it."""
    try:
        with open(script, "rb") as file:
            source = file.read()
    except OSError as err:
        print(
            f"{sys.executable}: can't open file {script!r}: [Errno {err.errno}] {err.strerror}",
            file=sys.stderr,
        )
        return 2
    main = types.ModuleType("__main__")
    main.__dict__.update(
        __annotations__={},
        __builtins__=builtins,
        __file__=script,
        __cached__=None,
        __loader__=SourceFileLoader("__main__", script),
    )
    sys.modules["__main__"] = main
    try:
        exec(compile(source, script, "exec"), main.__dict__)
    except SystemExit as exit_:
        _flush_io()
        return exit_.code
    except BaseException as err:  # noqa: BLE001 - reported as the interpreter reports it
        _flush_io()
        traceback = err.__traceback__.tb_next if err.__traceback__ else None  # without this frame
        err.with_traceback(traceback)  # (the hook prints the exception's own)
        sys.last_type, sys.last_value, sys.last_traceback = type(err), err, traceback
        sys.excepthook(type(err), err, traceback)
        return INTERRUPTED if isinstance(err, KeyboardInterrupt) else 1
    _flush_io()
    return 0


def _flush_io() -> None:
    """Flush sys.stderr, then sys.stdout, errors ignored, as the interpreter does when a script's
    code ends, before it reports an exception or SystemExit (so the order of a log's lines holds)."""
    for stream in (sys.stderr, sys.stdout):
        with contextlib.suppress(Exception):
            stream.flush()


def _flush_std() -> bool:
    """Flush sys.stdout and sys.stderr as the interpreter does at exit; False if one failed."""
    ok = True
    for stream in (sys.stdout, sys.stderr):
        if stream is None or getattr(stream, "closed", False):
            continue
        try:
            stream.flush()
        except Exception as err:  # noqa: BLE001 - reported as the interpreter reports it
            ok = False
            if stream is sys.stdout and sys.stderr is not None:
                with contextlib.suppress(Exception):
                    sys.stderr.write(f"Exception ignored in: {stream!r}\n{type(err).__name__}: {err}\n")
                    sys.stderr.flush()
    return ok


def _clear(namespace: dict) -> None:
    """Set a module's globals to None as the interpreter does at exit (``_PyModule_ClearDict``):
    names with one leading underscore first, then all but ``__builtins__``. Objects go in
    reference order (a file is flushed before it is closed), not in a collector's order."""
    for key in [k for k in namespace if k.startswith("_") and not k.startswith("__")]:
        namespace[key] = None
    for key in [k for k in namespace if k != "__builtins__"]:
        namespace[key] = None


def finish(status: object, preloaded: set[str]) -> None:
    """End the worker as the interpreter ends after ``sys.exit(status)``: the status (a non-int
    printed, then 1), non-daemon threads joined, atexit handlers, stdio flushed (else status 120),
    the globals of ``__main__`` and every module imported since the fork cleared (an unclosed file
    is flushed). Only the server's imports are not torn down: a worker ends in milliseconds rather
    than the second a cold interpreter spends tearing down LightGBM, pandas and scikit-learn."""
    if status is None or status is INTERRUPTED:
        code = 0
    elif isinstance(status, int):
        code = status
    else:
        with contextlib.suppress(Exception):
            print(status, file=sys.stderr)
        code = 1
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    if not _flush_std():
        code = 120
    for name in reversed(list(sys.modules)):  # newest first, as the interpreter clears them
        if name == "__main__" or name not in preloaded:
            module = sys.modules.pop(name, None)
            if isinstance(module, types.ModuleType):
                _clear(module.__dict__)
    gc.collect()
    _flush_std()
    if status is INTERRUPTED:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code & 0xFF)


def main(argv: list[str]) -> object:
    if len(argv) < 3:
        print("usage: warm_server.py SOCKET SCRIPT_DIR MODULE...", file=sys.stderr)
        return 2
    path, script_dir, modules = argv[1], argv[2], argv[3:]
    reason = _quiet_imports(script_dir, modules)
    if reason:
        print(f"not-ready: {reason}", flush=True)
        return 0
    with open(os.path.join(os.path.dirname(path), MODULES_NAME), "w") as names:  # (warm.imported_modules)
        names.write("".join(f"{name}\n" for name in sorted({m.partition(".")[0] for m in sys.modules})))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    gc.freeze()  # the workers' collections skip (and do not copy) what the server imported
    print(f"ready {os.getpid()}", flush=True)
    request = serve(listener)
    preloaded = set(sys.modules)
    finish(run_main(_enter(request)), preloaded)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
