"""What a deploy ships: a spec compiled in memory, its canonical definition text and artifacts, and
the settings CreatePipeline takes from the spec (name, description, role, tags)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..spec.deploy_function import HANDLER_SCRIPT
from .aws import ShipInputError

if TYPE_CHECKING:
    from ..compiler import Compiled
    from ..compiler.artifacts import Artifact
    from ..spec.root import PipelineSpec

ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")  # CreatePipeline RoleArn


@dataclass(frozen=True)
class Target:
    """A compiled spec, ready to ship."""

    spec_path: str
    spec: PipelineSpec
    compiled: Compiled
    role_arn: str
    """The role SageMaker Pipelines assumes to run the pipeline (``--role``, else pipeline.role_arn)."""
    variables: Mapping[str, str] = field(default_factory=dict)
    """The --var values the spec was loaded with."""

    @property
    def name(self) -> str:
        return self.spec.pipeline.name

    @property
    def region(self) -> str:
        return self.spec.pipeline.region

    @property
    def definition(self) -> dict[str, Any]:
        return self.compiled.definition

    @property
    def text(self) -> str:
        """The canonical definition JSON: the bytes CreatePipeline receives, as reviewed."""
        from ..emit import render_json

        return render_json(self.compiled.definition)

    @property
    def description(self) -> str:
        return self.spec.pipeline.description

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.spec.pipeline.tags)

    def handler(self) -> Artifact | None:
        """The deploy Lambda's code: the shipped artifact the definition does not name."""
        text = json.dumps(self.compiled.definition)
        for uri, artifact in self.compiled.artifacts.items():
            if artifact.name == HANDLER_SCRIPT and uri not in text:
                return artifact
        return None


def load_target(
    spec_path: str, variables: Mapping[str, str] | None = None, role: str | None = None
) -> Target:
    """Load and compile ``spec_path`` (SpecError / CompileError for bad input, as `compile`)."""
    if role is not None and not ROLE_ARN.fullmatch(role):
        raise ShipInputError(f"--role {role!r} is not an IAM role ARN; pass arn:aws:iam::ACCOUNT:role/NAME")
    from ..compiler import compile_definition
    from ..spec import load_spec

    spec = load_spec(spec_path, variables)
    compiled = compile_definition(spec)
    return Target(spec_path, spec, compiled, role or spec.pipeline.role_arn, dict(variables or {}))
