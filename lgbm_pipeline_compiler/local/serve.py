"""Serve a registered model behind SageMaker's HTTP contract: GET /ping, POST /invocations.

The model archive's own code/inference.py handles requests, called as the SageMaker scikit-learn
1.2-1 serving container calls it (aws/sagemaker-scikit-learn-container ``serving.py`` on
aws/sagemaker-containers v2.8.6.post2 ``_transformer.py`` and ``_worker.py``, under Flask 1.1.1
and Werkzeug 2.0.3): ``model_fn`` once; per request its ``transform_fn``, or else
``input_fn`` -> ``predict_fn`` -> ``output_fn``. The answer is what the container's HTTP response
would carry: the status and content type of a returned response object, 200 for a
``(body, content_type)`` tuple, and 500 with Werkzeug's Internal Server Error page for any
exception raised by the module's functions, whatever status the exception carries.

``make_server`` puts a model, or an endpoint's production variants (variants.py: routing by weight,
TargetVariant, the invoked-variant header, data capture), behind HTTP (serve_http.py: waitress with
SageMaker's 6 MB body limit, a deep listen backlog and one-line 4xx answers to malformed requests;
its docstring lists what each request gets and why).
"""

from __future__ import annotations

import importlib.util
import io
import logging
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .store import ObjectStore

if TYPE_CHECKING:
    from .serve_http import EndpointServer

log = logging.getLogger(__name__)

JSON = "application/json"
UTF8_TYPES = ("application/json", "text/csv")  # _content_types.py:14-19
DEFAULT_ACCEPT_ENV = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"  # _env.py:903
# Werkzeug 2.0.3 exceptions.py:154-189 (get_description, get_body, get_headers) for
# InternalServerError (:772-787): what Flask 1.1.1 answers for an unhandled exception (app.py:1870-1880).
INTERNAL_SERVER_ERROR = (
    500,
    "text/html; charset=utf-8",
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
    b"<title>500 Internal Server Error</title>\n"
    b"<h1>Internal Server Error</h1>\n"
    b"<p>The server encountered an internal error and was unable to complete your request. "
    b"Either the server is overloaded or there is an error in the application.</p>\n",
)
# Werkzeug 2.0.3 utils.py:314-321: non-``text/`` types that get a charset too.
_CHARSET_MIMETYPES = {
    "application/ecmascript",
    "application/javascript",
    "application/sql",
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
}

Transform = Callable[[Any, Any, str, str], Any]


class ServingError(RuntimeError):
    """The module cannot be served (the container would not start it either)."""


class ServingModel:
    """A model archive unpacked with its inference module loaded, ready for requests."""

    def __init__(self, archive: bytes, environment: Mapping[str, str] | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="lgbm-serve-")
        self.model_dir = Path(self._tmp.name)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(self.model_dir, filter="data")
        self.handlers = _load_module(self.model_dir / "code" / "inference.py")
        self._transform = _transformer(self.handlers)
        # ServingEnv.default_accept (_env.py:903): the model's environment, else JSON.
        self.default_accept = (environment or {}).get(DEFAULT_ACCEPT_ENV) or JSON
        self.model = self.handlers.model_fn(str(self.model_dir))

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one request, as the container answers it.

        ``content_type`` and ``accept`` are the request's header values. The container reads them
        as ``_worker.py:184-203`` does (no content type: JSON; no accept or ``*/*``: the default
        accept) and passes the body as text when the content type is exactly ``text/csv`` or
        ``application/json`` (UTF-8, undecodable bytes replaced: ``_worker.py:214-216``, Werkzeug's
        ``get_data(as_text=True)``), else as bytes.
        """
        content_type = content_type or JSON
        if not accept or accept == "*/*":
            accept = self.default_accept
        content: str | bytes = body.decode("utf-8", "replace") if content_type in UTF8_TYPES else body
        try:
            result = self._transform(self.model, content, content_type, accept)
            return _http_response(result)
        except Exception:  # the module's error: ClientError (_functions.py:91-95), then Flask's 500
            log.exception("Exception on /invocations [POST]")
            return INTERNAL_SERVER_ERROR


def _transformer(module: ModuleType) -> Transform:
    """The per-request function, chosen as serving.py:90-108 chooses it."""
    names = ("model_fn", "transform_fn", "input_fn", "predict_fn", "output_fn")
    model_fn, transform_fn, input_fn, predict_fn, output_fn = (getattr(module, n, None) for n in names)
    if model_fn is None:
        raise ServingError("inference.py defines no model_fn (the container has no default to load a model)")
    if transform_fn and (input_fn or predict_fn or output_fn):  # serving.py:97-98
        raise ServingError(
            "inference.py defines transform_fn together with input_fn, predict_fn and/or output_fn: "
            "the serving container refuses to start (UserError)"
        )
    if transform_fn is not None:
        return transform_fn
    if not (input_fn and predict_fn and output_fn):
        missing = [
            n for n, fn in zip(names[2:], (input_fn, predict_fn, output_fn), strict=True) if fn is None
        ]
        raise ServingError(
            f"inference.py defines neither transform_fn nor {', '.join(missing)}: the container's "
            "numpy defaults are not reproduced locally"
        )

    def default_transform_fn(model: Any, content: Any, content_type: str, accept: str) -> Any:
        # _transformer.py:226-238. Its UnsupportedFormatError branches (415, 406) never apply to
        # wrapped functions: the wrapper has already re-raised everything as ClientError.
        return output_fn(predict_fn(input_fn(content, content_type), model), accept)

    return default_transform_fn


def _content_type(mimetype: str) -> str:
    """The Content-Type header a Werkzeug 2.0.3 response with this mimetype sends (utils.py:324-346)."""
    if mimetype.startswith("text/") or mimetype in _CHARSET_MIMETYPES or mimetype.endswith("+xml"):
        return f"{mimetype}; charset=utf-8"
    return mimetype


def _body(data: Any) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data or b"")


def _http_response(result: Any) -> tuple[int, str, bytes]:
    """The HTTP answer for what the transform returned."""
    if isinstance(result, tuple):  # _transformer.py:203-205: Response(response=body, mimetype=type)
        return 200, _content_type(result[1] or JSON), _body(result[0])
    if isinstance(result, (str, bytes, bytearray)):  # Flask 1.1.1 app.py:2104-2109: text/html
        return 200, _content_type("text/html"), _body(result)
    if hasattr(result, "status_code") and hasattr(result, "get_data"):  # a (worker.)Response
        return int(result.status_code), str(result.content_type), _body(result.get_data())
    # Flask 1.1.1 app.py:2125-2131 raises TypeError for anything else: a 500.
    raise TypeError(f"the transform returned a {type(result).__name__}, not a response")


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


def load_model(
    store: ObjectStore, model_data_url: str, environment: Mapping[str, str] | None = None
) -> ServingModel:
    return ServingModel(store.read_bytes(model_data_url), environment)


def make_server(
    model: ServingModel | Any, host: str = "127.0.0.1", port: int = 8080, **options: Any
) -> EndpointServer:
    """An HTTP server for ``model`` (one model, or an endpoint's variants: variants.Endpoint) on
    ``host:port`` (0: any free port), not yet serving: call ``serve_forever()``, ``shutdown()`` from
    another thread, then ``server_close()``. ``options``: ``threads``, ``channel_timeout`` (seconds)
    and ``access_log`` (False, or a stream; default stderr) of serve_http.EndpointServer. (Imported
    here: batch transforms load models without it.)"""
    from .serve_http import EndpointServer

    return EndpointServer(model.invoke if isinstance(model, ServingModel) else model, host, port, **options)
