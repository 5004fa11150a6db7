"""A training job on several instances, locally: one process per host on 127.0.0.1.

Each host is a container of its own under the trial's dir, ``hosts/algo-N/`` (``container/`` ↔
``/opt/ml/``), with the environment SageMaker's training toolkit gives a script (sagemaker-training-
toolkit ``environment.py``): ``SM_HOSTS`` (JSON list), ``SM_CURRENT_HOST``, ``SM_INPUT_DATA_CONFIG``,
``SM_CHANNEL_*``, and ``/opt/ml/input/config/resourceconfig.json`` and ``inputdataconfig.json``
written as SageMaker writes them. Hosts are named ``algo-1`` … ``algo-N`` as in SageMaker. Being
processes of one machine, they cannot all listen on LightGBM's port: each gets a free port on
127.0.0.1, picked per job (so parallel trials never share one), and every host gets the list as
``LGBM_PIPELINE_MACHINES`` (cluster.MACHINES_ENV), which train.py prefers to resolving host names.

Channels: a FullyReplicated channel gives every host every object; a ShardedByS3Key channel gives
each host its share of the objects under the prefix. SageMaker documents the share, not the rule:
"each instance gets approximately 1/n of the number of S3 objects" and an instance gets nothing when
there are fewer objects than instances (S3DataSource, SageMaker API reference). Locally the objects,
in S3's listing order (UTF-8 binary order of the keys), are dealt round-robin: host i gets objects
i, i+n, i+2n… — each host floor(k/n) or ceil(k/n) of k objects, as documented. train.py depends only
on that count, never on which objects a host gets.

A host that fails fails the job: the other hosts are killed at once (they would wait for it on the
network), and the reason names the host, its exit status and its log tail. The job is also killed
after StoppingCondition.MaxRuntimeInSeconds, as SageMaker stops it. Only the first host's log is
read for the objective. SageMaker does not document which host's log its MetricDefinitions are
applied to; the SDK reads a job's metric by TrainingJobName alone, as an Average over what was
published (sagemaker/analytics.py), and its tuning visualisation with ``Host={job}/algo-1``
(sagemaker/amtviz/job_metrics.py); train.py prints the same validation metrics on every host, so
each of these readings is the same value. The model is every host's /opt/ml/model together, as SageMaker aggregates them into
one model.tar.gz ("If multiple containers in a single training job write to this directory they
should ensure no file/directory names clash": How Amazon SageMaker Processes Training Output); a
clash fails the job here.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .context import StepContext, StepFailed
from .processes import NO_PROXY_ENV, Jobs, JobsStopped, shared_jobs

if TYPE_CHECKING:
    from .warm import Borrowed, WarmTrials

MACHINES_ENV = "LGBM_PIPELINE_MACHINES"  # (cluster.MACHINES_ENV: the scripts import nothing of ours)
SHARDED = "ShardedByS3Key"
GROUP = "homogeneousCluster"
POLL_SECONDS = 0.1
TAIL_LINES = 20

_ports_lock = threading.Lock()
_ports_held: set[int] = set()


def host_names(count: int) -> list[str]:
    """SageMaker's host names of a training job's instances."""
    return [f"algo-{i}" for i in range(1, count + 1)]


def shard(keys: list[str], hosts: list[str]) -> dict[str, list[str]]:
    """ShardedByS3Key locally: keys in S3's listing order, dealt round-robin over the hosts."""
    ordered = sorted(keys, key=lambda key: key.encode())
    return {host: ordered[i :: len(hosts)] for i, host in enumerate(hosts)}


@contextlib.contextmanager
def free_ports(count: int):  # noqa: ANN201 - a context manager of list[int]
    """``count`` distinct free ports on 127.0.0.1, held from other jobs of this process until the
    block ends (the kernel picks them; one the job's LightGBM then binds)."""
    picked: list[int] = []
    sockets: list[socket.socket] = []
    try:
        with _ports_lock:
            while len(picked) < count:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind(("127.0.0.1", 0))
                sockets.append(sock)  # (kept open until all are picked: no port twice)
                port = sock.getsockname()[1]
                if port not in _ports_held:
                    picked.append(port)
            _ports_held.update(picked)
        for sock in sockets:
            sock.close()
        sockets.clear()
        yield picked
    finally:
        for sock in sockets:
            sock.close()
        with _ports_lock:
            _ports_held.difference_update(picked)


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        target.write_bytes(source.read_bytes())


def channel_files(folder: Path) -> list[str]:
    """The objects of a downloaded channel, as keys relative to its prefix."""
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]


def host_channels(
    channels: Mapping[str, Path], distribution: Mapping[str, str], hosts: list[str]
) -> dict[str, dict[str, list[str]]]:
    """For each host, each channel's keys it gets."""
    out: dict[str, dict[str, list[str]]] = {host: {} for host in hosts}
    for name, folder in channels.items():
        keys = channel_files(folder)
        shares = shard(keys, hosts) if distribution.get(name) == SHARDED else dict.fromkeys(hosts, keys)
        for host in hosts:
            out[host][name] = shares[host]
    return out


@dataclass
class Host:
    """One instance of the job: its container, command and environment."""

    name: str
    ctx: StepContext
    command: list[str]
    env: dict[str, str]
    cwd: Path
    output: list[str] = field(default_factory=list)
    tail: deque = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    code: int | None = None


def prepare(
    host: str,
    ctx: StepContext,
    hosts: list[str],
    channels: Mapping[str, Path],
    shares: Mapping[str, list[str]],
    channel_config: Mapping[str, dict[str, str]],
    instance_type: str,
) -> dict[str, str]:
    """Lay out a host's /opt/ml (its channels' objects, the two config files); its SM_* environment."""
    env: dict[str, str] = {}
    for name, keys in shares.items():
        local = ctx.local_path(f"/opt/ml/input/data/{name}")
        local.mkdir(parents=True, exist_ok=True)
        for key in keys:
            _link_or_copy(channels[name] / key, local.joinpath(*key.split("/")))
        env[f"SM_CHANNEL_{name.upper()}"] = str(local)
    config = ctx.local_path("/opt/ml/input/config")
    config.mkdir(parents=True, exist_ok=True)
    resources = {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": GROUP,
        "hosts": hosts,
        "instance_groups": [{"instance_group_name": GROUP, "instance_type": instance_type, "hosts": hosts}],
        "network_interface_name": "lo",
    }
    (config / "resourceconfig.json").write_text(json.dumps(resources, indent=2) + "\n")
    (config / "inputdataconfig.json").write_text(json.dumps(channel_config, indent=2) + "\n")
    return {
        **env,
        "SM_HOSTS": json.dumps(hosts),
        "SM_CURRENT_HOST": host,
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_INPUT_DATA_CONFIG": json.dumps(channel_config),
        "SM_RESOURCE_CONFIG": json.dumps(resources),
    }


def _read(host: Host, proc, log, lock: threading.Lock) -> None:  # noqa: ANN001 - Popen, IO
    assert proc.stdout is not None
    for line in proc.stdout:
        host.output.append(line)
        host.tail.append(line.rstrip())
        with lock:
            log.write(f"[{host.name}] {line}")
    with lock:
        log.flush()


def _status(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
    return f"exited with {code}"


def run_hosts(
    hosts: list[Host],
    jobs: Jobs | None,
    max_runtime: float,
    isolated: bool,
    server: WarmTrials | Borrowed | None = None,
) -> str:
    """Run every host at once (each in a worker of the Tune step's warm ``server`` where there is
    one, as its trials run); the first host's output, or StepFailed naming the first host that
    failed (the others are killed at once) or the runtime limit."""
    jobs = jobs or shared_jobs()
    log = hosts[0].ctx.log
    lock = threading.Lock()
    procs, readers = [], []
    log.write(f"$ {len(hosts)} hosts: {', '.join(h.name for h in hosts)}: {' '.join(hosts[0].command)}\n")
    log.flush()
    try:
        for host in hosts:
            env = {**host.env, **NO_PROXY_ENV} if isolated else host.env  # (hosts talk on loopback)
            try:
                command = server.command(host.command) if server is not None else host.command
                proc = jobs.start(command, cwd=host.cwd, env=env)
            except JobsStopped as err:
                raise StepFailed(str(err)) from None
            procs.append(proc)
            reader = threading.Thread(target=_read, args=(host, proc, log, lock), daemon=True)
            reader.start()
            readers.append(reader)
        deadline = time.monotonic() + max_runtime
        while True:
            for host, proc in zip(hosts, procs, strict=True):
                host.code = proc.poll()
                if host.code not in (None, 0):
                    return _fail(hosts, procs, readers, jobs, host)
            if all(h.code == 0 for h in hosts):
                break
            if time.monotonic() > deadline:
                _stop(procs, readers, jobs)
                running = [h.name for h in hosts if h.code is None]
                raise StepFailed(
                    f"MaxRuntimeExceeded: the job ran past StoppingCondition.MaxRuntimeInSeconds "
                    f"({max_runtime:g} s); hosts still running: {', '.join(running)}"
                )
            time.sleep(POLL_SECONDS)
        for reader in readers:
            reader.join()
    finally:
        _stop(procs, readers, jobs)
    return "".join(hosts[0].output)


def _stop(procs: list, readers: list[threading.Thread], jobs: Jobs) -> None:
    for proc in procs:
        jobs.release(proc)  # kills the host's process group if it still runs
    for reader in readers:
        reader.join(10)


def _fail(hosts: list[Host], procs: list, readers: list[threading.Thread], jobs: Jobs, failed: Host) -> str:
    _stop(procs, readers, jobs)
    killed = [h.name for h in hosts if h.code is None]
    stopped = f"; stopped {', '.join(killed)}" if killed else ""
    raise StepFailed(
        f"host {failed.name} {_status(failed.code or 0)}{stopped} (a training job fails when any of "
        f"its instances fails):\n" + "\n".join(failed.tail)
    )


def run_job(trials, sub: StepContext, hyperparameters: dict[str, str]) -> tuple[str, list[Path]]:  # noqa: ANN001
    """A tuning trial (executors/tuning.py's ``_Trials``) on ``trials.instances`` hosts: the first
    host's output and every host's model dir, or StepFailed."""
    import io
    import tarfile

    job = trials.job
    hosts = host_names(trials.instances)
    mode = job["AlgorithmSpecification"].get("TrainingInputMode", "File")
    channel_config: dict[str, dict[str, str]] = {}
    distribution: dict[str, str] = {}
    for channel in job.get("InputDataConfig", []):
        name = channel["ChannelName"]
        kind = channel["DataSource"]["S3DataSource"].get("S3DataDistributionType", "FullyReplicated")
        distribution[name] = kind
        channel_config[name] = {
            "TrainingInputMode": channel.get("InputMode", mode),
            "S3DistributionType": kind,
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
        }
    shares = host_channels(trials.channels, distribution, hosts)
    for name, kind in distribution.items():
        counts = ", ".join(f"{h} {len(shares[h][name])}" for h in hosts)
        sub.log.write(f"channel {name}: {kind}: objects per host: {counts}\n")
    limit = float(job.get("StoppingCondition", {}).get("MaxRuntimeInSeconds", 86_400))
    with free_ports(len(hosts)) as ports:
        machines = ",".join(f"127.0.0.1:{port}" for port in ports)
        cluster: list[Host] = []
        for host in hosts:
            ctx = StepContext(**{**sub.__dict__, "work": sub.work / "hosts" / host})
            code = ctx.local_path("/opt/ml/code")
            model_dir, output_dir = ctx.local_path("/opt/ml/model"), ctx.local_path("/opt/ml/output/data")
            for folder in (code, model_dir, output_dir):
                folder.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(trials.code_archive)) as tar:
                tar.extractall(code, filter="data")
            command, notes = trials.command(ctx, code, hyperparameters)
            sub.log.writelines(f"[{host}] {note}" for note in notes)
            env = trials.env(SM_MODEL_DIR=str(model_dir), SM_OUTPUT_DATA_DIR=str(output_dir))
            env.update(
                prepare(host, ctx, hosts, trials.channels, shares[host], channel_config, trials.instance_type)
            )
            env[MACHINES_ENV] = machines
            cluster.append(Host(host, ctx, command, env, code))
        text = run_hosts(cluster, sub.jobs, limit, sub.isolated, trials.warm_server())
    return text, [h.ctx.local_path("/opt/ml/model") for h in cluster]
