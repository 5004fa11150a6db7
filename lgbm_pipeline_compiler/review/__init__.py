"""Reviewing pipeline changes: semantic diff, stale check, DAG graph (consumers of the compiled JSON).

Everything here reads a definition and its manifest; the SageMaker SDK is imported only when a side
of a diff is a spec (through ``compiler.compile_definition``). ``stale.check`` answers an unchanged
output from hashes alone, without the SDK.
"""
