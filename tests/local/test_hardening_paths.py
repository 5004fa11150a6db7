"""The path-safety helper (local/paths.py) every supplied name goes through before it becomes a
path under the work dir: a property over arbitrary strings and symlink layouts (the resolved path
is inside the root, or the helper refuses with UnsafePath; nothing is ever written outside), and
the exact values of the findings (``..``, absolute paths, NUL, backslashes, links)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgbm_pipeline_compiler.local import paths
from lgbm_pipeline_compiler.local.paths import UnsafePath
from lgbm_pipeline_compiler.local.records import RunStore
from lgbm_pipeline_compiler.local.store import ObjectStore

NAMES = ["a", "b", "link", "a/b", "a/link", "s3", "s3/bucket", "s3/bucket/key", "runs", "runs/r1"]
KINDS = [
    "dir",
    "file",
    "to-outside",
    "to-outside-file",
    "to-root",
    "to-parent",
    "to-inside",
    "dangling-outside",
]


def make_layout(root: Path, outside: Path, layout: list[tuple[str, str]]) -> None:
    """Create each (name, kind) under root, parents first; a name whose parent is not a directory
    is skipped."""
    (outside / "secret.txt").write_text("outside\n")
    for name, kind in sorted(layout, key=lambda item: item[0].count("/")):
        path = root / name
        if not path.parent.is_dir() or path.parent.is_symlink() or os.path.lexists(path):
            continue
        if kind == "dir":
            path.mkdir()
        elif kind == "file":
            path.write_text("inside\n")
        else:
            target = {
                "to-outside": outside,
                "to-outside-file": outside / "secret.txt",
                "to-root": root,
                "to-parent": Path(".."),
                "to-inside": root / "a",
                "dangling-outside": outside / "new",
            }[kind]
            path.symlink_to(target)


def within(path: Path, root: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, base]) == base


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


CLEAN = st.sampled_from(["a", "b", "link", "..", "s3", "bucket", "key", "runs", "r1"])
ODD = st.one_of(st.sampled_from([".", "", "a\\b", "x\0y", "\n", "é"]), st.text(max_size=6))
SEGMENTS = st.lists(st.one_of(CLEAN, ODD), max_size=5)
RELATIVE = st.tuples(st.integers(0, 3), SEGMENTS).map(lambda t: "/".join([".."] * t[0] + t[1]))
"""Paths that often climb ('..' first) into names of the layout (links among them)."""
LAYOUTS = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(KINDS)), max_size=8)


def values(layout: list[tuple[str, str]]) -> st.SearchStrategy[str]:
    """Arbitrary strings, climbing paths, and paths through the layout's own names (its links)."""
    through = st.tuples(st.sampled_from([name for name, _ in layout] or ["a"]), SEGMENTS)
    return st.one_of(
        st.text(max_size=40),
        RELATIVE,
        RELATIVE.map(lambda value: "/" + value),
        through.map(lambda t: "/".join([t[0], *t[1]])),
        through.map(lambda t: "/".join([t[0], *t[1]])),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_supplied_name_resolves_inside_the_root_or_is_refused(data):
    layout = data.draw(LAYOUTS, label="layout")
    value = data.draw(values(layout), label="value")
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = Path(tmp) / "root", Path(tmp) / "outside"
        root.mkdir(), outside.mkdir()
        make_layout(root, outside, layout)
        before = snapshot(outside)
        try:
            path = paths.inside(root, value, what="name", fix="fix it")
        except UnsafePath as err:
            assert repr(value) in str(err) and "fix it" in str(err)
            return
        assert within(path, root), (value, layout, os.path.realpath(path))
        # writing there lands inside too (or fails: a file where a directory would be)
        with contextlib.suppress(UnsafePath, NotADirectoryError, IsADirectoryError, FileExistsError):
            paths.write_atomic(root, path, b"data")
        assert snapshot(outside) == before
        assert (outside / "secret.txt").read_text() == "outside\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_store_writes_land_inside_the_store_or_are_refused(data):
    layout = data.draw(LAYOUTS, label="layout")
    key = data.draw(values([(name.removeprefix("s3/"), kind) for name, kind in layout]), label="key")
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = Path(tmp) / "root", Path(tmp) / "outside"
        root.mkdir(), outside.mkdir()
        make_layout(root, outside, layout)
        before = snapshot(outside)
        store = ObjectStore(root)
        try:
            store.put_bytes(f"s3://{key}", b"object")
        except (ValueError, NotADirectoryError, IsADirectoryError, FileExistsError):
            pass
        else:
            assert within(store.path(f"s3://{key}"), root / "s3")
        assert snapshot(outside) == before
        assert (outside / "secret.txt").read_text() == "outside\n"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("../../other/runs/ID", "'..' path component"),
        ("/etc/passwd", "an absolute path"),
        ("a\0b", "a NUL character"),
        ("a\\..\\b", "a backslash"),
        ("a//b", "an empty path component"),
        ("./a", "'.' path component"),
        ("", "it is empty"),
        ("x" * 256, "longer than 255 bytes"),
        ("line\nbreak", "a control character"),
    ],
)
def test_each_unsafe_form_is_refused_naming_the_value_and_the_fix(tmp_path, value, reason):
    with pytest.raises(UnsafePath) as err:
        paths.inside(tmp_path, value, what="run id", fix="pass a run id")
    message = str(err.value)
    assert (
        reason in message and message.startswith(f"run id {value!r}: ") and message.endswith("pass a run id")
    )
    assert "\n" not in message.replace(repr(value), "")  # one line (the value is shown escaped)


def test_a_link_is_refused_even_when_it_leads_inside(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafePath, match="is a symlink .* never followed"):
        paths.inside(tmp_path, "alias/file", what="key", fix="x")
    assert paths.inside(tmp_path, "real/file", what="key", fix="x") == tmp_path / "real" / "file"


def test_run_ids_are_one_plain_name(tmp_path):
    runs = RunStore(tmp_path)
    assert runs.dir("20260101T000000-abcdef") == tmp_path / "runs" / "20260101T000000-abcdef"
    with pytest.raises(UnsafePath, match="contains '/'"):
        runs.dir("a/b")


def test_copy_tree_refuses_links_or_follows_only_those_inside(tmp_path):
    source, outside = tmp_path / "out", tmp_path / "outside"
    source.mkdir(), outside.mkdir()
    (outside / "secret").write_text("s")
    (source / "data.csv").write_text("1\n")
    (source / "latest.csv").symlink_to(source / "data.csv")
    copied = paths.copy_tree(source, tmp_path / "copy1", follow_within=source)
    assert copied == 2 and (tmp_path / "copy1" / "latest.csv").read_text() == "1\n"
    assert not (tmp_path / "copy1" / "latest.csv").is_symlink()
    with pytest.raises(UnsafePath, match="never followed here"):
        paths.copy_tree(source, tmp_path / "copy2")  # the store's trees: no link at all
    (source / "leak").symlink_to(outside / "secret")
    with pytest.raises(UnsafePath, match="leads outside"):
        paths.copy_tree(source, tmp_path / "copy3", follow_within=source)


def test_writes_are_atomic_and_never_through_a_link(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    root = tmp_path / "root"
    root.mkdir()
    (root / "target.json").symlink_to(outside)
    paths.write_atomic(root, root / "target.json", b"new")  # replaces the link, not its target
    assert outside.read_text() == "keep" and not (root / "target.json").is_symlink()
    assert (root / "target.json").read_bytes() == b"new"
    assert [p.name for p in root.iterdir()] == ["target.json"]  # no temporary file left
    with pytest.raises(UnsafePath):
        paths.read_bytes(_link(root / "reader", outside))


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path
