"""`lgbm-pipeline monitor`: an endpoint's captured traffic against its model package's baselines.

captured.py reads SageMaker data-capture files; sources.py finds what the endpoint serves and the
baselines registered with it; checks.py compares (data quality, prediction drift, bias drift,
feature-attribution drift) with the step scripts' own code (step_scripts/data_quality.py,
bias_metrics.py, clarify_baseline.py, clarify_check.py, imported by bundled.py); output.py writes
``constraint_violations.json`` and the HTML (and PDF) report; cli.py is the command. Objects are
read through blobs.py's read-only blob source: the local object store, or S3 (s3.py, with
SageMaker's Describe calls, for ``--aws``).
"""
