"""AWS naming rules the spec checks offline: regions and partitions, IAM role and Lambda ARNs, tags.

Regions and partitions come from the ``partitions.json`` that botocore ships (read as a file, without
importing botocore, so `validate` stays fast); the other limits are cited next to each rule.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic_core import PydanticCustomError

REGION_SHAPE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d+$")


@dataclass(frozen=True)
class Partitions:
    """botocore's partitions.json: partition id → its regions."""

    regions: dict[str, tuple[str, ...]]

    def partition_of(self, region: str) -> str | None:
        return next((p for p, names in self.regions.items() if region in names), None)

    @property
    def all_regions(self) -> list[str]:
        return sorted(r for names in self.regions.values() for r in names)


@cache
def partitions() -> Partitions:
    """The partitions and regions botocore knows (its data/partitions.json; *-global names dropped)."""
    spec = importlib.util.find_spec("botocore")
    root = Path(next(iter(spec.submodule_search_locations or [])))  # type: ignore[union-attr]
    data = json.loads((root / "data" / "partitions.json").read_text(encoding="utf-8"))
    regions = {
        p["id"]: tuple(sorted(r for r in p["regions"] if not r.endswith("-global")))
        for p in data["partitions"]
    }
    return Partitions(regions)


def check_region(value: str) -> str:
    """A region botocore lists (us-east-9 has the shape of a region but does not exist)."""
    known = partitions()
    if not REGION_SHAPE.fullmatch(value):
        raise PydanticCustomError(
            "aws_region",
            "'{value}' is not a valid aws region; expected something like us-east-1",
            {"value": value},
        )
    if known.partition_of(value) is None:
        close = difflib.get_close_matches(value, known.all_regions, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "see the AWS Regions list"
        raise PydanticCustomError(
            "aws_region",
            "'{value}' is not an AWS region botocore knows (its partitions.json); {hint}",
            {"value": value, "hint": hint},
        )
    return value


def _check_partition(partition: str, what: str, value: str) -> None:
    ids = sorted(partitions().regions)
    if partition not in ids:
        raise PydanticCustomError(
            f"{what}_partition",
            "'{partition}' in '{value}' is not an AWS partition; use one of {ids}",
            {"partition": partition, "value": _cut(value), "ids": ", ".join(ids)},
        )


# IAM (botocore iam service-2.json): roleNameType max 64, pattern [\w+=,.@-]+ (ASCII \w in the
# service's Java regex); pathType "/" or "/.../" of \u0021-\u007E, max 512. SageMaker RoleArn:
# max 2048, pattern arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+.
_ROLE = re.compile(r"^arn:(?P<partition>aws[a-z\-]*):iam::(?P<account>\d{12}):role(?P<rest>/.+)$", re.DOTALL)
_ROLE_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-")
_ROLE_PATH = re.compile(r"^/([\x21-\x7e]*/)?$")
ROLE_EXAMPLE = "arn:aws:iam::111122223333:role/SageMakerExecutionRole"


def check_role_arn(value: str) -> str:
    match = _ROLE.fullmatch(value)
    if not match or len(value) > 2048:
        raise PydanticCustomError(
            "role_arn",
            "'{value}' is not a valid role arn; expected something like {example}",
            {"value": _cut(value), "example": ROLE_EXAMPLE},
        )
    _check_partition(match["partition"], "role_arn", value)
    path, _, name = match["rest"].rpartition("/")
    path += "/"
    if not name:
        raise PydanticCustomError(
            "role_name",
            "the ARN ends with '/': give the role's name after its path, e.g. {example}",
            {"example": ROLE_EXAMPLE},
        )
    if len(name) > 64:
        raise PydanticCustomError(
            "role_name",
            "the role name is {length} characters; IAM role names are at most 64: use the role's real name",
            {"length": len(name)},
        )
    bad = next((c for c in name if c not in _ROLE_NAME_CHARS), None)
    if bad is not None:
        raise PydanticCustomError(
            "role_name",
            "role name {name} contains {char}; IAM role names are ASCII letters, digits and +=,.@_-",
            {"name": repr(name), "char": f"{bad!r} (U+{ord(bad):04X})"},
        )
    if len(path) > 512 or not _ROLE_PATH.fullmatch(path):
        raise PydanticCustomError(
            "role_path",
            "role path '{path}' is not an IAM path: '/' or '/a/b/' of printable ASCII, at most 512 characters",
            {"path": _cut(path, 80)},
        )
    return value


def role_partition(value: str) -> str:
    match = _ROLE.fullmatch(value)
    return match["partition"] if match else ""


# Lambda (botocore lambda service-2.json FunctionArn): arn:(aws[a-zA-Z-]*)?:lambda:<region>:\d{12}:
# function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?; a function name is at most 64 characters
# (CreateFunction), a Qualifier at most 128.
_LAMBDA = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):lambda:(?P<region>[a-z]{2,4}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):function:"
    r"(?P<name>[A-Za-z0-9_\-]{1,64})(:(?P<qualifier>\$LATEST|[A-Za-z0-9_\-]{1,128}))?$"
)
LAMBDA_EXAMPLE = "arn:aws:lambda:us-east-1:111122223333:function:deploy-endpoint"


def check_lambda_arn(value: str) -> str:
    match = _LAMBDA.fullmatch(value)
    if not match:
        raise PydanticCustomError(
            "lambda_arn",
            "'{value}' is not a valid lambda arn; expected something like {example}",
            {"value": _cut(value), "example": LAMBDA_EXAMPLE},
        )
    _check_partition(match["partition"], "lambda_arn", value)
    check_region(match["region"])
    home = partitions().partition_of(match["region"])
    if home != match["partition"]:
        raise PydanticCustomError(
            "lambda_arn_partition",
            "'{value}' names region {region}, which is in partition {home}, not {partition}; "
            "write arn:{home}:lambda:{region}:...",
            {"value": _cut(value), "region": match["region"], "home": home, "partition": match["partition"]},
        )
    return value


def lambda_partition_and_region(value: str) -> tuple[str, str]:
    match = _LAMBDA.fullmatch(value)
    return (match["partition"], match["region"]) if match else ("", "")


# SageMaker Tag (botocore sagemaker service-2.json): Key 1-128, Value 0-256, both of pattern
# [\p{L}\p{Z}\p{N}_.:/=+\-@]*; at most 50 tags (TagList). "aws:" in any case is reserved for AWS
# (AWS tagging rules: "Do not use aws:, AWS:, or any upper or lowercase combination ... as a prefix").
TAG_SYMBOLS = frozenset("_.:/=+-@")
MAX_TAGS = 50


def _bad_tag_char(text: str) -> str | None:
    for char in text:
        if char not in TAG_SYMBOLS and unicodedata.category(char)[0] not in "LZN":
            return char
    return None


def _tag_text(value: str, what: str, maximum: int) -> str:
    if len(value) > maximum:
        raise PydanticCustomError(
            f"tag_{what}_length",
            "tag {what} is {length} characters; SageMaker allows at most {maximum}: shorten it",
            {"what": what, "length": len(value), "maximum": maximum},
        )
    bad = _bad_tag_char(value)
    if bad is not None:
        raise PydanticCustomError(
            f"tag_{what}_character",
            "tag {what} {shown} contains {char}; SageMaker tags take letters, digits, spaces and _.:/=+-@",
            {"what": what, "shown": _short(value), "char": f"U+{ord(bad):04X} {repr(bad)}"},
        )
    return value


def check_tag_key(value: str) -> str:
    if not value:
        raise PydanticCustomError("tag_key_length", "a tag key cannot be empty", {})
    _tag_text(value, "key", 128)
    if value[:4].lower() == "aws:":
        raise PydanticCustomError(
            "tag_key_reserved",
            "tag key {shown} starts with 'aws:', which is reserved for AWS; rename it",
            {"shown": _short(value)},
        )
    return value


def check_tag_value(value: str) -> str:
    return _tag_text(value, "value", 256)


def _cut(text: str, limit: int = 120) -> str:
    """Text for a message, cut to ``limit`` characters."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _short(text: str, limit: int = 40) -> str:
    """A value quoted for a message, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
