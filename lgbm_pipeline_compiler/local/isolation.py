"""Network isolation for the local runner, and the install a job's container does when it starts.

A job whose request sets EnableNetworkIsolation (a processing job's NetworkConfig, a tuning job's
training definition, a model) has no network in SageMaker. Locally its process runs in a network
namespace of its own (``unshare -rn``: only a loopback that is down) where the kernel allows one,
else with proxy settings that point nowhere (``http://127.0.0.1:9``), which pip, boto3 and urllib
honour. So a job that would need the internet fails here as it would in AWS.

The containers install step_scripts/requirements.txt before the script runs (a processing job's
``pip install -r``, the training toolkit's requirements.txt in the source dir, the serving
container's code/requirements.txt), which the local runner otherwise skips (this Python has the
packages). For a job with network isolation, or whose requirements install offline
(``--no-index``: `dependencies: bundled`), that install is simulated before the job: pip resolves
the requirements for the container's Python and platform (``--dry-run --target``, installed
packages ignored, the machine's pip configuration too) from the job's own staged inputs, in the
job's network conditions. A failure fails the step with what to change.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import sys
import tarfile
from pathlib import Path
from typing import IO, Any

from ..spec.dependencies import PLATFORMS, Platform
from .context import StepFailed
from .processes import Jobs, wrap
from .store import ObjectStore

_IMAGE_VERSION = re.compile(r"sagemaker-scikit-learn:(?P<version>\d+\.\d+-\d+)-cpu")
CODE_CHANNEL_PATH = re.compile(r"^/opt/ml/input/data/(?P<channel>[A-Za-z0-9._-]+)/(?P<file>[^/]+)$")
FIX = (
    "set `dependencies: bundled` in the spec (then run `lgbm-pipeline wheels SPEC`), so every job "
    "installs shipped wheels with --no-index, or `dependencies: image` with the requirements preinstalled"
)


def declared(step_type: str, args: Any, work_dir: Path) -> bool:
    """Whether the step's job runs with network isolation (for a transform: its model's)."""
    if not isinstance(args, dict):
        return False
    if step_type in ("Processing", "ClarifyCheck", "QualityCheck"):  # a check step is a processing job
        return bool((args.get("NetworkConfig") or {}).get("EnableNetworkIsolation"))
    if step_type == "Tuning":
        return bool((args.get("TrainingJobDefinition") or {}).get("EnableNetworkIsolation"))
    if step_type == "Training":
        return bool(args.get("EnableNetworkIsolation"))
    if step_type == "Transform":
        return bool(_model(work_dir, args.get("ModelName")).get("EnableNetworkIsolation"))
    return False


def _model(work_dir: Path, name: Any) -> dict[str, Any]:
    import json

    from .executors.catalog import model_record

    try:
        return json.loads(model_record(work_dir, str(name)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def platform_of(image: Any) -> Platform | None:
    match = _IMAGE_VERSION.search(image) if isinstance(image, str) else None
    return PLATFORMS.get(match["version"]) if match else None


def code_channel_view(args: Any) -> Any:
    """A tuning request as the local executor reads it: with network isolation the SDK passes the
    source dir as a ``code`` channel and names it by its container path
    (/opt/ml/input/data/code/sourcedir.tar.gz); the platform downloads that channel, so locally the
    path reads the channel's S3 object."""
    definition = args.get("TrainingJobDefinition") if isinstance(args, dict) else None
    static = (definition or {}).get("StaticHyperParameters") or {}
    raw = static.get("sagemaker_submit_directory")
    match = CODE_CHANNEL_PATH.match(raw.strip('"')) if isinstance(raw, str) else None
    if not match:
        return args
    channels = {c.get("ChannelName"): c for c in definition.get("InputDataConfig", [])}
    channel = channels.get(match["channel"])
    if channel is None:
        return args
    uri = channel["DataSource"]["S3DataSource"]["S3Uri"].rstrip("/")
    if not uri.endswith(f"/{match['file']}"):
        uri = f"{uri}/{match['file']}"
    static = {**static, "sagemaker_submit_directory": f'"{uri}"'}
    return {**args, "TrainingJobDefinition": {**definition, "StaticHyperParameters": static}}


class _Root:
    """A scratch copy of the parts of a job's container the install reads (container path → here)."""

    def __init__(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        self.folder = folder
        folder.mkdir(parents=True)

    def path(self, container: str) -> Path:
        parts = [p for p in container.split("/") if p and p not in (".", "..")]
        return self.folder.joinpath("root", *parts)

    def extract(self, data: bytes, container_dir: str, member_prefix: str = "") -> None:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            members = [m for m in tar.getmembers() if m.name.removeprefix("./").startswith(member_prefix)]
            tar.extractall(self.path(container_dir), members=members, filter="data")


def _processing_install(args: dict[str, Any], store: ObjectStore, root: _Root) -> str | None:
    """Stage a processing job's requirements (and the inputs its --find-links name); the -r path."""
    entry = " ".join(str(p) for p in args.get("AppSpecification", {}).get("ContainerEntrypoint", []))
    match = re.search(r"pip install[^&;]*?-r\s+(\S+)", entry)
    if not match:
        return None
    requirements = shlex.split(match.group(1))[0]
    inputs = {
        i["S3Input"]["LocalPath"].rstrip("/"): i["S3Input"]["S3Uri"] for i in args.get("ProcessingInputs", [])
    }
    folder = requirements.rsplit("/", 1)[0]
    if folder in inputs:
        store.download(inputs[folder], root.path(folder))
    for link in _links(root.path(requirements)):
        if link.rstrip("/") in inputs:
            store.download(inputs[link.rstrip("/")], root.path(link))
    return requirements


def _training_install(args: dict[str, Any], store: ObjectStore, root: _Root) -> str | None:
    definition = args.get("TrainingJobDefinition") or args
    static = definition.get("StaticHyperParameters") or definition.get("HyperParameters") or {}
    code = str(static.get("sagemaker_submit_directory", "")).strip('"')
    if not code.startswith("s3://") or not store.exists(code):
        return None
    root.extract(store.read_bytes(code), "/opt/ml/code")
    if not root.path("/opt/ml/code/requirements.txt").is_file():
        return None
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in definition.get("InputDataConfig", [])
    }
    for link in _links(root.path("/opt/ml/code/requirements.txt")):
        match = re.fullmatch(r"/opt/ml/input/data/([^/]+)/?", link)
        if match and isinstance(channels.get(match[1]), str):
            store.download(channels[match[1]], root.path(link))
    return "/opt/ml/code/requirements.txt"


def _serving_install(model: dict[str, Any], store: ObjectStore, root: _Root) -> str | None:
    url = (model.get("PrimaryContainer") or {}).get("ModelDataUrl")
    if not isinstance(url, str) or not store.exists(url):
        return None
    root.extract(store.read_bytes(url), "/opt/ml/model", "code/")
    return (
        "/opt/ml/model/code/requirements.txt"
        if root.path("/opt/ml/model/code/requirements.txt").is_file()
        else None
    )


def _links(requirements: Path) -> list[str]:
    try:
        lines = requirements.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [m[1] for line in lines if (m := re.match(r"^\s*(?:--find-links|-f)[ =](\S+)", line))]


def check_install(
    step: dict[str, Any],
    args: Any,
    store: ObjectStore,
    scratch: Path,
    jobs: Jobs,
    log: IO[str],
    work_dir: Path,
) -> None:
    """Simulate the install the job's container does before its script (module docstring)."""
    kind = step.get("Type")
    if not isinstance(args, dict) or kind not in ("Processing", "Tuning", "Training", "Transform"):
        return
    isolated = declared(kind, args, work_dir)
    root = _Root(scratch)
    if kind == "Processing":
        image = args.get("AppSpecification", {}).get("ImageUri")
        requirements = _processing_install(args, store, root)
    elif kind == "Transform":
        model = _model(work_dir, args.get("ModelName"))
        image = (model.get("PrimaryContainer") or {}).get("Image")
        requirements = _serving_install(model, store, root)
    else:
        definition = args.get("TrainingJobDefinition") or args
        image = (definition.get("AlgorithmSpecification") or {}).get("TrainingImage")
        requirements = _training_install(code_channel_view(args) if kind == "Tuning" else args, store, root)
    local = root.path(requirements) if requirements else None
    if (
        local is None
        or not local.is_file()
        or not (isolated or _offline_text(local.read_text(encoding="utf-8")))
    ):
        return
    text = local.read_text(encoding="utf-8")
    mapped = re.sub(
        r"^(\s*(?:--find-links|-f)[ =])(/\S+)",
        lambda m: m[1] + str(root.path(m[2])),
        text,
        flags=re.MULTILINE,
    )
    local.write_text(mapped, encoding="utf-8")
    platform = platform_of(image)
    command = [
        sys.executable, "-m", "pip", "install", "--isolated", "--disable-pip-version-check", "--dry-run",
        "--ignore-installed", "--no-deps", "--retries", "0", "--timeout", "5",
        "--target", str(scratch / "target"), "-r", str(local),
    ]  # fmt: skip
    if platform is not None:
        command += ["--only-binary=:all:", "--python-version", platform.python, "--implementation", "cp"]
        command += ["--abi", platform.abi, *(a for p in platform.platforms for a in ("--platform", p))]
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
    if isolated:
        command, env = wrap(command, env)
    where = f"CPython {platform.python} ({platform.platforms[0]})" if platform else "this Python"
    conditions = "no network (network isolation)" if isolated else "the network this machine has"
    log.write(f"install check: {requirements} for {where}, with {conditions}\n$ {' '.join(command)}\n")
    code, output = jobs.run(command, cwd=scratch, env=env)
    log.write(output)
    log.flush()
    shutil.rmtree(scratch, ignore_errors=True)
    if code == 0:
        return
    tail = next((line for line in reversed(output.splitlines()) if line.startswith("ERROR")), "pip failed")
    if isolated and not _offline_text(text):
        raise StepFailed(
            f"the job installs {requirements} from PyPI when its container starts, but it runs with "
            f"network isolation (EnableNetworkIsolation), so it has no internet: {tail}. Fix: {FIX}"
        )
    raise StepFailed(
        f"the job's offline install of {requirements} (--no-index, the bundled wheels) fails for {where}: "
        f"{tail}. Run `lgbm-pipeline wheels SPEC` again and recompile"
    )


def _offline_text(text: str) -> bool:
    return bool(re.search(r"^\s*--no-index\b", text, re.MULTILINE))
