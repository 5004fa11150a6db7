"""`cache:` — SageMaker step caching (CacheConfig) for the steps that support it, per section.

SageMaker reuses a step of an earlier successful execution of the same pipeline when the step's
cache-key attributes are unchanged and that run is younger than `expire_after` (an ISO 8601
duration of years, months, weeks, days, hours and minutes: P30D, PT12H, P1DT6H).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from .base import Section

CacheSectionName = Literal[
    "preprocessing", "training", "evaluation", "clarify", "data_quality", "batch_transform"
]
CACHE_SECTIONS: tuple[str, ...] = get_args(CacheSectionName)
DURATION = re.compile(r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?)?$")


def _duration(value: str) -> str:
    if not DURATION.fullmatch(value) or len(value) > 64:
        raise PydanticCustomError(
            "iso_duration",
            "'{value}' is not an ISO 8601 duration of years, months, weeks, days, hours or minutes; "
            "write P30D (30 days), PT12H (12 hours) or P1DT6H",
            {"value": value[:64]},
        )
    return value


Duration = Annotated[str, AfterValidator(_duration)]


class CacheOverride(Section):
    enabled: bool | None = None
    expire_after: Duration | None = None


class CacheSection(Section):
    enabled: bool = False
    """Reuse a step of an earlier successful execution whose cache-key attributes match."""
    expire_after: Duration = "P30D"
    """How old a reused step may be."""
    overrides: dict[CacheSectionName, CacheOverride] = Field(default_factory=dict)
    """Per section: preprocessing, training (the Tune step), evaluation, clarify, data_quality,
    batch_transform."""

    def config(self, section: str) -> tuple[bool, str]:
        """(enabled, expire_after) for one section's steps."""
        override = self.overrides.get(section) or CacheOverride()  # type: ignore[call-overload]
        enabled = self.enabled if override.enabled is None else override.enabled
        return enabled, override.expire_after or self.expire_after
