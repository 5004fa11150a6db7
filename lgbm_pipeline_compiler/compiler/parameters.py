"""Pipeline parameters: spec values exposed under `parameters:` become SDK Parameter objects."""

from __future__ import annotations

from typing import Any

from sagemaker.workflow.parameters import (
    Parameter,
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)

from ..spec.parameters import EXPOSABLE
from ..spec.root import PipelineSpec

_CLASSES = {
    "String": ParameterString,
    "Integer": ParameterInteger,
    "Float": ParameterFloat,
    "Boolean": ParameterBoolean,
}


class ParameterResolver:
    """Answers "value of spec path X" with a Parameter when exposed, else the literal value."""

    def __init__(self, spec: PipelineSpec):
        self._by_path: dict[str, Parameter] = {}
        for name, path in spec.parameters.items():
            default = spec.input_uri if path == "data.input" else spec.value_at(path)
            if default is None and EXPOSABLE[path] == "String":
                default = ""
            self._by_path[path] = _CLASSES[EXPOSABLE[path]](name=name, default_value=default)
        self._spec = spec

    def is_exposed(self, path: str) -> bool:
        return path in self._by_path

    def set_default(self, path: str, value: Any) -> None:
        """Replace an exposed parameter's default (a builder knows a better one than the spec's)."""
        self._by_path[path].default_value = value

    def __call__(self, path: str) -> Any:
        if path in self._by_path:
            return self._by_path[path]
        return self._spec.input_uri if path == "data.input" else self._spec.value_at(path)

    @property
    def parameters(self) -> list[Parameter]:
        """The Parameter objects, in the order the spec lists them."""
        return list(self._by_path.values())
