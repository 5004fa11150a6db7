"""The HTTP server behind `lgbm-pipeline serve`: waitress, hardened the way a SageMaker endpoint is.

A SageMaker endpoint is three layers: the InvokeEndpoint front (what clients talk to), nginx in the
serving container, and gunicorn running the container's Flask app (aws/sagemaker-containers
v2.8.6.post2, ``_server.py`` and ``etc/nginx.conf.template``). Locally, waitress (a pure-Python
WSGI server: an asynchronous I/O loop that buffers each whole request, then a fixed pool of worker
threads) stands in for the first two, and `ServingModel.invoke` (serve.py) for the third. What each
request gets, and why:

- **Body over 6 MB: 413**, one line ``HTTP content length exceeded 6291456 bytes. ...``. The limit is
  InvokeEndpoint's (botocore ``sagemaker-runtime`` model: ``BodyBlob`` max 6291456) and the status
  and wording are what its callers get (aws/sagemaker-python-sdk#171: "An error occurred (413) when
  calling the InvokeEndpoint operation: HTTP content length exceeded 5246976 bytes", under the
  earlier limit). A declared length over the limit is answered as soon as the headers are read, so
  the body is never buffered; a chunked body is cut off at the limit. The container's nginx has no
  limit (``client_max_body_size 0``): the front enforces it. After such an answer the server stops
  sending and drains what the client still sends for up to 30 s (5 s without data: nginx's
  ``lingering_time`` and ``lingering_timeout``), so the client reads the 413 instead of a reset.
- **Malformed framing: 400** with the reason on one line: a Content-Length that is not a decimal
  byte count (``abc``, ``-5``, ``+5``, two values), a body that ends (the client shuts its side)
  before its Content-Length, headers that never end, invalid header lines or chunk sizes; 431 for
  headers over 256 KiB and 501 for a Transfer-Encoding other than chunked (waitress's checks). In
  AWS these never reach the container: the SDK frames every request itself and the front refuses
  what it cannot parse. nginx answers a bad Content-Length with 400 as well, and closes a
  connection whose body ends early without an answer; here the reason is sent, as a local choice.
- **Incomplete request, silent client: 408** after ``channel_timeout`` (60 s, nginx's default
  ``client_body_timeout`` and the 60 s InvokeEndpoint gives a container), one line. Idle keep-alive
  connections are closed silently after the same time. Slow clients hold no worker: requests are
  read by the I/O loop and reach a worker thread only once complete.
- **Bursts**: listen backlog 2048 (gunicorn's default; the kernel caps it at
  ``net.core.somaxconn``), up to 1000 open connections (gunicorn's ``--worker-connections 1000``
  in the container; fewer when the open-file limit is low), ``poll()`` rather than ``select()`` so
  that descriptors above 1024 work. Past the connection limit new connections wait in the backlog.
- **Everything else is the container's answer**: a complete request for ``POST /invocations`` goes
  to ``ServingModel.invoke`` with its ``ContentType`` (else ``Content-Type``) and ``Accept`` headers
  as sent, and its status, content type and body come back unchanged. So a JSON body the model's
  handler cannot parse (an integer too large for a float, arrays nested 100,000 deep) is answered
  as that handler answers it, as in SageMaker: a 4xx if the handler says so, else the 500 page of
  the container's Flask (any exception in a handler: RecursionError and OverflowError too). The
  server catches every exception a handler raises, so no request ends a worker thread; CPython's
  JSON decoder bounds its own recursion (RecursionError at ``sys.getrecursionlimit()`` levels).
- **Endpoints with variants** (variants.Endpoint): the request's headers reach the endpoint, which
  routes by ``InitialVariantWeight`` or ``X-Amzn-SageMaker-Target-Variant``, answers with
  ``x-Amzn-Invoked-Production-Variant`` and captures data as the endpoint config says.
- ``GET /ping``: 200, ``application/json``, empty (``_worker.py`` ``default_healthcheck_fn``).
  Other paths: 404; another method on ``/ping`` or ``/invocations``: 405 with ``Allow`` (one line
  each; nginx answers other paths ``404 {}``).

Not reproduced: gunicorn's ``--timeout`` (a worker stuck in a handler is killed after
``model_server_timeout``): a Python thread cannot be killed, so a handler that never returns holds
its worker thread until the server stops.
"""

from __future__ import annotations

import logging
import resource
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TextIO

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher
from waitress.utilities import (
    BadRequest,
    Error,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    ServerNotImplemented,
)

MAX_BODY_BYTES = 6291456
"""InvokeEndpoint's request body limit (botocore sagemaker-runtime ``BodyBlob``: max 6291456)."""
TOO_LARGE = (
    f"HTTP content length exceeded {MAX_BODY_BYTES} bytes. (SageMaker InvokeEndpoint's limit: "
    "send fewer rows per request, or score large files with a batch transform)"
)
BACKLOG = 2048
MAX_CONNECTIONS = 1000
CHANNEL_TIMEOUT = 60
THREADS = 4
LINGER_TOTAL, LINGER_IDLE = 30.0, 5.0  # nginx lingering_time, lingering_timeout

Invoke = Callable[[bytes, "str | None", "str | None"], tuple[int, str, bytes]]
"""ServingModel.invoke: (body, content type, accept) -> (status, content type, body)."""
StartResponse = Callable[..., Any]

_queue_log = logging.getLogger(__name__ + ".queue")
_queue_log.addHandler(logging.NullHandler())
_queue_log.propagate = False  # waitress warns "Task queue depth is N" at every burst


@dataclass(frozen=True)
class Request:
    """One POST /invocations: the body and the headers InvokeEndpoint sends."""

    body: bytes
    content_type: str | None
    accept: str | None
    headers: Mapping[str, str]  # lower-case names


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class IncompleteRequest(BadRequest):
    """The client ended its side of the connection before the request was complete."""


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_reason(error: Error, headers: dict[str, str], adj: Any) -> str:
    """The one-line reason sent for an error found while reading a request."""
    if isinstance(error, RequestEntityTooLarge):
        return TOO_LARGE
    if isinstance(error, RequestHeaderFieldsTooLarge):
        return f"request headers exceed {adj.max_request_header_size} bytes"
    if isinstance(error, ServerNotImplemented):
        return f"{_one_line(error.body)} Send the body with a Content-Length (or Transfer-Encoding: chunked)"
    if isinstance(error, (IncompleteRequest, RequestTimeout)):
        return _one_line(error.body)
    if error.body == "Content-Length is invalid":  # waitress parser.py: not ^[0-9]+$
        value = headers.get("CONTENT_LENGTH", "")
        return (
            f"Content-Length {_one_line(value)[:80]!r} is invalid: send the body's size in bytes as one "
            "non-negative decimal integer"
        )
    return f"{error.reason.lower()}: {_one_line(error.body)}"


def _incomplete(request: Any, why: str) -> str:
    """What is missing from a partly received request."""
    if not request.headers_finished:
        return f"{why} inside the request headers (no blank line after them)"
    if request.chunked:
        return f"{why} inside the chunked request body, before its last (zero-size) chunk"
    return (
        f"{why} after {request.body_bytes_received} of the {request.content_length} body bytes "
        "its Content-Length announced: send the whole body, or its true length"
    )


class _ErrorTask(ErrorTask):
    """waitress's error answer with the reason as one ``text/plain`` line, then a lingering close."""

    def execute(self) -> None:
        request, channel = self.request, self.channel
        error = request.error
        reason = error_reason(error, request.headers, channel.adj)
        body = f"{reason}\n".encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "text/plain; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        channel.should_linger = True
        self.write(body)
        line = f"{getattr(request, 'command', '')} {getattr(request, 'path', '')}".strip()  # once parsed
        channel.server.access(channel.addr, line or "-", error.code)


class _Channel(HTTPChannel):
    """One connection. Adds: a 400 when the client ends mid-request, a 408 (see ``_Server``) when
    it goes quiet mid-request, and a lingering close after an error answer."""

    error_task_class = _ErrorTask
    should_linger = False
    peer_closed = False
    linger_until: float | None = None  # while draining: the monotonic deadline
    linger_end = 0.0

    def readable(self) -> bool:
        return True if self.linger_until is not None else super().readable()

    def writable(self) -> bool:
        if self.linger_until is not None:  # the deadline is checked by the loop through handle_write
            return time.monotonic() >= self.linger_until
        return super().writable()

    def handle_write(self) -> None:
        if self.linger_until is not None:
            self._close()
            return
        super().handle_write()

    def handle_read(self) -> None:
        try:
            data = self.socket.recv(65536 if self.linger_until is not None else self.adj.recv_bytes)
        except OSError:
            data = None
        if self.linger_until is not None:  # draining: discard, until EOF, an error or the deadline
            if not data:
                self._close()
            else:
                self.linger_until = min(self.linger_end, time.monotonic() + LINGER_IDLE)
            return
        if data:
            self.last_activity = time.time()
            self.received(data)
            return
        self.peer_closed = True
        if data is not None and self.has_partial_request():
            self.fail_request(IncompleteRequest(_incomplete(self.request, "the client ended the request")))
        else:
            self._close()

    def has_partial_request(self) -> bool:
        request = self.request
        return request is not None and (request.headers_finished or bool(request.header_plus.strip()))

    def fail_request(self, error: Error) -> None:
        """Answer the request being received with ``error`` (then close), as waitress answers its own."""
        with self.requests_lock:
            request, self.request = self.request, None
            request.error, request.completed = error, True
            self.requests.append(request)
            first = len(self.requests) == 1
        if first:
            self.server.add_task(self)

    def handle_close(self) -> None:
        # Called once an error answer is flushed (and on socket errors): stop sending but read on,
        # so that a client still sending its body reads the answer rather than a reset.
        quiet = not (self.peer_closed or self.total_outbufs_len)
        if self.should_linger and quiet and self.linger_until is None and self.connected:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.will_close = self.close_when_flushed = False
                now = time.monotonic()
                self.linger_end = now + LINGER_TOTAL
                self.linger_until = now + LINGER_IDLE
                return
        self._close()

    def _close(self) -> None:
        self.linger_until = None
        HTTPChannel.handle_close(self)


class _Dispatcher(ThreadedTaskDispatcher):
    queue_logger = _queue_log


class _Server(TcpWSGIServer):
    channel_class = _Channel
    access: Callable[[Any, str, int], None]

    def maintenance(self, now: float) -> None:
        """waitress closes channels idle for ``channel_timeout``; one that is mid-request gets a 408."""
        cutoff = now - self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            closing = channel.will_close or channel.close_when_flushed or channel.linger_until is not None
            if closing or channel.requests or channel.last_activity >= cutoff:
                continue
            if channel.has_partial_request():
                channel.last_activity = now
                why = f"no data for {self.adj.channel_timeout} s"
                channel.fail_request(RequestTimeout(_incomplete(channel.request, why)))
            else:
                channel.will_close = True


def _reply(start_response: StartResponse, code: int, content_type: str, body: bytes, **headers: str):
    pairs = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start_response(
        _status(code), pairs + [(k.replace("_", "-") if "-" not in k else k, v) for k, v in headers.items()]
    )
    return [body]


def _text(start_response: StartResponse, code: int, reason: str, **headers: str) -> Iterable[bytes]:
    return _reply(start_response, code, "text/plain; charset=utf-8", f"{reason}\n".encode(), **headers)


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers by lower-case name (``HTTP_X_AMZN_...`` -> ``x-amzn-...``)."""
    return {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}


def make_app(invoke: Invoke | Any, access: Callable[[Any, str, int], None]) -> Callable[..., Iterable[bytes]]:
    """The WSGI application: SageMaker's two routes, the body limit, and ``invoke`` for the rest:
    a function of (body, content type, accept), or an object whose ``handle(Request) -> Answer``
    also sees the headers and adds its own (variants.Endpoint)."""
    handle = getattr(invoke, "handle", None)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        code, answer = _route(environ, method, path, start_response)
        access((environ.get("REMOTE_ADDR"), environ.get("REMOTE_PORT")), f"{method} {path}", code)
        return answer

    def _route(environ: dict[str, Any], method: str, path: str, start_response: StartResponse):
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                return 405, _text(start_response, 405, f"/ping answers GET, not {method}", Allow="GET, HEAD")
            return 200, _reply(start_response, 200, "application/json", b"")
        if path != "/invocations":
            return 404, _text(start_response, 404, f"no route {path!r}: use POST /invocations or GET /ping")
        if method != "POST":
            return 405, _text(start_response, 405, f"/invocations answers POST, not {method}", Allow="POST")
        # waitress has read the whole body: its Content-Length (or decoded chunks) within the limit
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        content_type = environ.get("HTTP_CONTENTTYPE") or environ.get("CONTENT_TYPE")  # _worker.py:184
        if handle is not None:  # an endpoint: variants, their headers, capture (variants.py)
            answer = handle(
                Request(body, content_type or None, environ.get("HTTP_ACCEPT"), _headers(environ))
            )
            extra = dict(answer.headers)
            return answer.status, _reply(
                start_response, answer.status, answer.content_type, answer.body, **extra
            )
        status, media, data = invoke(body, content_type or None, environ.get("HTTP_ACCEPT"))
        return status, _reply(start_response, status, media, data)

    return app


def _connection_limit() -> int:
    """MAX_CONNECTIONS, or fewer when the open-file limit is low (a large body spools to a file)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return (
        MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else max(16, min(MAX_CONNECTIONS, soft // 2 - 16))
    )


class EndpointServer:
    """The server ``make_server`` returns, with the ``socketserver`` methods ``cmd_serve`` uses."""

    def __init__(
        self,
        invoke: Invoke,
        host: str,
        port: int,
        *,
        threads: int = THREADS,
        channel_timeout: int = CHANNEL_TIMEOUT,
        access_log: TextIO | bool = True,
    ):
        self._log = access_log  # True: sys.stderr as it is when a request is logged
        self._map: dict[int, Any] = {}
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        dispatcher = _Dispatcher()
        dispatcher.set_thread_count(threads)
        self._server = _Server(
            make_app(invoke, self._access),
            map=self._map,
            dispatcher=dispatcher,
            host=host,
            port=port,
            threads=threads,
            backlog=BACKLOG,
            connection_limit=_connection_limit(),
            channel_timeout=channel_timeout,
            cleanup_interval=1,
            max_request_body_size=MAX_BODY_BYTES + 1,  # waitress refuses a length >= this
            asyncore_use_poll=True,
            clear_untrusted_proxy_headers=False,
            ident="lgbm-pipeline-serve",
        )
        self._server.access = self._access
        self.server_address = (self._server.effective_host, int(self._server.effective_port))

    def _access(self, client: Any, request_line: str, code: int) -> None:
        if self._log is not False and self._log is not None:
            host = client[0] if isinstance(client, tuple) else client
            stream = sys.stderr if self._log is True else self._log
            stream.write(f'serve: {host} "{_one_line(request_line)}" {code}\n')

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until ``shutdown()`` is called from another thread."""
        self._stop.clear()
        self._stopped.clear()
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=poll_interval, map=self._map, use_poll=True, count=1)
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop ``serve_forever`` and wait until it has returned."""
        self._stop.set()
        self._server.pull_trigger()
        self._stopped.wait()

    def server_close(self) -> None:
        """Stop the worker threads (each finishes its request, 5 s at most), then close every
        connection and the listening socket."""
        self._server.task_dispatcher.shutdown(timeout=5)
        for channel in list(self._server.active_channels.values()):
            channel._close()
        self._server.close()
        self._map.clear()
