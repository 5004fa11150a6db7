"""Benchmark `lgbm-pipeline serve` on the census model: the waitress server against the http.server
one it replaced, in the same run (run on demand; not a test).

    python benchmarks/bench_serve.py [--model model.tar.gz] [--seconds 10] [--rounds 3] [--check]

The model is the census model (preprocessing.py and train.py with their defaults on the Adult data
bundled in examples/data, packed as SageMaker packs it) unless ``--model`` names a model.tar.gz;
``--echo`` times the servers alone, with a handler that answers the request body.
Each server runs in its own process; the clients are threads of this process, each sending one
census row per request (``text/csv``) as fast as it gets answers. Three servers, interleaved
round by round: the old server (``http.server.ThreadingHTTPServer``, copied below as it was: HTTP/1.0,
one connection per request), the new one with keep-alive connections (what boto3 and requests
use), and the new one with a new connection per request (as the old one forces). Figures are the
medians over the rounds of throughput and of each round's p50 and p99 latency.

``--check`` verifies the hardening (issue 15) on the census model instead: a burst of 500
simultaneous single-row requests against both servers, each malformed request of the review, the
6 MB limit, and each server's resident memory around a 50 MB body of census rows.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))
from bench_compile import machine  # noqa: E402
from step_jobs import ADULT_COLUMNS, ADULT_PREPROCESSING, install_code, run_script  # noqa: E402

ROW = (
    b"39,State-gov,Bachelors,13,Never-married,Adm-clerical,Not-in-family,White,Male,2174,0,40,United-States\n"
)
CSV = {"Content-Type": "text/csv", "Accept": "text/csv"}
ROWS_50MB = ROW * (50 * 2**20 // len(ROW))

# The server before issue 15 (lgbm_pipeline_compiler/local/serve.py at 153cc7f), access log off.
OLD_SERVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def make_old_server(model, host, port):
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status, content_type, body):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/ping":
                self._send(200, "text/plain", b"")
            else:
                self._send(404, "text/plain", b"not found: use GET /ping or POST /invocations\\n")

        def do_POST(self):
            if self.path != "/invocations":
                self._send(404, "text/plain", b"not found: use POST /invocations\\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            self._send(*model.invoke(body, self.headers.get("Content-Type"), self.headers.get("Accept")))

        def log_message(self, fmt, *args):
            pass

    return ThreadingHTTPServer((host, port), Handler)
"""

CHILD = """
import sys
from pathlib import Path
from lgbm_pipeline_compiler.local.serve import ServingModel, make_server
kind, archive, channel_timeout = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
model = ServingModel(archive.read_bytes())
if kind == "old":
    exec(sys.argv[4])
    server = make_old_server(model, "127.0.0.1", 0)
else:
    server = make_server(model, port=0, channel_timeout=channel_timeout, access_log=False)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def census_model(work: Path) -> Path:
    """preprocessing.py and train.py (defaults) on the bundled Adult files; model.tar.gz."""
    lines = [",".join(ADULT_COLUMNS)]
    for name in ("adult.data.gz", "adult.test.gz"):
        for line in gzip.decompress((REPO / "examples" / "data" / name).read_bytes()).decode().splitlines():
            if line.strip() and not line.startswith("|"):
                lines.append(line.replace(", ", ",").rstrip("."))
    data = work / "input"
    data.mkdir(parents=True)
    (data / "census-income.csv").write_text("\n".join(lines) + "\n")
    code = install_code(["preprocessing.py", "train.py", "inference.py", "requirements.txt"], work / "code")
    prepared = work / "prepared"
    args = ["--input-dir", str(data), "--output-dir", str(prepared), *ADULT_PREPROCESSING]
    result = run_script(code / "preprocessing.py", args, cwd=code)
    assert result.returncode == 0, result.stderr
    model_dir, output = work / "model", work / "output"
    model_dir.mkdir()
    output.mkdir()
    env = {
        "SM_CHANNEL_TRAIN": str(prepared / "train"),
        "SM_CHANNEL_VALIDATION": str(prepared / "validation"),
        "SM_MODEL_DIR": str(model_dir),
        "SM_OUTPUT_DATA_DIR": str(output),
        "SM_CHANNELS": '["train","validation"]',
        "SM_HPS": "{}",
    }
    result = run_script(code / "train.py", [], env=env, cwd=code)
    assert result.returncode == 0, result.stderr
    archive = work / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for item in sorted(model_dir.iterdir()):
            tar.add(item, arcname=item.name)
    return archive


def echo_model(work: Path) -> Path:
    """A model whose handler answers the request body: the servers' own cost per request."""
    code = work / "echo" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text(
        "def model_fn(model_dir):\n    return None\n\n"
        "def transform_fn(model, body, content_type, accept):\n    return body, content_type\n"
    )
    archive = work / "echo.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(code, arcname="code")
    return archive


class Server:
    """A server in its own process: ``old`` or ``new``."""

    def __init__(self, kind: str, archive: Path, channel_timeout: int = 60):
        argv = [sys.executable, "-c", CHILD, kind, str(archive), str(channel_timeout), OLD_SERVER]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = int(self.process.stdout.readline())

    def rss_mib(self) -> tuple[float, float]:
        """(current, peak) resident memory of the server process."""
        status = Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
        kib = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith("Vm")}
        return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def load(port: int, clients: int, seconds: float, keep_alive: bool) -> dict:
    """``clients`` threads sending single-row requests for ``seconds``: throughput and latency."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop = time.perf_counter() + seconds
    headers = CSV if keep_alive else {**CSV, "Connection": "close"}

    def client(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                connection.request("POST", "/invocations", body=ROW, headers=headers)
                response = connection.getresponse()
                assert response.status == 200 and response.read()
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
                connection.close()
                continue
            latencies[i].append(time.perf_counter() - start)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(x for xs in latencies for x in xs)
    return {
        "rps": len(every) / elapsed,
        "p50_ms": 1000 * every[len(every) // 2],
        "p99_ms": 1000 * every[min(len(every) - 1, int(len(every) * 0.99))],
        "requests": len(every),
        "errors": len(errors),
    }


CONFIGS = {
    "old: http.server (HTTP/1.0, a connection per request)": ("old", False),
    "new: waitress, keep-alive": ("new", True),
    "new: waitress, a connection per request": ("new", False),
}


def bench(archive: Path, seconds: float, rounds: int, levels: list[int]) -> dict:
    results: dict[tuple[str, int], list[dict]] = {}
    for _ in range(rounds):
        for name, (kind, keep_alive) in CONFIGS.items():
            server = Server(kind, archive)
            try:
                load(server.port, 1, 1.0, keep_alive)  # warm-up
                for clients in levels:
                    results.setdefault((name, clients), []).append(
                        load(server.port, clients, seconds, keep_alive)
                    )
            finally:
                server.stop()
    med = statistics.median
    return {
        key: {k: med(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms")}
        | {"requests": sum(r["requests"] for r in runs), "errors": sum(r["errors"] for r in runs)}
        for key, runs in results.items()
    }


# --- --check: the hardening, verified -----------------------------------------------------------------


def raw(port: int, data: bytes, end: bool = True) -> str:
    """Send bytes, read the whole answer: 'STATUS reason-line' (or what went wrong). A client
    that keeps its side open waits 15 s at most."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=120 if end else 15) as sock:
            sock.sendall(data)
            if end:
                sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    except OSError as error:
        return f"no answer ({type(error).__name__})"
    if not answer:
        return "no answer (connection closed)"
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode().split(" ", 1)[1]
    lines = body.decode("utf-8", "replace").splitlines()
    first = lines[0] if lines else ""
    return f"{status}: {first[:110]}" + (f" (+{len(lines) - 1} lines)" if len(lines) > 1 else "")


def post(length: str, body: bytes, content_type: str = "text/csv") -> bytes:
    head = f"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nAccept: text/csv\r\n"
    return f"{head}Content-Length: {length}\r\n\r\n".encode() + body


def burst(port: int, n: int) -> dict:
    start = threading.Barrier(n)
    outcome: list[str] = [""] * n

    def client(i: int) -> None:
        start.wait()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            connection.request("POST", "/invocations", body=ROW, headers=CSV)
            outcome[i] = str(connection.getresponse().status)
        except Exception as error:
            outcome[i] = type(error).__name__

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts: dict[str, int] = {}
    for item in outcome:
        counts[item] = counts.get(item, 0) + 1
    return {"counts": counts, "seconds": time.perf_counter() - began}


def check(archive: Path) -> list[str]:
    out = ["### Hardening checks (`--check`)", ""]
    for kind in ("old", "new"):
        server = Server(kind, archive)
        try:
            result = burst(server.port, 500)
        finally:
            server.stop()
        out.append(
            f"- 500 simultaneous single-row requests, {kind} server: {result['counts']} in {result['seconds']:.1f} s"
        )
    deep = b"[" * 100_000 + b"]" * 100_000
    big_int = json.dumps({"instances": [[int("9" * 400), *ROW.decode().strip().split(",")[1:]]]}).encode()
    attacks = {
        "Content-Length: abc": (post("abc", ROW), True),
        "Content-Length: -5": (post("-5", ROW), True),
        "Content-Length of 400 digits": (post("9" * 400, ROW), True),
        "Content-Length 1000, 102-byte body, client ends its side": (post("1000", ROW), True),
        "Content-Length 1000, 102-byte body, client goes quiet (channel_timeout 5 s here)": (
            post("1000", ROW),
            False,
        ),
        "JSON with a 400-digit integer": (post(str(len(big_int)), big_int, "application/json"), True),
        "JSON arrays nested 100,000 deep": (post(str(len(deep)), deep, "application/json"), True),
        "body of exactly 6291456 bytes (application/x-npy)": (
            post("6291456", b"x" * 6291456, "application/x-npy"),
            True,
        ),
        "body of 6291457 bytes": (post("6291457", b"x" * 6291457), True),
        "body of 50 MB": (post(str(50 * 2**20), b"x" * (50 * 2**20)), True),
    }
    out += ["", "| request | old server | new server |", "| --- | --- | --- |"]
    answers: dict[str, dict[str, str]] = {}
    for kind in ("old", "new"):
        server = Server(kind, archive, channel_timeout=5)
        try:
            for name, (data, end) in attacks.items():
                answers.setdefault(name, {})[kind] = raw(server.port, data, end)
        finally:
            server.stop()
    for name, by_kind in answers.items():
        out.append(f"| {name} | {by_kind['old']} | {by_kind['new']} |")
    out.append("")
    for kind in ("old", "new"):
        server = Server(kind, archive)
        try:
            raw(server.port, post(str(len(ROW)), ROW))
            before = server.rss_mib()
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=900)
            connection.request("POST", "/invocations", body=ROWS_50MB, headers=CSV)
            response = connection.getresponse()
            answer = f"{response.status}, {len(response.read().splitlines())} lines"
            connection.close()
            after = server.rss_mib()
        finally:
            server.stop()
        out.append(
            f"- {kind} server, one 50 MB body of census rows sent in full by http.client: answer {answer}; "
            f"server RSS {before[0]:.0f} MiB before, {after[0]:.0f} MiB after, peak {after[1]:.0f} MiB"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a model.tar.gz (default: train the census model)")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="per client level and server (default 10)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--check", action="store_true", help="verify the hardening instead of timing")
    parser.add_argument("--echo", action="store_true", help="time the servers alone: a handler that echoes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        archive = echo_model(Path(tmp)) if args.echo else args.model or census_model(Path(tmp))
        load_before = os.getloadavg()[0]
        if args.check:
            lines = check(archive)
        else:
            levels = [int(c) for c in args.clients.split(",")]
            results = bench(archive, args.seconds, args.rounds, levels)
            model = (
                "an echo handler (the servers alone)"
                if args.echo
                else f"the model {args.model or 'census (trained)'}"
            )
            lines = [
                f"On {model}: {args.rounds} rounds of {args.seconds:.0f} s per server and client level, "
                "interleaved; medians.",
                "",
                "| server | clients | requests/s | p50 ms | p99 ms | requests (errors) |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for (name, clients), r in results.items():
                lines.append(
                    f"| {name} | {clients} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                    f"{r['requests']} ({r['errors']}) |"
                )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print("## Serving (`lgbm-pipeline serve`, bench_serve.py)\n")
    print(
        f"Measured {when} on {machine()}; 1-minute load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after.\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
