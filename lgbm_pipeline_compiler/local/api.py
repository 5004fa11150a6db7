"""Library entry point of the local runner: spec → compiled JSON on disk → local execution."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from ..emit import write_output
from ..spec import PipelineSpec, load_spec
from . import paths
from .records import Execution
from .runner import LocalRun, RunOptions


def run_spec(
    spec: str | Path | PipelineSpec, options: RunOptions, variables: Mapping[str, str] | None = None
) -> Execution:
    """Compile a spec (a path, or a loaded PipelineSpec), write the definition and artifacts under
    the work dir (``compiled/PIPELINE``, :func:`compile_into`), and run them."""
    target, name = compile_into(spec, options.work_dir, variables)
    return run_compiled(target, options, name)


def compile_into(
    spec: str | Path | PipelineSpec, work_dir: str | Path, variables: Mapping[str, str] | None = None
) -> tuple[Path, str]:
    """Write a spec's compiled definition and artifacts where a run in ``work_dir`` reads them
    (``compiled/PIPELINE``); that dir and the pipeline's name.

    Given a path, the compile is skipped when ``compiled/PIPELINE`` already holds its output: the
    fingerprint recorded in its manifest (everything a compile reads: the spec's bytes, the
    variables, every step script and the wheel lock beside it, the package, SDK and botocore
    versions, the compiler's sources) matches, and so do its files' hashes, as ``compile --check``
    decides (review/stale.py). That saves importing the SageMaker SDK on a repeated run."""
    from ..review.fingerprint import record
    from ..review.stale import up_to_date_by_hash

    path = None if isinstance(spec, PipelineSpec) else Path(spec)
    if not isinstance(spec, PipelineSpec):
        spec = load_spec(spec, variables)
    fix = "name the pipeline with letters, digits and hyphens"
    target = paths.inside(work_dir, spec.pipeline.name, what="pipeline name", fix=fix, prefix=["compiled"])
    paths.ensure_dir(work_dir, target.parent)
    if path is None or not up_to_date_by_hash(path, target, variables):
        from ..compiler import compile_definition  # (imports the SageMaker SDK: only to compile)

        inputs = record(path, variables, spec) if path is not None else None
        write_output(target, compile_definition(spec), inputs)
    return target, spec.pipeline.name


def run_compiled(compiled_dir: str | Path, options: RunOptions, pipeline_name: str = "pipeline") -> Execution:
    """Run what `lgbm-pipeline compile -o DIR` wrote: DIR/pipeline.json, manifest.json, artifacts/."""
    folder = Path(compiled_dir)
    definition = json.loads((folder / "pipeline.json").read_text(encoding="utf-8"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    run = LocalRun(definition, manifest, folder, options, pipeline_name)
    try:
        run_dir = run.runs.dir(run.execution.id)
        paths.copy_atomic(run.work_dir, folder / "pipeline.json", run_dir / "pipeline.json")
    except BaseException:
        run.lock.release()
        run.jobs.close()
        raise
    return run.run()
