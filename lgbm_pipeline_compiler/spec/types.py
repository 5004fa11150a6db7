"""Constrained string types shared by the spec sections, with messages that say how to fix them."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from .aws import check_lambda_arn, check_region, check_role_arn, check_tag_key, check_tag_value
from .instance_types import SHAPES, valid_instance_types

_S3 = re.compile(r"^s3://(?P<bucket>[^/]*)(?P<key>/.*)?$", re.DOTALL)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
# S3 general purpose bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/
# bucketnamingrules.html): 3-63 characters of a-z 0-9 . -, a letter or digit at each end, no "..",
# not an IP address, and these reserved prefixes and suffixes.
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# S3 object keys (docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html): at most 1,024
# bytes of UTF-8; the backslash is among the characters to avoid. "." and ".." segments are
# relative-path elements: tools that map keys to files (SageMaker's channel downloads, the local
# runner's object store) resolve them, so a key could leave its prefix.
MAX_KEY_BYTES = 1024
_S3_SHAPE = (
    "'{value}' is not a valid S3 URI; expected s3://bucket-name/key/prefix "
    "(lower-case bucket name, no spaces, no empty path segments)"
)
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def _matcher(pattern: re.Pattern[str], kind: str, example: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise PydanticCustomError(
                kind,
                "'{value}' is not a valid {what}; expected something like {example}",
                {"value": value, "what": kind.replace("_", " "), "example": example},
            )
        return value

    return check


def _short(text: str, limit: int = 120) -> str:
    """Text for a message, cut to ``limit`` characters."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _s3_error(kind: str, message: str, value: str, **ctx: object) -> PydanticCustomError:
    return PydanticCustomError(kind, message, {"value": _short(value), **ctx})


def _check_bucket(bucket: str, value: str) -> None:
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise _s3_error("s3_uri", _S3_SHAPE, value)
    if _IP.fullmatch(bucket):
        raise _s3_error(
            "s3_bucket_ip",
            "bucket '{bucket}' is formatted as an IP address, which S3 forbids",
            value,
            bucket=bucket,
        )
    reserved = [p for p in _RESERVED_PREFIXES if bucket.startswith(p)]
    reserved += [s for s in _RESERVED_SUFFIXES if bucket.endswith(s)]
    if reserved:
        raise _s3_error(
            "s3_bucket_reserved",
            "bucket '{bucket}' uses '{part}', which S3 reserves; choose another bucket name",
            value,
            bucket=bucket,
            part=reserved[0],
        )


def _check_key(key: str, value: str) -> None:
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise _s3_error(
            "s3_key_length",
            "the key of '{value}' is {size} bytes; S3 keys are at most 1024 bytes of UTF-8: shorten it",
            value,
            size=size,
        )
    if "\\" in key:
        raise _s3_error(
            "s3_key_backslash", "'{value}' contains a backslash; S3 keys separate folders with /", value
        )
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in key) or "//" in f"/{key}":
        raise _s3_error("s3_uri", _S3_SHAPE, value)
    dots = next((s for s in key.split("/") if s in (".", "..")), None)
    if dots is not None:
        raise _s3_error(
            "s3_key_relative",
            "'{value}' has a '{dots}' path segment; write the key without relative parts",
            value,
            dots=dots,
        )


def _check_s3(value: str) -> str:
    match = _S3.fullmatch(value)
    if not match:
        raise _s3_error("s3_uri", _S3_SHAPE, value)
    _check_bucket(match.group("bucket"), value)
    _check_key((match.group("key") or "")[1:], value)
    return value.rstrip("/")


S3Uri = Annotated[str, AfterValidator(_check_s3)]
RoleArn = Annotated[str, AfterValidator(check_role_arn)]
LambdaArn = Annotated[str, AfterValidator(check_lambda_arn)]
ResourceName = Annotated[
    str, AfterValidator(_matcher(_NAME, "sagemaker_name", "census-lgbm (letters, digits, hyphens, ≤ 63)"))
]
Region = Annotated[str, AfterValidator(check_region)]
TagKey = Annotated[str, AfterValidator(check_tag_key)]
TagValue = Annotated[str, AfterValidator(check_tag_value)]

# Integer widths of what receives the number: SageMaker's API integers are 32-bit (Smithy
# "integer"); numpy's RandomState (scikit-learn's random_state) takes seeds 0..2**32-1.
INT32_MAX = 2**31 - 1
UINT32_MAX = 2**32 - 1


def _instance_type(kind: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        valid = valid_instance_types(kind)
        if value not in valid:
            elsewhere = [k for k in SHAPES if k != kind and value in valid_instance_types(k)]
            close = difflib.get_close_matches(value, sorted(valid), n=1)
            if elsewhere:
                hint = f" (it is offered for {' and '.join(elsewhere)} jobs); choose a {kind} instance type"
            elif close:
                hint = f"; did you mean {close[0]!r}?"
            else:
                hint = "; see the SageMaker pricing page"
            raise PydanticCustomError(
                "instance_type",
                "'{value}' is not a SageMaker {kind} instance type{hint}",
                {"value": value, "kind": kind, "hint": hint},
            )
        return value

    return check


ProcessingInstance = Annotated[str, AfterValidator(_instance_type("processing"))]
TrainingInstance = Annotated[str, AfterValidator(_instance_type("training"))]
InferenceInstance = Annotated[str, AfterValidator(_instance_type("inference"))]
TransformInstance = Annotated[str, AfterValidator(_instance_type("transform"))]
