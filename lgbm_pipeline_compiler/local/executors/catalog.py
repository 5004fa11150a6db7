"""Model and RegisterModel steps: record the model; register a version in the local registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...emit import render_json
from .. import paths
from ..context import StepContext, StepFailed


def model_record(work_dir: Path, model_name: str) -> Path:
    """{work_dir}/models/{name}.json, the record of a model a Model step created (the name comes
    from a definition: paths.inside checks it)."""
    return paths.inside(
        work_dir, f"{model_name}.json", what="model name", fix="name the model with letters, digits and hyphens",
        prefix=["models"],
    )  # fmt: skip


def model_data_url(work_dir: Path, model_name: str) -> str:
    """The ModelDataUrl of a model this run created; StepFailed as SageMaker words an unknown one."""
    path = model_record(work_dir, model_name)
    if not path.is_file():
        raise StepFailed(f"Could not find model {model_name!r} (ValidationException)")
    return json.loads(paths.read_bytes(path))["PrimaryContainer"]["ModelDataUrl"]


def create_model(ctx: StepContext) -> dict[str, Any]:
    args = ctx.resolve(ctx.step["Arguments"])
    name = f"{ctx.name.lower()}-{ctx.execution_id}"[:63]
    record = render_json({"ModelName": name, **args}).encode()
    paths.write_atomic(ctx.work_dir, model_record(ctx.work_dir, name), record)
    ctx.log.write(f"model {name}: {args['PrimaryContainer'].get('ModelDataUrl')}\n")
    return {"ModelName": name}


def register_model(ctx: StepContext) -> dict[str, Any]:
    args = ctx.resolve(ctx.step["Arguments"])
    package = ctx.services["registry"].register(args)
    ctx.log.write(f"registered {package['ModelPackageArn']} ({package['ModelApprovalStatus']})\n")
    return {"ModelPackageArn": package["ModelPackageArn"]}
