"""One botocore data loader for every session in the process, so each service model, endpoints.json
and ruleset is parsed once per test worker rather than once per ``boto3.Session`` (each session or
moto mock a test makes parses the SageMaker model, several MB of JSON, again otherwise).

A session's loader caches what it reads and hands every client of that session the same parsed
data; this makes all sessions share one cache, as compiling already does for its own sessions
(``compiler.offline.shared_loader``, which this shares its loaders with). The files are read-only
package data, and the loader is keyed by the data path (AWS_DATA_PATH), so what a session sees is
unchanged. (A plain module: tests/ is on sys.path, so it imports as ``ship.shared_models``;
tests/ship/conftest.py applies it to the ship tests.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import botocore.loaders
import botocore.session
import pytest

from lgbm_pipeline_compiler.compiler import offline

_create_loader = offline._create_loader  # botocore's own, as offline saved it at import


class _SearchPaths(list):
    """A loader's search paths, where appending a path already there is a no-op: each
    ``boto3.Session`` appends boto3's data folder to its loader's paths."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    """The process's loader for this data path: compiling's (offline._LOADERS), made here if none."""
    if search_path_string not in offline._LOADERS:
        offline._LOADERS[search_path_string] = _create_loader(search_path_string)
    loader = offline._LOADERS[search_path_string]
    if not isinstance(loader._search_paths, _SearchPaths):  # made by a compile before this
        loader._search_paths = _SearchPaths(loader._search_paths)
    return loader


@contextmanager
def shared_models() -> Iterator[None]:
    """Every botocore session created meanwhile shares one loader per data path. A compile swaps
    ``create_loader`` for its own and puts back ``offline._create_loader`` afterwards: that is
    this one too, for the duration; all three are botocore's own again afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", _shared_loader)
        patch.setattr(botocore.loaders, "create_loader", _shared_loader)
        patch.setattr(offline, "_create_loader", _shared_loader)
        yield
