"""The shape cache: botocore's own definitions (documentation left out), per botocore version,
written once and read back."""

from __future__ import annotations

import pytest
from botocore.loaders import Loader

from lgbm_pipeline_compiler.lint import shapes


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shapes._model.cache_clear()
    shapes._resolver.cache_clear()
    yield tmp_path
    shapes._model.cache_clear()
    shapes._resolver.cache_clear()


def _undocumented(shape: dict) -> dict:
    out = {k: v for k, v in shape.items() if k != "documentation"}
    if "members" in out:
        out["members"] = {
            k: {a: b for a, b in m.items() if a != "documentation"} for k, m in out["members"].items()
        }
    return out


def test_the_cached_shapes_are_botocores(fresh_cache):
    model = shapes._model()
    loader = Loader()
    for service in ("sagemaker", *shapes.OTHER_SHAPES):
        full = loader.load_service_model(service, "service-2")["shapes"]
        assert {n: _undocumented(full[n]) for n in model[service]} == model[service]
    operations = loader.load_service_model("sagemaker", "service-2")["operations"]
    for name, op in model["operations"].items():
        assert op == {k: operations[name][k]["shape"] for k in ("input", "output") if k in operations[name]}


def test_the_cache_is_written_once_per_botocore_version_and_read_back(fresh_cache, monkeypatch):
    shapes.input_shape("CreateProcessingJob")
    (cache,) = (fresh_cache / "lgbm-pipeline-compiler").glob("lint-shapes-*-botocore-*.json")
    import botocore

    assert cache.name.endswith(f"-botocore-{botocore.__version__}.json")
    shapes._model.cache_clear()
    shapes._resolver.cache_clear()
    monkeypatch.setattr(shapes, "_from_botocore", lambda: pytest.fail("the cache was not read"))
    assert shapes.input_shape("CreateProcessingJob").members["RoleArn"].metadata["max"] == 2048


def test_an_unwritable_cache_is_skipped(fresh_cache, monkeypatch):
    (fresh_cache / "lgbm-pipeline-compiler").write_text("a file where the cache folder goes")
    assert "ProcessingJobName" in shapes.input_shape("CreateProcessingJob").members
