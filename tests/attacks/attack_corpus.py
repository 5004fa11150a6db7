"""The spec-attack corpus: cases as small patches of ``_base.yaml``, materialised into a spec folder.

Each ``<topic>.cases.yaml`` maps a case name to:

- ``why``: the attack and the rule that stops it (or why the value is legal);
- ``set``: dotted spec path → value (``a.b.0`` indexes a list); ``drop``: paths to delete;
- ``files`` / ``outside``: text files created in the spec's folder / in the folder above it;
  ``dirs``, ``fifos``: directories and named pipes in the spec's folder; ``symlinks``: name → target;
- ``accept``: present when `validate` must accept the spec (the reason it is legal).

Values are plain YAML, plus generators for long or repetitive text that would not be readable written
out: ``{$repeat: [text, n]}``, ``{$join: [part, ...]}``, ``{$int: text}``, ``{$key: [key, value]}``
(a one-entry mapping whose key is generated) and ``{$many: {prefix: p, count: n, value: v}}`` (p1..pn → v).
"""

from __future__ import annotations

import copy
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BASE = HERE / "_base.yaml"
KEYS = {"why", "set", "drop", "files", "outside", "dirs", "fifos", "symlinks", "accept"}


def topics() -> list[str]:
    return sorted(p.name.removesuffix(".cases.yaml") for p in HERE.glob("*.cases.yaml"))


def cases(topic: str) -> dict[str, dict[str, Any]]:
    return copy.deepcopy(_cases(topic))


@cache
def _load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@cache
def _cases(topic: str) -> dict[str, dict[str, Any]]:
    loaded = _load(HERE / f"{topic}.cases.yaml")
    for name, case in loaded.items():
        unknown = set(case) - KEYS
        assert not unknown, f"{topic}/{name}: unknown keys {unknown}"
        assert case.get("why"), f"{topic}/{name}: say why (the attack and the rule)"
    return loaded


def expand(value: Any) -> Any:
    """Plain data with the $repeat / $join / $many generators evaluated."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), *_ = value.items()
        if key == "$repeat":
            return str(expand(arg[0])) * int(arg[1])
        if key == "$join":
            return "".join(str(expand(part)) for part in arg)
        if key == "$int":
            return int(expand(arg))
        if key == "$key":
            return {str(expand(arg[0])): expand(arg[1])}
        if key == "$many":
            return {f"{arg['prefix']}{i}": expand(arg["value"]) for i in range(1, int(arg["count"]) + 1)}
    if isinstance(value, dict):
        return {str(k): expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    return value


def _walk(data: Any, path: str) -> tuple[Any, str | int]:
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = data
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


def patched(case: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(_load(BASE))
    for path, value in (case.get("set") or {}).items():
        node, last = _walk(data, path)
        node[last] = expand(value)
    for path in case.get("drop") or []:
        node, last = _walk(data, path)
        del node[last]
    return data


def spec_text(case: dict[str, Any]) -> str:
    text = yaml.safe_dump(patched(case), sort_keys=False, allow_unicode=True, width=10**6)
    for marker in ("{{", "{%", "{#"):  # the corpus stays plain YAML, whatever the template engine
        assert marker not in text, f"generated spec contains {marker!r}"
    return text


def materialise(name: str, case: dict[str, Any], root: Path) -> Path:
    """Write the case's spec and files under ``root`` (spec folder ``root/spec``); return the spec."""
    folder = root / "spec"
    folder.mkdir(parents=True)
    for rel, text in (case.get("files") or {}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    for rel, text in (case.get("outside") or {}).items():
        (root / rel).write_text(text, encoding="utf-8")
    for rel in case.get("dirs") or []:
        (folder / rel).mkdir(parents=True)
    for rel in case.get("fifos") or []:
        os.mkfifo(folder / rel)
    for rel, target in (case.get("symlinks") or {}).items():
        (folder / rel).symlink_to(target)
    spec = folder / f"{name}.yaml"
    spec.write_text(spec_text(case), encoding="utf-8")
    return spec


def read_expected(topic: str) -> dict[str, list[str]]:
    path = HERE / f"{topic}.expected"
    out: dict[str, list[str]] = {}
    if not path.exists():
        return out
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("== "):
            current = out.setdefault(line[3:], [])
        elif current is not None:
            current.append(line)
    return out


def write_expected(topic: str, outputs: dict[str, list[str]]) -> None:
    """Write ``<topic>.expected`` whole (cases in the cases file's order), atomically."""
    text = "".join(
        f"== {n}\n" + "".join(f"{line}\n" for line in outputs[n]) for n in cases(topic) if n in outputs
    )
    path = HERE / f"{topic}.expected"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
