"""Extend a compiled pipeline with a step of your own, then compile it (offline, no AWS).

The compiler builds SageMaker SDK objects, so anything the SDK offers can be added before the
definition is serialised. Here a FailStep goes into the quality gate's else-branch, so a model
that misses the F1 threshold fails the execution with a message instead of ending quietly.

    python examples/extend_pipeline.py [-o OUT_DIR]

Prints the added step's definition; with ``-o`` writes pipeline.json, manifest.json and
artifacts/ as `lgbm-pipeline compile -o` does. The local runner executes Fail steps too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lgbm_pipeline_compiler import build_pipeline, load_spec
from lgbm_pipeline_compiler.compiler import compile_definition
from lgbm_pipeline_compiler.emit import render_json, write_output

CENSUS = Path(__file__).resolve().parent.parent / "specs" / "census.yaml"


def add_fail_step(pipeline) -> None:  # noqa: ANN001 - sagemaker.workflow.pipeline.Pipeline
    """Fail the execution, naming the threshold, when the quality gate takes its else-branch."""
    from sagemaker.workflow.condition_step import ConditionStep
    from sagemaker.workflow.fail_step import FailStep
    from sagemaker.workflow.functions import Join

    gate = next(step for step in pipeline.steps if isinstance(step, ConditionStep))
    threshold = next(p for p in pipeline.parameters if p.name == "F1Threshold")
    gate.else_steps.append(
        FailStep(
            name="F1BelowThreshold",
            error_message=Join(on=" ", values=["the model's F1 is below the gate's threshold", threshold]),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, help="write the compiled pipeline here")
    args = parser.parse_args()

    spec = load_spec(CENSUS)
    pipeline = build_pipeline(spec)  # the SDK Pipeline, to inspect
    print(f"{pipeline.name}: {[step.name for step in pipeline.steps]}")

    compiled = compile_definition(spec, customize=add_fail_step)
    gate = compiled.definition["Steps"][-1]
    print(json.dumps(gate["Arguments"]["ElseSteps"], indent=2, sort_keys=True))
    if args.out:
        write_output(args.out, compiled)
        print(f"wrote {args.out}/pipeline.json ({len(render_json(compiled.definition))} bytes)")


if __name__ == "__main__":
    main()
