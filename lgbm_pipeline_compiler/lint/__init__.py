"""Checks of pipeline definitions against what SageMaker accepts (no SageMaker SDK import)."""
