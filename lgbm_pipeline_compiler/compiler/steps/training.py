"""`training:` → the Estimator every tuning trial runs (script mode, code from a content-addressed tarball)."""

from __future__ import annotations

from sagemaker.estimator import Estimator

from ..artifacts import read_script, source_tarball
from ..containers import TRAINING_COMPANIONS, requirements_text, training_image
from ..context import BuildContext
from ..production import estimator_network, kms_keys


def model_output_prefix(ctx: BuildContext) -> str:
    return f"{ctx.write}/models"


def _source_dir_uri(ctx: BuildContext) -> tuple[str, str]:
    """Upload-ready sourcedir.tar.gz (entry point + companions); returns (uri, entry point name)."""
    spec_dir = ctx.spec.source_dir
    entry_name, entry = read_script(ctx.spec.training.entry_point, spec_dir)
    files = {entry_name: entry, "requirements.txt": requirements_text(ctx)}
    for companion in TRAINING_COMPANIONS:
        name, data = read_script(companion, spec_dir)
        files.setdefault(name, data)
    return ctx.artifacts.add("sourcedir.tar.gz", source_tarball(files)), entry_name


def hyperparameter_value(value: object) -> str:
    """SageMaker hyperparameters are strings; booleans in lower case as argparse expects."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def spot_kwargs(ctx: BuildContext) -> dict[str, object]:
    """Managed spot training: spot instances, the longest wait, and where checkpoints go."""
    spot = ctx.spec.training.spot
    if spot is None:
        return {}
    return {
        "use_spot_instances": True,
        "max_wait": spot.max_wait_seconds,
        "checkpoint_s3_uri": spot.checkpoint_s3_uri or f"{ctx.write}/checkpoints",
    }


def build_estimator(ctx: BuildContext) -> Estimator:
    section = ctx.spec.training
    source_dir, entry_point = _source_dir_uri(ctx)
    return Estimator(
        image_uri=training_image(ctx),
        role=ctx.role,
        instance_type=ctx.params("training.instance_type"),
        instance_count=ctx.params("training.instance_count"),
        volume_size=section.volume_size_gb,
        max_run=section.max_runtime_seconds,
        entry_point=entry_point,
        source_dir=source_dir,
        output_path=model_output_prefix(ctx),
        hyperparameters={k: hyperparameter_value(v) for k, v in section.hyperparameters.items()},
        base_job_name="train",
        sagemaker_session=ctx.session,
        disable_profiler=True,
        **estimator_network(ctx, "training"),
        **kms_keys(ctx, "training"),
        **spot_kwargs(ctx),
    )
