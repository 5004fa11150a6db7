"""The base class every spec section derives from."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A spec section: unknown keys are errors, values are checked on assignment too, and values are
    taken as written (strict: `true` is not the integer 1, "3" is not the number 3)."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        use_attribute_docstrings=True,
        allow_inf_nan=False,
        strict=True,
    )
