"""Run a compiled pipeline definition locally: no Docker, no AWS.

Everything here reads the emitted JSON and manifest, never SDK objects: what runs locally is what
SageMaker would run. Container scripts run in subprocesses with the current interpreter (the
`steps` extra provides LightGBM, scikit-learn and pandas) instead of inside their images.
"""
