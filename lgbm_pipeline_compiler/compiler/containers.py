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

from .artifacts import read_script
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
# copies into model.tar.gz, and the pinned requirements the framework container installs before
# training and before serving.
TRAINING_COMPANIONS = ("inference.py", "requirements.txt", "step_common.py")


def sklearn_image(ctx: BuildContext, framework_version: str) -> str:
    return image_uris.retrieve(
        "sklearn", ctx.spec.pipeline.region, version=framework_version, instance_type="ml.m5.xlarge"
    )


def training_image(ctx: BuildContext) -> str:
    """The training image, which also serves and evaluates the model."""
    training = ctx.spec.training
    return training.image_uri or sklearn_image(ctx, training.framework_version)


def requirements_input(ctx: BuildContext) -> ProcessingInput:
    """step_scripts/requirements.txt as the input INSTALL_THEN_RUN installs before the script."""
    name, data = read_script("requirements.txt", ctx.spec.source_dir)
    return ProcessingInput(
        source=ctx.artifacts.add(name, data), destination=REQUIREMENTS_DIR, input_name="requirements"
    )


def shared_module_input(ctx: BuildContext) -> ProcessingInput:
    """The shared step-script modules, for processing jobs (with :data:`SHARED_ENV`)."""
    files = dict(read_script(name, ctx.spec.source_dir) for name in SHARED_MODULES)
    return ProcessingInput(
        source=ctx.artifacts.add_bundle("lib", files), destination=LIB_DIR, input_name="lib"
    )


SHARED_ENV = {"PYTHONPATH": LIB_DIR}
"""The environment that makes :func:`shared_module_input` importable by the job's script."""
