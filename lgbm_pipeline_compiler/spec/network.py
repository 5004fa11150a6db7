"""`network:` — VPC subnets and security groups, network isolation and inter-container encryption
for every job, with per-section overrides.

Limits are botocore's VpcConfig: 1-16 subnets, 1-5 security groups; ids as EC2 writes them
(``subnet-`` or ``sg-`` and 8 or 17 hex digits).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from .base import Section

"""Sections whose jobs take network settings (`model`: the serving container, for the batch
transform, Clarify's shadow endpoint and the deployed endpoint)."""
NetworkSectionName = Literal["preprocessing", "training", "evaluation", "clarify", "data_quality", "model"]
NETWORK_SECTIONS: tuple[str, ...] = get_args(NetworkSectionName)

_SUBNET = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_GROUP = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")


def _ec2_id(pattern: re.Pattern[str], kind: str, example: str):  # noqa: ANN202 - a validator
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise PydanticCustomError(
                kind,
                "'{value}' is not a {what} id; expected something like {example} (as the EC2 console shows it)",
                {"value": value[:80], "what": kind.replace("_", " "), "example": example},
            )
        return value

    return check


SubnetId = Annotated[str, AfterValidator(_ec2_id(_SUBNET, "subnet", "subnet-0a1b2c3d4e5f67890"))]
SecurityGroupId = Annotated[str, AfterValidator(_ec2_id(_GROUP, "security_group", "sg-0a1b2c3d4e5f67890"))]


class NetworkOverride(Section):
    """What one section changes; unset keys keep the `network:` value."""

    enable_network_isolation: bool | None = None
    encrypt_inter_container_traffic: bool | None = None
    vpc: bool | None = None
    """false: this section's jobs run outside the VPC."""


class NetworkSection(Section):
    subnets: list[SubnetId] = Field(default_factory=list, max_length=16)
    """Subnets of the VPC the jobs run in (with `security_group_ids`; at most 16)."""
    security_group_ids: list[SecurityGroupId] = Field(default_factory=list, max_length=5)
    """Security groups of the jobs' network interfaces (with `subnets`; at most 5)."""
    enable_network_isolation: bool = False
    """No network at all inside the containers (SageMaker still moves inputs and outputs): a job
    that installs from PyPI fails, so use `dependencies: bundled` (or `image`)."""
    encrypt_inter_container_traffic: bool = False
    """Encrypt traffic between the instances of a multi-instance job (it costs time and money)."""
    overrides: dict[NetworkSectionName, NetworkOverride] = Field(default_factory=dict)
    """Per section: preprocessing, training, evaluation, clarify, data_quality, model."""

    @model_validator(mode="after")
    def _both_or_neither(self) -> NetworkSection:
        if bool(self.subnets) != bool(self.security_group_ids):
            missing = "security_group_ids" if self.subnets else "subnets"
            raise PydanticCustomError(
                "vpc_config",
                "a VPC needs both subnets and security_group_ids (SageMaker's VpcConfig); add {missing}",
                {"missing": missing},
            )
        return self

    def settings(self, section: str) -> NetworkSettings:
        """The settings one section's jobs get, overrides applied."""
        override = self.overrides.get(section) or NetworkOverride()  # type: ignore[call-overload]
        vpc = self.subnets and override.vpc is not False
        return NetworkSettings(
            subnets=tuple(self.subnets) if vpc else (),
            security_group_ids=tuple(self.security_group_ids) if vpc else (),
            isolation=_pick(override.enable_network_isolation, self.enable_network_isolation),
            encrypt=_pick(override.encrypt_inter_container_traffic, self.encrypt_inter_container_traffic),
        )


class NetworkSettings:
    """One section's effective network settings."""

    def __init__(
        self, subnets: tuple[str, ...], security_group_ids: tuple[str, ...], isolation: bool, encrypt: bool
    ) -> None:
        self.subnets, self.security_group_ids = subnets, security_group_ids
        self.isolation, self.encrypt = isolation, encrypt

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnets)


def _pick(value: bool | None, default: bool) -> bool:
    return default if value is None else value
