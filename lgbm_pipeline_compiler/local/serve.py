"""Serve a registered model behind SageMaker's HTTP contract: GET /ping, POST /invocations.

The model archive's own code/inference.py (model_fn, input_fn, predict_fn, output_fn) handles
requests, exactly as the SageMaker scikit-learn serving container would call it.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import tarfile
import tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from .store import ObjectStore


class ServingModel:
    """A model archive unpacked with its inference module loaded."""

    def __init__(self, archive: bytes):
        self._tmp = tempfile.TemporaryDirectory(prefix="lgbm-serve-")
        self.model_dir = Path(self._tmp.name)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(self.model_dir, filter="data")
        self.handlers = _load_module(self.model_dir / "code" / "inference.py")
        self.model = self.handlers.model_fn(str(self.model_dir))

    def invoke(self, body: bytes, content_type: str, accept: str) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one request."""
        try:
            data = self.handlers.input_fn(body, content_type)
            prediction = self.handlers.predict_fn(data, self.model)
            out = self.handlers.output_fn(prediction, accept)
        except ValueError as err:  # inference.InferenceError is a ValueError with a status code
            return getattr(err, "status_code", 400), "text/plain", f"{err}\n".encode()
        if isinstance(out, tuple):
            out, accept = out[0], out[1]
        return 200, accept, out if isinstance(out, bytes) else str(out).encode()


def _load_module(path: Path) -> ModuleType:
    """Import inference.py as the serving container does: its code/ directory on sys.path."""
    if not path.is_file():
        raise FileNotFoundError(f"the model archive has no {path.name} under code/")
    spec = importlib.util.spec_from_file_location(f"served_inference_{abs(hash(path))}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(path.parent))
    before = set(sys.modules)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
        # Modules imported from this code/ dir (step_common) belong to this model only: another
        # model's archive may ship another version of them.
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(str(path.parent)):
                del sys.modules[name]
    return module


def load_model(store: ObjectStore, model_data_url: str) -> ServingModel:
    return ServingModel(store.read_bytes(model_data_url))


def make_server(model: ServingModel, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            if self.path == "/ping":
                self._send(200, "text/plain", b"")
            else:
                self._send(404, "text/plain", b"not found: use GET /ping or POST /invocations\n")

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/invocations":
                self._send(404, "text/plain", b"not found: use POST /invocations\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            content_type = self.headers.get("Content-Type", "text/csv")
            accept = self.headers.get("Accept") or content_type
            if accept in ("*/*", ""):
                accept = content_type
            self._send(*model.invoke(body, content_type, accept))

        def log_message(self, fmt: str, *args: Any) -> None:
            sys.stderr.write(f"serve: {fmt % args}\n")

    return ThreadingHTTPServer((host, port), Handler)
