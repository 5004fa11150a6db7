"""What the container jobs share: images, the pinned requirements, the shared step-script module.

Step scripts share code through :data:`SHARED_MODULES`, shipped with every job that runs a
script: processing jobs get them as one processing input (a content-addressed prefix) on
``PYTHONPATH``; training gets them in ``sourcedir.tar.gz`` next to the entry point (the training
toolkit runs the entry point from that directory); serving gets ``step_common.py`` in
``model.tar.gz`` under ``code/`` (train.py copies it there, and the serving container puts the
code directory on ``sys.path``).
"""

from __future__ import annotations

from sagemaker import image_uris
from sagemaker.processing import ProcessingInput

from ..errors import CompileError
from ..spec.dependencies import LockError, WheelLock, read_lock
from .artifacts import FileArtifact, read_script
from .context import BuildContext

SHARED_MODULES = ("step_common.py", "bias_metrics.py", "clarify_baseline.py")
"""The step scripts' shared modules, shipped together as one content-addressed bundle to every
processing job (bias_metrics and clarify_baseline are clarify_check.py's)."""
LIB_DIR = "/opt/ml/processing/input/lib"
REQUIREMENTS_DIR = "/opt/ml/processing/input/requirements"
# The scikit-learn container has no LightGBM: install the pinned step_scripts/requirements.txt
# first ($0 is the script path SageMaker appends, "$@" the job arguments).
INSTALL_THEN_RUN = [
    "/bin/sh",
    "-c",
    f'python3 -m pip install --quiet --no-input -r {REQUIREMENTS_DIR}/requirements.txt && exec python3 "$0" "$@"',
]
# Shipped with train.py in sourcedir.tar.gz: the serving handler and the shared module train.py
# copies into model.tar.gz, the pinned requirements the framework container installs before
# training and before serving, and the training cluster's module (data-parallel jobs).
TRAINING_COMPANIONS = ("cluster.py", "inference.py", "requirements.txt", "step_common.py")


def sklearn_image(ctx: BuildContext, framework_version: str) -> str:
    return image_uris.retrieve(
        "sklearn", ctx.spec.pipeline.region, version=framework_version, instance_type="ml.m5.xlarge"
    )


def training_image(ctx: BuildContext) -> str:
    """The training image, which also serves and evaluates the model."""
    training = ctx.spec.training
    return training.image_uri or sklearn_image(ctx, training.framework_version)


# `dependencies: bundled`: the jobs' requirements.txt installs without an index from the first of
# these folders that exists (pip ignores, with a warning, a --find-links path that does not): a
# processing job's wheels input, a training job's wheels channel, and the served model's
# code/wheels (train.py copies the channel there).
WHEELS_DIR = "/opt/ml/processing/input/wheels"
WHEELS_CHANNEL = "wheels"
WHEEL_LINKS = (WHEELS_DIR, f"/opt/ml/input/data/{WHEELS_CHANNEL}", "/opt/ml/model/code/wheels")
LOCK_FIX = "run `lgbm-pipeline wheels SPEC` (with internet) again"


def wheel_lock(ctx: BuildContext) -> WheelLock:
    _, requirements = read_script("requirements.txt", ctx.spec.source_dir)
    try:
        return read_lock(ctx.spec.source_dir, requirements, ctx.spec.training.framework_version)
    except LockError as err:
        raise CompileError(str(err)) from None


def wheels_uri(ctx: BuildContext) -> str:
    """The wheel set as one content-addressed prefix: its hash is the lock's wheel set hash."""
    lock = wheel_lock(ctx)
    wheels = {
        w["file"]: FileArtifact(w["file"], lock.wheel_dir / w["file"], w["sha256"], LOCK_FIX)
        for w in lock.wheels
    }
    return ctx.artifacts.add_bundle_of("wheels", wheels)


def requirements_text(ctx: BuildContext) -> bytes:
    """The requirements.txt the jobs install, for the spec's `dependencies` mode."""
    _, pins = read_script("requirements.txt", ctx.spec.source_dir)
    mode = ctx.spec.dependencies
    if mode == "pypi":
        return pins
    lines = [
        line for line in pins.decode().splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if mode == "image":
        header = ["# dependencies: image - preinstalled in the image, so nothing is installed:"]
        return "\n".join([*header, *(f"#   {line}" for line in lines)]).encode() + b"\n"
    lock = wheel_lock(ctx)
    header = [
        f"# dependencies: bundled - the wheel set sha256:{lock.wheel_set} of wheels.lock.json, installed",
        "# without an index from whichever of these folders the job has.",
        "--no-index",
        *(f"--find-links {link}" for link in WHEEL_LINKS),
    ]
    return "\n".join([*header, *lines]).encode() + b"\n"


def install_command(ctx: BuildContext) -> list[str]:
    """The entrypoint of a processing job that needs the requirements (none to install: python3)."""
    return ["python3"] if ctx.spec.dependencies == "image" else INSTALL_THEN_RUN


def requirements_inputs(ctx: BuildContext) -> list[ProcessingInput]:
    """What INSTALL_THEN_RUN installs before the script: requirements.txt, and the wheels when bundled."""
    if ctx.spec.dependencies == "image":
        return []
    source = ctx.artifacts.add("requirements.txt", requirements_text(ctx))
    inputs = [ProcessingInput(source=source, destination=REQUIREMENTS_DIR, input_name="requirements")]
    if ctx.spec.dependencies == "bundled":
        inputs.append(ProcessingInput(source=wheels_uri(ctx), destination=WHEELS_DIR, input_name="wheels"))
    return inputs


def shared_module_input(ctx: BuildContext) -> ProcessingInput:
    """The shared step-script modules, for processing jobs (with :data:`SHARED_ENV`)."""
    files = dict(read_script(name, ctx.spec.source_dir) for name in SHARED_MODULES)
    return ProcessingInput(
        source=ctx.artifacts.add_bundle("lib", files), destination=LIB_DIR, input_name="lib"
    )


SHARED_ENV = {"PYTHONPATH": LIB_DIR}
"""The environment that makes :func:`shared_module_input` importable by the job's script."""
