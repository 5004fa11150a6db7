"""SageMaker's training cluster, as train.py sees it on each instance of a data-parallel job.

Shipped with train.py in sourcedir.tar.gz (compiler/containers.py TRAINING_COMPANIONS): only
training needs it. Runs on Python 3.9 with the standard library only.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from step_common import InputError

RESOURCE_CONFIG = "/opt/ml/input/config/resourceconfig.json"
INPUT_DATA_CONFIG = "/opt/ml/input/config/inputdataconfig.json"
LIGHTGBM_PORT = 12400
"""The port LightGBM listens on on every instance (LightGBM's default ``local_listen_port``)."""
MACHINES_ENV = "LGBM_PIPELINE_MACHINES"
"""Set by the local runner only, whose hosts are processes on 127.0.0.1: ``ip:port,...`` in host
order, a port per host. In SageMaker each host is an instance and listens on :data:`LIGHTGBM_PORT`."""
RESOLVE_SECONDS = 120.0


@dataclass(frozen=True)
class Cluster:
    """The instances of a training job, as SageMaker describes them to each one.

    The training toolkit (sagemaker-training-toolkit, ``environment.py``) sets ``SM_HOSTS`` (JSON list),
    ``SM_CURRENT_HOST`` and ``SM_INPUT_DATA_CONFIG`` from ``/opt/ml/input/config/resourceconfig.json``
    and ``inputdataconfig.json``; the first host is ``sorted(hosts)[0]`` (the toolkit's
    ``master_hostname``)."""

    hosts: tuple[str, ...]
    current: str
    machines: tuple[str, ...]
    """``ip:port`` of each host, in ``hosts`` order (LightGBM's ``machines``)."""
    distribution: dict[str, str]
    """Each channel's S3DistributionType (FullyReplicated or ShardedByS3Key)."""

    @property
    def rank(self) -> int:
        return self.hosts.index(self.current)

    @property
    def first(self) -> bool:
        return self.rank == 0

    @property
    def port(self) -> int:
        return int(self.machines[self.rank].rpartition(":")[2])


def _config_json(env_name: str, path: str, what: str) -> Any:
    text = os.environ.get(env_name)
    if text is None:
        config_dir = os.environ.get("SM_INPUT_CONFIG_DIR")
        file = Path(config_dir) / Path(path).name if config_dir else Path(path)
        if not file.is_file():
            return None
        text = file.read_text()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InputError(f"{what} is not valid JSON: {exc}") from None


def _resolve(host: str) -> str:
    """A host's IPv4 address (LightGBM finds its own rank by comparing these with its interfaces);
    retried for :data:`RESOLVE_SECONDS`, as instances of a cluster may register in DNS late."""
    deadline = time.monotonic() + RESOLVE_SECONDS
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError as exc:
            if time.monotonic() > deadline:
                raise InputError(f"cannot resolve host '{host}' of the training cluster: {exc}") from None
            time.sleep(2)


def training_cluster() -> Cluster | None:
    """The cluster this job runs on, or None on one instance (or outside SageMaker)."""
    hosts = _config_json("SM_HOSTS", RESOURCE_CONFIG, "SM_HOSTS")
    current = os.environ.get("SM_CURRENT_HOST")
    if hosts is None or not isinstance(hosts, list):  # SM_HOSTS unset: the resource config itself
        resources = _config_json("SM_RESOURCE_CONFIG", RESOURCE_CONFIG, "resourceconfig.json") or {}
        hosts, current = resources.get("hosts", []), resources.get("current_host")
    if len(hosts) < 2:
        return None
    hosts = sorted(str(h) for h in hosts)
    if current not in hosts:
        raise InputError(f"current host '{current}' is not one of the cluster's hosts {hosts}")
    channels = _config_json("SM_INPUT_DATA_CONFIG", INPUT_DATA_CONFIG, "input data config") or {}
    distribution = {
        str(name): str(value.get("S3DistributionType", "FullyReplicated"))
        for name, value in channels.items()
        if isinstance(value, dict)
    }
    local = os.environ.get(MACHINES_ENV, "").strip()
    if local:
        machines = tuple(m.strip() for m in local.split(","))
        if len(machines) != len(hosts):
            raise InputError(f"{MACHINES_ENV} lists {len(machines)} machines for {len(hosts)} hosts")
    else:
        machines = tuple(f"{_resolve(h)}:{LIGHTGBM_PORT}" for h in hosts)
    return Cluster(tuple(hosts), str(current), machines, distribution)
