"""Scripts that run inside SageMaker containers (shipped as package data), and the modules they share:
step_common.py (every job), bias_metrics.py and clarify_baseline.py (clarify_check.py)."""
