"""Compile's own rule for step scripts (issue 15, finding 14): whatever built the spec, compile reads
only regular files inside the spec's directory, or bundled scripts by bare name. The spec checks
give the located error; this is the defence for library users who skip them."""

from __future__ import annotations

import os

import pytest

from lgbm_pipeline_compiler.compiler.artifacts import read_script
from lgbm_pipeline_compiler.errors import CompileError


@pytest.mark.parametrize("name", ["/etc/passwd", "../outside.py", "sub/../../outside.py"])
def test_paths_that_leave_the_spec_directory_are_refused(tmp_path, name):
    spec_dir = tmp_path / "spec"
    (spec_dir / "sub").mkdir(parents=True)
    (tmp_path / "outside.py").write_text("print('outside')\n")
    with pytest.raises(CompileError, match="is not a regular file inside the spec's directory"):
        read_script(name, str(spec_dir))


def test_a_symlink_out_of_the_spec_directory_is_refused(tmp_path):
    (tmp_path / "secret.py").write_text("SECRET = 1\n")
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    os.symlink(tmp_path / "secret.py", spec_dir / "train.py")
    with pytest.raises(CompileError, match="'train.py' is not a regular file inside"):
        read_script("train.py", str(spec_dir))


def test_a_directory_named_like_a_bundled_script_is_refused_not_replaced(tmp_path):
    (tmp_path / "train.py").mkdir()
    with pytest.raises(CompileError, match="'train.py' is not a regular file inside"):
        read_script("train.py", str(tmp_path))


def test_a_file_next_to_the_spec_wins_and_a_bare_name_falls_back_to_the_bundled_script(tmp_path):
    (tmp_path / "evaluate.py").write_text("# mine\n")
    assert read_script("evaluate.py", str(tmp_path)) == ("evaluate.py", b"# mine\n")
    name, data = read_script("train.py", str(tmp_path))
    assert name == "train.py" and b"def main" in data
