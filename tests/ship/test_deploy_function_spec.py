"""`deploy.function`: the deploy Lambda's settings, validated where the spec is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from lgbm_pipeline_compiler.errors import SpecError
from lgbm_pipeline_compiler.spec import load_spec

SPEC = Path(__file__).with_name("ship.yaml")
FUNCTION = """  function:
    role_arn: arn:aws:iam::{{ account }}:role/lgbm-deploy-lambda
    timeout_seconds: 120
    memory_mb: 256
"""


def _load(tmp_path: Path, function: str):
    text = SPEC.read_text()
    assert FUNCTION in text
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(FUNCTION, function))
    return load_spec(path)


def test_the_ship_spec_asks_for_a_managed_function():
    function = load_spec(SPEC).deploy.function
    assert function is not None
    assert (function.role_arn, function.timeout_seconds, function.memory_mb, function.runtime) == (
        "arn:aws:iam::123456789012:role/lgbm-deploy-lambda",
        120,
        256,
        "python3.12",
    )


def test_without_function_deploy_only_checks_the_function(tmp_path):
    assert _load(tmp_path, "").deploy.function is None


def test_defaults_are_a_usable_timeout_and_memory(tmp_path):
    function = _load(
        tmp_path, "  function:\n    role_arn: arn:aws:iam::123456789012:role/r\n"
    ).deploy.function
    assert (function.timeout_seconds, function.memory_mb) == (300, 256)


@pytest.mark.parametrize(
    ("lines", "path", "words"),
    [
        ("    role_arn: arn:aws:iam::123456789012:role/r\n    timeout_seconds: 3\n", "timeout_seconds", "60"),
        (
            "    role_arn: arn:aws:iam::123456789012:role/r\n    timeout_seconds: 901\n",
            "timeout_seconds",
            "900",
        ),
        ("    role_arn: arn:aws:iam::123456789012:role/r\n    memory_mb: 64\n", "memory_mb", "128"),
        ("    role_arn: arn:aws:iam::123456789012:role/r\n    runtime: python2.7\n", "runtime", "python3.12"),
        ("    timeout_seconds: 120\n", "role_arn", "required"),
        ("    role_arn: not-a-role\n", "role_arn", "role"),
        ("    role_arn: arn:aws:iam::123456789012:role/r\n    timeout: 120\n", "timeout", "timeout_seconds"),
    ],
)
def test_bad_settings_are_one_located_line_each(tmp_path, lines, path, words):
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, "  function:\n" + lines)
    (finding,) = caught.value.findings
    assert finding.path == f"deploy.function.{path}"
    assert words in finding.message
    assert finding.file.endswith("spec.yaml") and finding.line > 1
