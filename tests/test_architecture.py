"""The layout the README's module map promises: the SDK in one package, no import cycles, small modules."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "lgbm_pipeline_compiler"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module this file imports, at any depth (function-level imports count too)."""
    return set(_imports(module_name(path), path.name == "__init__.py", path.read_text()))


@functools.cache  # two tests read every module: each text is parsed once
def _imports(name: str, is_package: bool, text: str) -> frozenset[str]:
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return frozenset(found)


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = 1, stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node], _ = 2, stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles_between_modules():
    edges = graph()
    # A package's __init__ importing its own submodules is not a cycle of behaviour.
    edges = {
        a: {
            b
            for b in bs
            if not (a.endswith("__init__") or b == a.rpartition(".")[0] or a == b.rpartition(".")[0])
        }
        for a, bs in edges.items()
    }
    assert find_cycle(edges) is None, " → ".join(find_cycle(edges) or [])


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_compiler_imports_the_sagemaker_sdk():
    offenders = sorted(
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if any(m == "sagemaker" or m.startswith("sagemaker.") for m in imports(p))
        and not module_name(p).startswith("lgbm_pipeline_compiler.compiler")
    )
    assert offenders == []


def test_no_module_over_the_size_limit():
    sizes = {
        str(p.relative_to(REPO)): len(p.read_text().splitlines())
        for p in [*PACKAGE.rglob("*.py"), *(REPO / "step_scripts").glob("*.py")]
    }
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}
