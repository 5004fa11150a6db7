"""`deploy:` — the Lambda step that puts the registered model behind an endpoint."""

from __future__ import annotations

from pydantic import Field

from .base import Section
from .deploy_function import DeployFunction
from .types import InferenceInstance, LambdaArn, ResourceName


class DeploySection(Section):
    lambda_arn: LambdaArn
    """The function running step_scripts/deploy_endpoint.py."""
    endpoint_name: ResourceName
    endpoint_config_name: ResourceName | None = None
    """Prefix of the endpoint config names (one per model version); default: the endpoint name."""
    instance_type: InferenceInstance = "ml.m5.large"
    instance_count: int = Field(default=1, ge=1, le=100)
    function: DeployFunction | None = None
    """Have `lgbm-pipeline deploy` create or update the function from the bundled handler (else it checks that it exists)."""
