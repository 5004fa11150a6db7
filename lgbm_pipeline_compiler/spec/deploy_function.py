"""`deploy.function:` — the deploy Lambda that `lgbm-pipeline deploy` creates or updates.

Without it, `deploy` only checks that the function named by `deploy.lambda_arn` exists. With it,
`deploy` creates or updates that function from the bundled step_scripts/deploy_endpoint.py (the
compiled manifest ships the handler as an artifact): this role, timeout and memory size, the
runtime below, and the deploy settings as the environment the EventBridge approval path reads.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Section
from .types import RoleArn

HANDLER_SCRIPT = "deploy_endpoint.py"
"""The bundled step script the function runs (shipped as a manifest artifact)."""
HANDLER = "deploy_endpoint.lambda_handler"
"""Lambda's Handler setting for that script."""
HANDLER_MODULES = ("deploy_variants.py", "deploy_scaling.py")
"""The modules the handler imports, shipped and zipped beside it (the zip's root is on sys.path)."""


class DeployFunction(Section):
    role_arn: RoleArn
    """IAM role the Lambda runs as, trusted by lambda.amazonaws.com (`lgbm-pipeline iam-policy` prints its policy)."""
    timeout_seconds: int = Field(default=300, ge=60, le=900)
    """Lambda timeout: at least 60 s (Lambda's default 3 s is too short for the handler), at most 900."""
    memory_mb: int = Field(default=256, ge=128, le=10240)
    """Lambda memory size in MB (128 to 10240)."""
    runtime: Literal["python3.10", "python3.11", "python3.12", "python3.13"] = "python3.12"
    """Lambda Python runtime (its bundled boto3 is all the handler imports)."""
