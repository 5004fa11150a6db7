"""Benchmark data-parallel training (issue 13): preprocessing + training with 1 vs 2 local instances
on UCI Census-Income (KDD) replicated to each size (run on demand; not a test).

For each size the KDD rows (train then test file, 299,285 rows) are repeated up to that many rows
into one CSV under a temp dir (never committed). preprocessing.py runs once with ``--train-shards 2``
(the files a 2-instance job gets; one instance reads both: the same rows). train.py then runs as
one process (1 instance) and as two processes forming LightGBM's network on 127.0.0.1 (2 instances,
the environment local/distributed.py gives them), each with one OpenMP thread, so that one instance
and two instances use one core each as one and two machines would. Each process's peak RSS comes
from ``os.wait4``; a job's time is its slowest process's. Figures go to stdout as markdown.

    python benchmarks/bench_distributed.py [--sizes 200000,600000,1000000] [--rounds 100]
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "step_scripts"
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_train import KDD_COLUMNS, data_dir  # noqa: E402

SHARDED = json.dumps({"train": {"S3DistributionType": "ShardedByS3Key"}})


def write_replicated(target: Path, rows: int) -> int:
    """KDD's rows repeated up to ``rows`` into one CSV with a header; returns the rows written."""
    source = data_dir() / "census-income-kdd"
    lines: list[bytes] = []
    for name in ("census-income.data.gz", "census-income.test.gz"):
        lines += [
            line
            for line in gzip.decompress((source / name).read_bytes()).splitlines(keepends=True)
            if line.strip()
        ]
    written = 0
    with target.open("wb") as out:
        out.write(KDD_COLUMNS.encode() + b"\n")
        while written < rows:
            chunk = lines[: rows - written]
            out.writelines(line.replace(b", ", b",") for line in chunk)
            written += len(chunk)
    return written


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    return subprocess.Popen(argv, stdout=log.open("w"), stderr=subprocess.STDOUT, env={**base, **env})


def wait(procs: list[subprocess.Popen]) -> list[dict]:
    """Each process's exit status, wall seconds since ``procs`` started and peak RSS (MiB)."""
    began = time.perf_counter()
    out: dict[int, dict] = {}
    while len(out) < len(procs):
        pid, status, usage = os.wait4(-1, 0)
        if pid in {p.pid for p in procs}:
            out[pid] = {
                "code": os.waitstatus_to_exitcode(status),
                "seconds": time.perf_counter() - began,
                "rss_mib": usage.ru_maxrss / 1024,
            }
    return [out[p.pid] for p in procs]


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


def train_env(root: Path, host: str, hosts: list[str], machines: str, shards: list[str]) -> dict[str, str]:
    channel = root / "hosts" / host / "train"
    channel.mkdir(parents=True)
    for name in shards:
        os.link(root / "out" / "train" / name, channel / name)
    if len(hosts) == 1:  # (one instance reads its schema from its train channel, as without shards)
        shutil.copy(root / "out" / "validation" / "schema.json", channel / "schema.json")
    env = {
        "SM_CHANNEL_TRAIN": str(channel),
        "SM_CHANNEL_VALIDATION": str(root / "out" / "validation"),
        "SM_MODEL_DIR": str(root / "hosts" / host / "model"),
        "SM_OUTPUT_DATA_DIR": str(root / "hosts" / host / "output"),
        "OMP_NUM_THREADS": "1",
    }
    if len(hosts) > 1:
        env |= {
            "SM_HOSTS": json.dumps(hosts),
            "SM_CURRENT_HOST": host,
            "SM_INPUT_DATA_CONFIG": SHARDED,
            "LGBM_PIPELINE_MACHINES": machines,
        }
    return env


def train_job(root: Path, code: Path, instances: int, rounds: int) -> dict:
    """train.py on ``instances`` processes; the job's time and each process's peak RSS."""
    shutil.rmtree(root / "hosts", ignore_errors=True)
    hosts = [f"algo-{i}" for i in range(1, instances + 1)]
    shards = sorted(p.name for p in (root / "out" / "train").iterdir())
    machines = ",".join(f"127.0.0.1:{p}" for p in free_ports(instances))
    args = [f"--n_estimators={rounds}", "--early_stopping_rounds=0"]
    procs = []
    for i, host in enumerate(hosts):
        mine = shards[i :: len(hosts)]
        env = train_env(root, host, hosts, machines, mine)
        procs.append(
            start(
                [sys.executable, str(code / "train.py"), *args], env, root / f"train-{instances}-{host}.log"
            )
        )
    results = wait(procs)
    for host, result in zip(hosts, results, strict=True):
        if result["code"] != 0:
            sys.exit(
                f"train.py on {host} failed:\n{(root / f'train-{instances}-{host}.log').read_text()[-3000:]}"
            )
    log = (root / f"train-{instances}-algo-1.log").read_text()
    auc = float(log.split("validation-auc: ")[1].split()[0])
    return {
        "seconds": max(r["seconds"] for r in results),
        "rss_mib": [r["rss_mib"] for r in results],
        "auc": auc,
    }


def bench_size(rows: int, rounds: int, scratch: Path) -> dict:
    root = scratch / f"rows-{rows}"
    (root / "in").mkdir(parents=True)
    print(f"bench: writing {rows:,} rows", flush=True)
    write_replicated(root / "in" / "census.csv", rows)
    code = root / "code"
    code.mkdir()
    for name in ("preprocessing.py", "train.py", "step_common.py", "inference.py", "requirements.txt"):
        shutil.copy(SCRIPTS / name, code / name)
    print(f"bench: preprocessing {rows:,} rows", flush=True)
    argv = [
        sys.executable, str(code / "preprocessing.py"), "--input-dir", str(root / "in"),
        "--output-dir", str(root / "out"), "--target-column", "income", "--positive-class", "50000+",
        "--drop-columns", "instance_weight", "--train-shards", "2",
    ]  # fmt: skip
    [pre] = wait([start(argv, {"OMP_NUM_THREADS": "1"}, root / "preprocessing.log")])
    if pre["code"] != 0:
        sys.exit(f"preprocessing failed:\n{(root / 'preprocessing.log').read_text()[-3000:]}")
    (root / "in" / "census.csv").unlink()
    out = {"rows": rows, "preprocessing": pre}
    for instances in (1, 2):
        print(f"bench: training on {instances} instance(s), {rows:,} rows", flush=True)
        out[f"train_{instances}"] = train_job(root, code, instances, rounds)
    shutil.rmtree(root)
    return out


def report(results: list[dict], rounds: int) -> str:
    lines = [
        f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}; "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {rounds} boosting rounds, "
        "one OpenMP thread per process; time = the job's slowest process.",
        "",
        "| rows | preprocessing s | preprocessing peak RSS MiB | train 1 instance s | RSS MiB | train 2 instances s | RSS MiB (algo-1, algo-2) | 2 vs 1 time | AUC 1 / 2 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        one, two = r["train_1"], r["train_2"]
        lines.append(
            f"| {r['rows']:,} | {r['preprocessing']['seconds']:.1f} | {r['preprocessing']['rss_mib']:.0f} | "
            f"{one['seconds']:.1f} | {one['rss_mib'][0]:.0f} | {two['seconds']:.1f} | "
            f"{two['rss_mib'][0]:.0f}, {two['rss_mib'][1]:.0f} | {two['seconds'] / one['seconds']:.2f}x | "
            f"{one['auc']:.4f} / {two['auc']:.4f} |"
        )
    if len(results) > 1:
        first, last = results[0], results[-1]
        scale = last["rows"] / first["rows"]
        lines += ["", f"From {first['rows']:,} to {last['rows']:,} rows ({scale:.1f}x the rows):"]
        for key, label in (("train_1", "train 1 instance"), ("train_2", "train 2 instances")):
            lines.append(f"- {label}: {last[key]['seconds'] / first[key]['seconds']:.2f}x the time")
        pre = last["preprocessing"]["seconds"] / first["preprocessing"]["seconds"]
        lines.append(f"- preprocessing: {pre:.2f}x the time")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,600000,1000000")
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as scratch:
        results = [bench_size(rows, args.rounds, Path(scratch)) for rows in sizes]
    print(report(results, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
