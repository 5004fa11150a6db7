"""The step scripts run unmodified in SageMaker containers: Python 3.9, no run-time pip, and no
imports beyond the container's libraries (and the standard ones listed) and the module they share
(step_common.py)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
from step_jobs import SCRIPTS
from step_script_helpers import MODULE_NAMES, SOURCES

LIBRARIES = {"__future__", "argparse", "csv", "collections", "dataclasses", "gzip", "hashlib", "io", "json"}
LIBRARIES |= {
    "math",
    "os",
    "pathlib",
    "re",
    "socket",
    "shutil",
    "sys",
    "tarfile",
    "tempfile",
    "time",
    "typing",
}
LIBRARIES |= {"numpy", "pandas", "sklearn", "lightgbm", "boto3"}
LIBRARIES |= {"sagemaker_containers"}  # the sklearn 1.2-1 serving stack (inference.py's worker.Response)


def imported_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    return {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }


DEPLOY_MODULES = {"deploy_endpoint", "deploy_variants", "deploy_scaling"}


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_parses_as_python_39(name):
    tree = ast.parse(SOURCES[name], filename=f"{name}.py", feature_version=(3, 9))
    first = next(node for node in tree.body if not isinstance(node, ast.Expr))
    assert isinstance(first, ast.ImportFrom) and first.module == "__future__", "needs postponed annotations"
    assert [alias.name for alias in first.names] == ["annotations"]


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_imports_only_the_containers_libraries_and_step_common(name):
    shared = {"step_common", "cluster"} - {name}  # cluster.py is train.py's, on step_common
    allowed = LIBRARIES | (shared if name not in {"step_common", *DEPLOY_MODULES} else set())
    if name == "deploy_endpoint":  # its modules: by name in the Lambda's zip, else from the package
        allowed = allowed | {"deploy_variants", "deploy_scaling", "lgbm_pipeline_compiler"}
    imported = imported_modules(SOURCES[name])
    assert imported <= allowed, imported - allowed
    assert "subprocess" not in SOURCES[name] and "pip install" not in SOURCES[name]


def test_deploy_lambda_is_standalone():
    """The Lambda gets deploy_endpoint.py and its two modules: they share nothing with the other
    scripts and need nothing but boto3 (Lambda's runtime has it)."""
    heavy = {"numpy", "pandas", "sklearn", "lightgbm", "step_common"}
    for name in DEPLOY_MODULES:
        assert not imported_modules(SOURCES[name]) & heavy, name


def test_only_the_containers_scripts_need_lightgbm():
    """Preprocessing runs in a plain SKLearnProcessor: importing it (and step_common) loads no LightGBM."""
    assert "lightgbm" not in SOURCES["preprocessing"]
    probe = "import sys, preprocessing; print(sorted(m for m in ('lightgbm', 'sklearn') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=SCRIPTS, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # scikit-learn too is imported only when splitting


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
    """model_fn and transform_fn only: sagemaker-containers refuses a module that defines transform_fn
    beside input_fn, predict_fn or output_fn (serving.py:97-98 in the sklearn 1.2-1 image)."""
    for handler in ("model_fn", "transform_fn", "parse_input", "predict", "encode_output", "predict_proba"):
        assert callable(getattr(scripts.inference, handler))
    for forbidden in ("input_fn", "predict_fn", "output_fn"):
        assert not hasattr(scripts.inference, forbidden)
    assert issubclass(scripts.inference.InferenceError, ValueError)
