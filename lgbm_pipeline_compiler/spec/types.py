"""Constrained string types shared by the spec sections, with messages that say how to fix them."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from .instance_types import SHAPES, valid_instance_types

_S3 = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/[^\s]*)?$")
_ROLE = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@/\-]{1,512}$")
_LAMBDA = re.compile(
    r"^arn:aws[a-z\-]*:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:[A-Za-z0-9_\-]{1,64}"
    r"(:(\$LATEST|[A-Za-z0-9_\-]{1,128}))?$"
)
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


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


def _check_s3(value: str) -> str:
    match = _S3.fullmatch(value)
    if not match or ".." in match.group("bucket") or "//" in value[5:]:
        raise PydanticCustomError(
            "s3_uri",
            "'{value}' is not a valid S3 URI; expected s3://bucket-name/key/prefix "
            "(lower-case bucket name, no spaces, no empty path segments)",
            {"value": value},
        )
    return value.rstrip("/")


S3Uri = Annotated[str, AfterValidator(_check_s3)]
RoleArn = Annotated[
    str, AfterValidator(_matcher(_ROLE, "role_arn", "arn:aws:iam::111122223333:role/SageMakerExecutionRole"))
]
LambdaArn = Annotated[
    str,
    AfterValidator(
        _matcher(_LAMBDA, "lambda_arn", "arn:aws:lambda:us-east-1:111122223333:function:deploy-endpoint")
    ),
]
ResourceName = Annotated[
    str, AfterValidator(_matcher(_NAME, "sagemaker_name", "census-lgbm (letters, digits, hyphens, ≤ 63)"))
]
Region = Annotated[str, AfterValidator(_matcher(_REGION, "aws_region", "us-east-1"))]


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
