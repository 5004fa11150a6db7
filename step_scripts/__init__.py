"""Standalone scripts that run inside SageMaker containers (shipped as package data)."""
