"""Fixtures of the linter's tests: the pipeline written by hand with the SDK, built once."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def load_helper(name: str):  # noqa: ANN201 - a module
    """A plain module beside this file (pytest's importlib mode leaves sys.path alone)."""
    spec = importlib.util.spec_from_file_location(f"lint_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sdk_built():
    """(definition, artifacts) of tests/lint/sdk_pipeline.py, built with every connection refused."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("the SDK-built fixture must stay offline")

    saved = socket.socket.connect, socket.getaddrinfo
    socket.socket.connect, socket.getaddrinfo = refuse, refuse  # type: ignore[assignment]
    try:
        return load_helper("sdk_pipeline").build()
    finally:
        socket.socket.connect, socket.getaddrinfo = saved  # type: ignore[assignment]


SCHEMA_DEPENDENT = (
    "test_lint_clean.py",
    "test_lint_cli.py",
    "test_lint_corpus.py",
    "test_lint_minischema.py",
)
"""Their expected findings include what AWS's published schema (read from ../shared/reference, never
copied into the repo) says about each definition."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from lgbm_pipeline_compiler.lint.aws_schema import schema_path

    path = schema_path()
    if path.is_file():
        return
    skip = pytest.mark.skip(
        reason=f"AWS's pipeline-definition schema is not at {path} (set LGBM_PIPELINE_DEFINITION_SCHEMA): "
        "these expected findings include its verdicts"
    )
    for item in items:
        if item.path.parent == HERE and item.path.name in SCHEMA_DEPENDENT:
            item.add_marker(skip)
