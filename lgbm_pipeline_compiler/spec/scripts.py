"""Step-script paths: a regular file inside the spec's directory, or the name of a bundled script.

Compile reads every step script it ships (the ones the spec names and the companions it adds:
step_common.py, inference.py, requirements.txt, ...) from the spec's directory first, then from the
bundled step_scripts, and uploads what it read as an artifact. So a script path must not reach
outside the spec's directory (``/etc/passwd``, ``../../secrets``, a symlink pointing out), and it
must be a regular file (a directory or a device cannot be shipped).
"""

from __future__ import annotations

import os
import stat
import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath, PureWindowsPath

BUNDLED_PACKAGE = "lgbm_pipeline_compiler.step_scripts"
# The fields that name a script, and the companions compile reads next to them.
SCRIPT_FIELDS = (("preprocessing", "script"), ("training", "entry_point"), ("evaluation", "script"))


@cache
def bundled_names() -> frozenset[str]:
    """The step scripts shipped with the package (what a bare name falls back to)."""
    root = resources.files(BUNDLED_PACKAGE)
    return frozenset(
        item.name
        for item in root.iterdir()
        if item.is_file() and (item.name.endswith(".py") or item.name == "requirements.txt")
    )


def _where(spec_dir: str) -> str:
    return f"the spec's directory ({spec_dir})"


def path_problem(name: str, spec_dir: str) -> str | None:
    """Why the script path ``name`` cannot be shipped, or None when it can."""
    if not name:
        return "a script path cannot be empty; give a file next to the spec or a bundled script's name"
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf")), None)
    if bad is not None:
        return f"the script path contains the control character U+{ord(bad):04X}; remove it"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or name.startswith("~"):
        return (
            f"{name!r} is an absolute path; compile uploads step scripts as artifacts, so they must be "
            f"inside {_where(spec_dir)}: copy the script there and give its relative path"
        )
    if os.path.normpath(name).split(os.sep)[0] == os.pardir:
        return (
            f"{name!r} climbs out of {_where(spec_dir)} with '..'; compile uploads step scripts as "
            "artifacts, so copy the script next to the spec and give its relative path"
        )
    root = os.path.realpath(spec_dir)
    if os.path.commonpath([root, os.path.realpath(os.path.join(spec_dir, name))]) != root:
        link = _first_link(spec_dir, name)
        return (
            f"{name!r} is a symbolic link{link} leading outside {_where(spec_dir)}; compile uploads step "
            "scripts as artifacts, so copy the script itself next to the spec"
        )
    return _file_problem(name, Path(spec_dir) / name, spec_dir)


def _first_link(spec_dir: str, name: str) -> str:
    """ " (through 'a' -> '/x')" for the first symbolic link on the way to ``name``."""
    path = Path(spec_dir)
    for part in Path(name).parts:
        path = path / part
        if path.is_symlink():
            return f" (through {str(path.relative_to(spec_dir))!r} -> {os.readlink(path)!r})"
    return ""


def _file_problem(name: str, path: Path, spec_dir: str) -> str | None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if "/" not in name and "\\" not in name and name in bundled_names():
            return None
        bundled = ", ".join(sorted(n for n in bundled_names() if n.endswith(".py") and n != "__init__.py"))
        return (
            f"step script {name!r} not found next to the spec ({spec_dir}) nor among the bundled "
            f"scripts ({bundled}); fix the path"
        )
    except OSError as err:
        return f"cannot read step script {name!r}: {err.strerror or err}"
    if stat.S_ISDIR(mode):
        return f"{name!r} is a directory, not a script file; name the .py file inside it"
    if not stat.S_ISREG(mode):
        return f"{name!r} is not a regular file (a device, pipe or socket); name a script file"
    return None


def override_problem(name: str, spec_dir: str) -> str | None:
    """For a bundled script's name: a same-named entry in the spec's directory replaces it, so it
    must be a regular file inside that directory (a symlink out, or a directory, is refused)."""
    path = Path(spec_dir) / name
    if not os.path.lexists(path):
        return None
    problem = path_problem(name, spec_dir)
    if problem is None:
        return None
    return f"{name} in {_where(spec_dir)} would be shipped in place of the bundled {name}, but {problem}"
