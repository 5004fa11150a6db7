"""Shipping a compiled pipeline to SageMaker: plan, upload, upsert, start, watch, IAM policies.

boto3 only (never the SageMaker SDK): ``target`` compiles the spec, ``upload`` puts the manifest's
artifacts at their content-addressed keys, ``function`` manages the deploy Lambda, ``pipeline``
creates or updates the pipeline and starts executions, ``plan`` orders it all and diffs against
what is deployed, ``watch`` follows an execution, ``iam`` derives the roles' policies, ``cli`` wires
the commands.
"""
