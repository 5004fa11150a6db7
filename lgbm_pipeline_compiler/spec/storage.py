"""`storage:` — where data is read from and where every artifact is written."""

from __future__ import annotations

from .base import Section
from .types import S3Uri


class StorageSection(Section):
    read: S3Uri | None = None
    """Prefix that relative `data.input` keys are resolved against."""
    write: S3Uri
    """Prefix for every artifact: step scripts, configs, split data, models, reports."""

    @property
    def write_bucket(self) -> str:
        return self.write[5:].split("/", 1)[0]

    @property
    def write_prefix(self) -> str:
        parts = self.write[5:].split("/", 1)
        return parts[1] if len(parts) > 1 else ""
