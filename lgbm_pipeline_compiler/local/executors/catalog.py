"""Model and RegisterModel steps: record the model; register a version in the local registry."""

from __future__ import annotations

from typing import Any

from ...emit import render_json, write_text_atomic
from ..context import StepContext


def create_model(ctx: StepContext) -> dict[str, Any]:
    args = ctx.resolve(ctx.step["Arguments"])
    name = f"{ctx.name.lower()}-{ctx.execution_id}"[:63]
    write_text_atomic(ctx.work_dir / "models" / f"{name}.json", render_json({"ModelName": name, **args}))
    ctx.log.write(f"model {name}: {args['PrimaryContainer'].get('ModelDataUrl')}\n")
    return {"ModelName": name}


def register_model(ctx: StepContext) -> dict[str, Any]:
    args = ctx.resolve(ctx.step["Arguments"])
    package = ctx.services["registry"].register(args)
    ctx.log.write(f"registered {package['ModelPackageArn']} ({package['ModelApprovalStatus']})\n")
    return {"ModelPackageArn": package["ModelPackageArn"]}
