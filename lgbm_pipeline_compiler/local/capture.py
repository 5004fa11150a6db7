"""Data capture for `lgbm-pipeline serve`: requests and responses in SageMaker's capture files.

What an endpoint config's ``DataCaptureConfig`` (CreateEndpointConfig / DescribeEndpointConfig
shape) asks for, written where SageMaker writes it, in its format, under the local object store
(store.py maps the ``s3://`` destination to ``{work_dir}/s3/...``):

- **Key**: ``{DestinationS3Uri}/{endpoint}/{variant}/yyyy/mm/dd/hh/{MM}-{SS}-{mmm}-{uuid}.jsonl``,
  the hour of the inference in UTC. AWS's guide "Capture data from real-time endpoint" (View
  Captured Data): "The format of the Amazon S3 path is:
  ``s3:///{endpoint-name}/{variant-name}/yyyy/mm/dd/hh/filename.jsonl``"; the file name's shape is a
  real capture key's, e.g. ``.../AllTraffic/2020/03/11/12/32-18-648-cee08c3a-02ce-4790-b8ba-3173cfc12813.jsonl``
  (minute, second, millisecond of the file's first record, then a UUID).
- **Lines** (JSON Lines, one per captured invocation, same guide)::

      {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
        "data": "...", "encoding": "CSV"}, "endpointOutput": {"observedContentType":
        "text/csv; charset=utf-8", "mode": "OUTPUT", "data": "...", "encoding": "CSV"}},
       "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2022-02-14T17:25:49Z"},
       "eventVersion": "0"}

  ``eventMetadata.inferenceId`` is added when the request carried InvokeEndpoint's ``InferenceId``
  (header ``X-Amzn-SageMaker-Inference-Id``; the id Model Monitor matches ground truth on).
- **Encoding** (API reference, DataCaptureConfig.CaptureContentTypeHeader: "If no headers are
  specified SageMaker AI will by default base64 encode when capturing the data"): a payload whose
  media type (the content type before any ``;`` parameter, case-insensitive: AWS's sample captures
  ``text/csv; charset=utf-8`` as ``CSV``) is in ``CsvContentTypes`` is kept as text with encoding
  ``CSV``, in ``JsonContentTypes`` as text with ``JSON``, anything else (or bytes that are not
  UTF-8) base64 with ``BASE64``.
- **CaptureOptions** (botocore CaptureMode enum ``Input | Output | InputAndOutput``): which of
  ``endpointInput`` / ``endpointOutput`` each line holds.
- **Sampling**: ``InitialSamplingPercentage`` is "The percentage of requests SageMaker AI will
  capture"; AWS does not document how requests are chosen. Here each request is captured
  independently with probability percentage/100, drawn from a ``random.Random(seed)`` under a lock,
  so a seeded server captures the same requests in the same order every time (0 captures none,
  100 every one).
- **Delivery**: SageMaker buffers captures and writes files periodically (the guide: "The delivery
  of capture data to Amazon S3 can require a couple of minutes"). Here lines are buffered in memory
  per (variant, hour) and each buffer is written as one new object, atomically (store.put_bytes:
  temporary file and rename), every ``flush_seconds``, when it holds ``max_records`` lines, and on
  close; concurrent requests only append under a lock, so no file is ever seen half-written and no
  line is lost or interleaved.

Local choices (not documented SageMaker behaviour): only answers with status 200 are captured (an
error answer carries no prediction to monitor); ``KmsKeyId`` is ignored (the local store is not
encrypted).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .store import ObjectStore

CSV, JSON, BASE64 = "CSV", "JSON", "BASE64"
CAPTURE_MODES = ("Input", "Output", "InputAndOutput")
FLUSH_SECONDS = 5.0
MAX_RECORDS = 1000


class CaptureConfigError(ValueError):
    """A DataCaptureConfig that SageMaker would not accept (or that names nothing to capture)."""


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value: before any ``;``, stripped, lower case."""
    return (content_type or "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class CaptureConfig:
    """An endpoint config's DataCaptureConfig, parsed."""

    destination: str
    percentage: int
    capture_input: bool
    capture_output: bool
    csv_types: frozenset[str] = frozenset()
    json_types: frozenset[str] = frozenset()

    @classmethod
    def from_api(cls, config: Mapping[str, Any] | None) -> CaptureConfig | None:
        """The config of a DescribeEndpointConfig ``DataCaptureConfig``; None when capture is off
        (no config, or ``EnableCapture`` false: the member "defaults to enabled")."""
        if not config or not config.get("EnableCapture", True):
            return None
        try:
            destination = str(config["DestinationS3Uri"]).rstrip("/")
            percentage = config["InitialSamplingPercentage"]
            modes = [str(option["CaptureMode"]) for option in config["CaptureOptions"]]
        except (KeyError, TypeError) as err:
            raise CaptureConfigError(f"DataCaptureConfig lacks {err}") from None
        if not isinstance(percentage, int) or isinstance(percentage, bool) or not 0 <= percentage <= 100:
            raise CaptureConfigError(
                f"DataCaptureConfig.InitialSamplingPercentage must be an integer 0-100, got {percentage!r}"
            )
        unknown = sorted(set(modes) - set(CAPTURE_MODES))
        if unknown or not modes:
            raise CaptureConfigError(
                f"DataCaptureConfig.CaptureOptions CaptureMode must be one of {', '.join(CAPTURE_MODES)}, "
                f"got {unknown or modes}"
            )
        if not destination.startswith("s3://"):
            raise CaptureConfigError(
                f"DataCaptureConfig.DestinationS3Uri must be an s3:// URI locally, got {destination!r}"
            )
        header = config.get("CaptureContentTypeHeader") or {}
        return cls(
            destination=destination,
            percentage=percentage,
            capture_input=bool({"Input", "InputAndOutput"} & set(modes)),
            capture_output=bool({"Output", "InputAndOutput"} & set(modes)),
            csv_types=frozenset(media_type(t) for t in header.get("CsvContentTypes") or []),
            json_types=frozenset(media_type(t) for t in header.get("JsonContentTypes") or []),
        )

    def encode(self, payload: bytes, content_type: str | None, mode: str) -> dict[str, str]:
        """One ``endpointInput`` / ``endpointOutput`` member for ``payload``."""
        kind = media_type(content_type)
        encoding = CSV if kind in self.csv_types else JSON if kind in self.json_types else BASE64
        if encoding != BASE64:
            try:
                data = payload.decode("utf-8")
            except UnicodeDecodeError:
                encoding = BASE64
        if encoding == BASE64:
            data = base64.b64encode(payload).decode("ascii")
        return {"observedContentType": content_type or "", "mode": mode, "data": data, "encoding": encoding}


def inference_time(moment: dt.datetime) -> str:
    """``2022-02-14T17:25:49Z``: UTC to the second, as in AWS's sample captures."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Buffer:
    first: dt.datetime
    lines: list[str] = field(default_factory=list)


class CaptureWriter:
    """Buffers captured invocations of one endpoint and writes them as capture files (see the
    module docstring). Thread-safe; call ``close()`` to write what is buffered."""

    def __init__(
        self,
        store: ObjectStore,
        endpoint: str,
        config: CaptureConfig,
        *,
        seed: int | None = None,
        flush_seconds: float = FLUSH_SECONDS,
        max_records: int = MAX_RECORDS,
        clock: Callable[[], dt.datetime] | None = None,
    ):
        self.store, self.endpoint, self.config = store, endpoint, config
        self.max_records = max_records
        self._random = random.Random(seed)
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._lock = threading.Lock()
        self._buffers: dict[tuple[str, str], _Buffer] = {}
        self._written: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if flush_seconds > 0:
            self._thread = threading.Thread(
                target=self._flush_periodically, args=(flush_seconds,), daemon=True, name="capture-flush"
            )
            self._thread.start()

    @property
    def written(self) -> list[str]:
        """The URIs of the capture files written so far, in order."""
        with self._lock:
            return list(self._written)

    def sampled(self) -> bool:
        """Whether to capture the next request (probability InitialSamplingPercentage / 100)."""
        with self._lock:
            return self._random.random() * 100 < self.config.percentage

    def record(
        self,
        variant: str,
        request: tuple[bytes, str | None],
        response: tuple[bytes, str | None],
        inference_id: str | None = None,
    ) -> None:
        """Buffer one invocation (its request and response payloads with their content types)."""
        moment = self._clock()
        data: dict[str, Any] = {}
        if self.config.capture_input:
            data["endpointInput"] = self.config.encode(request[0], request[1], "INPUT")
        if self.config.capture_output:
            data["endpointOutput"] = self.config.encode(response[0], response[1], "OUTPUT")
        metadata = {"eventId": str(uuid.uuid4()), "inferenceTime": inference_time(moment)}
        if inference_id:
            metadata["inferenceId"] = inference_id
        line = json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": "0"})
        key = (variant, moment.strftime("%Y/%m/%d/%H"))
        with self._lock:
            buffer = self._buffers.setdefault(key, _Buffer(moment))
            buffer.lines.append(line)
            full = len(buffer.lines) >= self.max_records
        if full:
            self.flush(only=key)

    def _uri(self, variant: str, hour: str, first: dt.datetime) -> str:
        name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        return f"{self.config.destination}/{self.endpoint}/{variant}/{hour}/{name}"

    def flush(self, only: tuple[str, str] | None = None) -> list[str]:
        """Write each buffer (or the one ``only`` names) as a new capture file; their URIs."""
        with self._lock:
            keys = [only] if only is not None else list(self._buffers)
            taken = [(k, self._buffers.pop(k)) for k in keys if k in self._buffers]
        uris = []
        for (variant, hour), buffer in taken:
            uri = self._uri(variant, hour, buffer.first)
            self.store.put_bytes(uri, ("\n".join(buffer.lines) + "\n").encode())
            uris.append(uri)
        with self._lock:
            self._written += uris
        return uris

    def _flush_periodically(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            self.flush()

    def close(self) -> list[str]:
        """Stop the periodic flush and write what is buffered; the URIs written now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.flush()
