"""The step scripts run unmodified in SageMaker containers: Python 3.9, standalone, no run-time pip."""

from __future__ import annotations

import ast
import re

import pytest
from step_script_helpers import SCRIPT_NAMES, SCRIPTS

SOURCES = {name: (SCRIPTS / f"{name}.py").read_text() for name in SCRIPT_NAMES}


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_parses_as_python_39(name):
    tree = ast.parse(SOURCES[name], filename=f"{name}.py", feature_version=(3, 9))
    first = next(node for node in tree.body if not isinstance(node, ast.Expr))
    assert isinstance(first, ast.ImportFrom) and first.module == "__future__", "needs postponed annotations"
    assert [alias.name for alias in first.names] == ["annotations"]


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_is_standalone(name):
    tree = ast.parse(SOURCES[name])
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    allowed = {"__future__", "argparse", "csv", "collections", "dataclasses", "hashlib", "io", "json", "math"}
    allowed |= {"os", "pathlib", "re", "shutil", "sys", "tarfile", "tempfile", "typing"}
    allowed |= {"numpy", "pandas", "sklearn", "lightgbm", "boto3"}
    assert imported <= allowed, imported - allowed
    assert "subprocess" not in SOURCES[name] and "pip install" not in SOURCES[name]


def test_only_the_containers_scripts_need_lightgbm():
    """Preprocessing runs in a plain SKLearnProcessor: pandas and scikit-learn only."""
    assert "lightgbm" not in SOURCES["preprocessing"]
    assert "lightgbm" not in SOURCES["deploy_endpoint"] and "pandas" not in SOURCES["deploy_endpoint"]


def test_requirements_pin_lightgbm_for_python_39():
    lines = [
        line.strip()
        for line in (SCRIPTS / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["lightgbm==4.6.0"]  # 4.7 requires Python >= 3.10; the container has 3.9


@pytest.mark.parametrize("name", ["preprocessing", "train", "evaluate"])
def test_entry_point_shape(name):
    source = SOURCES[name]
    assert re.search(r"^def main\(argv: Sequence\[str\] \| None = None\) -> int:", source, re.M)
    assert source.rstrip().endswith('if __name__ == "__main__":\n    sys.exit(main())')


def test_inference_defines_the_serving_handlers(scripts):
    for handler in ("model_fn", "input_fn", "predict_fn", "output_fn", "predict_proba"):
        assert callable(getattr(scripts.inference, handler))
    assert issubclass(scripts.inference.InferenceError, ValueError)
