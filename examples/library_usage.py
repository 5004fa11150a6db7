"""Load, validate, compile and run the census pipeline from Python (no AWS, no Docker).

    python examples/library_usage.py [--work-dir DIR] [--trials 4]

The census spec reads adult.data and adult.test as AWS publishes them; the local run finds them in
examples/data/ (no network, no AWS credentials).

A spec is a Pydantic model: edit it in Python and the edit is validated. Bad specs raise
SpecError with one Finding per problem (file, line, column, dotted path, message).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from lgbm_pipeline_compiler import SpecError, compile_spec, load_spec, render_json, run_local

CENSUS = Path(__file__).resolve().parent.parent / "specs" / "census.yaml"


def show_validation() -> None:
    """A broken spec: every problem at once, each located."""
    broken = CENSUS.read_text().replace("max_parallel_jobs: 2", "max_parallel_jobs: 0")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "broken.yaml"
        path.write_text(broken)
        try:
            load_spec(path)
        except SpecError as err:
            for finding in err.findings:
                print(f"validation: {finding.format()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=Path(".lgbm-pipeline"))
    parser.add_argument("--trials", type=int, default=4, help="tuning trials (the spec says 20)")
    args = parser.parse_args()

    show_validation()

    spec = load_spec(CENSUS, variables={"env": "example"})
    spec.tuning.max_jobs = args.trials  # validated on assignment
    spec.tuning.ranges["n_estimators"].max = 60  # a quick budget for a demonstration
    definition = compile_spec(spec)
    print(f"compiled {len(definition['Steps'])} top-level steps, {len(render_json(definition))} bytes")

    # The first run of a pipeline with Clarify checks establishes their baselines (as in SageMaker,
    # a check with no previous baseline fails otherwise).
    execution = run_local(spec, work_dir=args.work_dir, first_run=True)
    for record in execution.steps.values():
        print(f"{record.name:28} {record.status:12} {record.note or ''}")
    if execution.status != "Succeeded":
        raise SystemExit(f"the run failed: {execution.failure_reason}")
    evaluate = execution.steps["Evaluate"].properties["ProcessingOutputConfig"]["Outputs"]["evaluation"]
    report = args.work_dir / "s3" / evaluate["S3Output"]["S3Uri"][5:] / "evaluation.json"
    metrics = json.loads(report.read_text())["classification_metrics"]
    print(f"status {execution.status}; test F1 {metrics['f1']['value']:.3f}")
    print(f"registered: {execution.registered_model_package}")


if __name__ == "__main__":
    main()
