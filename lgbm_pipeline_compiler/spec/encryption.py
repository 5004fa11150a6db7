"""`encryption:` — the KMS keys for job volumes and job outputs, with per-section overrides.

Formats are the API's (botocore KmsKeyId documentation): an output key may be a key id, a key ARN,
an alias name or an alias ARN; a training job's VolumeKmsKeyId takes only a key id or a key ARN,
so `volume_kms_key` is one of those two everywhere.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from .base import Section

EncryptionSectionName = Literal[
    "preprocessing", "training", "evaluation", "clarify", "data_quality", "batch_transform"
]
ENCRYPTION_SECTIONS: tuple[str, ...] = get_args(EncryptionSectionName)

_REGION = r"[a-z]{2,4}(?:-[a-z]+)+-\d+"
_KEY_ID = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_ALIAS = r"alias/[a-zA-Z0-9/_-]{1,250}"
KEY_ID = re.compile(rf"^{_KEY_ID}$")
KEY_ARN = re.compile(rf"^arn:aws[a-z-]*:kms:(?P<region>{_REGION}):\d{{12}}:key/{_KEY_ID}$")
ALIAS_NAME = re.compile(rf"^{_ALIAS}$")
ALIAS_ARN = re.compile(rf"^arn:aws[a-z-]*:kms:(?P<region>{_REGION}):\d{{12}}:{_ALIAS}$")
KEY_EXAMPLE = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _volume_key(value: str) -> str:
    if KEY_ID.fullmatch(value) or KEY_ARN.fullmatch(value):
        return value
    if ALIAS_NAME.fullmatch(value) or ALIAS_ARN.fullmatch(value):
        raise PydanticCustomError(
            "kms_volume_key",
            "'{value}' is an alias; a training job's VolumeKmsKeyId takes a key id or a key ARN only: "
            "give the key's ARN (aws kms describe-key --key-id {value})",
            {"value": value[:120]},
        )
    raise PydanticCustomError(
        "kms_key", "'{value}' is not a KMS key id or key ARN; expected something like {example}",
        {"value": value[:120], "example": KEY_EXAMPLE},
    )  # fmt: skip


def _output_key(value: str) -> str:
    if any(p.fullmatch(value) for p in (KEY_ID, KEY_ARN, ALIAS_NAME, ALIAS_ARN)):
        return value
    raise PydanticCustomError(
        "kms_key",
        "'{value}' is not a KMS key id, key ARN, alias/NAME or alias ARN; expected something like {example}",
        {"value": value[:120], "example": KEY_EXAMPLE},
    )


VolumeKey = Annotated[str, AfterValidator(_volume_key)]
OutputKey = Annotated[str, AfterValidator(_output_key)]


def key_region(value: str | None) -> str | None:
    """The region an ARN names (None for ids and alias names, which are the job's region)."""
    match = (KEY_ARN.fullmatch(value) or ALIAS_ARN.fullmatch(value)) if value else None
    return match["region"] if match else None


class EncryptionOverride(Section):
    volume_kms_key: VolumeKey | None = None
    output_kms_key: OutputKey | None = None


class EncryptionSection(Section):
    volume_kms_key: VolumeKey | None = None
    """Encrypts the ML storage volumes of every job (not for instance types with local NVMe storage,
    which SageMaker encrypts in hardware and refuses a key for)."""
    output_kms_key: OutputKey | None = None
    """Encrypts what jobs write to S3 (processing outputs, model artifacts, predictions)."""
    overrides: dict[EncryptionSectionName, EncryptionOverride] = Field(default_factory=dict)
    """Per section: preprocessing, training, evaluation, clarify, data_quality, batch_transform."""

    def keys(self, section: str) -> tuple[str | None, str | None]:
        """(volume key, output key) for one section's jobs."""
        override = self.overrides.get(section) or EncryptionOverride()  # type: ignore[call-overload]
        return (
            override.volume_kms_key or self.volume_kms_key,
            override.output_kms_key or self.output_kms_key,
        )
