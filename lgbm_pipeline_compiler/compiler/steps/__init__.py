"""One builder per step kind: ``build(ctx, *inputs) -> handle``; wired in ``compiler/pipeline.py``."""
