"""`plan` and `deploy`: what shipping a spec would change, then the changes in order — uploads
first (the definition names them), then the deploy Lambda, then the pipeline.

The pipeline's part of a plan is the review package's semantic diff between the deployed definition
(DescribePipeline) and the compiled one, attributed to spec keys; changed scripts are diffed against
the deployed artifacts' bytes read back from S3.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .aws import Aws, s3_parts
from .function import FunctionPlan, apply_function, desired_function, plan_function
from .pipeline import PipelinePlan, apply_pipeline, plan_pipeline
from .target import Target
from .upload import PRESENT, Upload, apply_uploads, plan_uploads

if TYPE_CHECKING:
    from ..review.changes import Diff

_ARTIFACT_URI = re.compile(r"s3://[^\"\s]*?/artifacts/([0-9a-f]{64})/[^\"\s]+")


@dataclass
class ShipPlan:
    target: Target
    uploads: list[Upload]
    function: FunctionPlan | None
    pipeline: PipelinePlan

    @property
    def changed(self) -> bool:
        return (
            any(u.needed for u in self.uploads)
            or (self.function is not None and self.function.action != "none")
            or self.pipeline.changed
        )


def make_plan(aws: Aws, target: Target) -> ShipPlan:
    """Everything a deploy would do, found with reads only."""
    uploads = plan_uploads(aws, target.compiled.artifacts)
    desired = desired_function(target)
    function = plan_function(aws, desired) if desired is not None else None
    return ShipPlan(target, uploads, function, plan_pipeline(aws, target))


def _s3_reader(aws: Aws, uri: str, sha: str) -> Callable[[], bytes | None]:
    def read() -> bytes | None:
        bucket, key = s3_parts(uri)
        try:
            data = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception:  # a deployed artifact that cannot be read back: no content diff, not an error
            return None
        return data if hashlib.sha256(data).hexdigest() == sha else None

    return read


def definition_diff(aws: Aws, plan: ShipPlan) -> Diff | None:
    """The semantic diff deployed → compiled; None when there is no deployed pipeline."""
    if plan.pipeline.deployed is None:
        return None
    from ..review.diff import compare
    from ..review.sides import Side, SpecSource
    from ..spec.loader import load_document

    target = plan.target
    deployed = plan.pipeline.deployed
    text = json.dumps(deployed)
    blobs = {m.group(0): _s3_reader(aws, m.group(0), m.group(1)) for m in _ARTIFACT_URI.finditer(text)}
    old = Side(f"deployed {target.name}", deployed, blobs)
    spec = target.spec
    doc = load_document(target.spec_path, target.variables)  # line:col of every key (load_spec keeps none)
    source = SpecSource(target.spec_path, spec.model_dump(mode="json"), dict(spec.parameters), doc)
    new_blobs = {uri: (lambda data=a.data: data) for uri, a in target.compiled.artifacts.items()}
    new = Side(target.spec_path, target.definition, new_blobs, source)
    return compare(old, new)


def render_plan(aws: Aws, plan: ShipPlan, colour: bool = False) -> str:
    """The plan as text: uploads, the Lambda, the pipeline (with the definition's semantic diff)."""
    target = plan.target
    needed = [u for u in plan.uploads if u.needed]
    lines = [f"plan for pipeline {target.name} in {target.region}:"]
    lines.append(
        f"uploads: {len(needed)} of {len(plan.uploads)} artifacts"
        + ("" if needed else " (all already in S3 with the same hash)")
    )
    lines += [
        f"  + {u.uri} ({len(u.artifact.data):,} bytes{', replaces other bytes' if u.state != 'new' else ''})"
        for u in needed
    ]
    if plan.function is not None:
        lines += plan.function.lines()
    p = plan.pipeline
    if p.action == "create":
        tags = ", ".join(f"{k}={v}" for k, v in sorted(p.tags.items())) or "none"
        lines.append(f"+ create pipeline {target.name} (role {target.role_arn}; tags {tags})")
    elif p.action == "none":
        lines.append(f"  pipeline {target.name}: no change")
    else:
        if "role" in p.changes:
            lines.append(f"~ pipeline {target.name}: role → {target.role_arn}")
        if "description" in p.changes:
            lines.append(f"~ pipeline {target.name}: description → {target.description!r}")
        for key, value in sorted(p.tags.items()):
            old = p.deployed_tags.get(key)
            lines.append(
                f"~ pipeline {target.name}: tag {key}: {old if old is not None else '(none)'} → {value}"
            )
        if "definition" in p.changes:
            lines.append(f"~ pipeline {target.name}: definition")
    text = "\n".join(lines) + "\n"
    diff = definition_diff(aws, plan) if "definition" in p.changes else None
    if diff is not None:
        from ..review.render import text as render_diff

        text += render_diff(diff, colour=colour)
    if not plan.changed:
        text += "no change\n"
    return text


def apply_plan(aws: Aws, plan: ShipPlan, say: Callable[[str], Any]) -> str:
    """Make the planned changes in order; ``say`` reports each; returns the pipeline ARN."""
    uploaded = apply_uploads(aws, plan.uploads)
    kept = sum(1 for u in plan.uploads if u.state == PRESENT)
    say(f"uploaded {len(uploaded)} artifact(s), {kept} already in S3")
    if plan.function is not None:
        say(apply_function(aws, plan.function))
    arn, done = apply_pipeline(aws, plan.pipeline, plan.target)
    say(done)
    if not plan.changed:
        say("no change")
    return arn
