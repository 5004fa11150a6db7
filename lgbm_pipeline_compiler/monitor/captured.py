"""Captured traffic: SageMaker data-capture files read back into rows of features and predictions.

The files are those `lgbm-pipeline serve` (local/capture.py) and SageMaker write:
``{destination}/{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl``, one JSON line per invocation with
``captureData.endpointInput`` / ``endpointOutput`` ({observedContentType, mode, data, encoding:
CSV | JSON | BASE64}) and ``eventMetadata`` ({eventId, inferenceTime, inferenceId?}). A request's
body is parsed by the model's own inference.py (``parse_input``, ``to_frame``: CSV rows without
header in feature order, or JSON instances), so a row is read exactly as the endpoint read it; its
answer is inference.py's output (``text/csv`` lines ``probability,label`` or JSON
``{"predictions": [{"probability", "label"}]}``).

A line without both members (CaptureOptions of only Input or Output), an answer whose row count
differs from its request's, or a body the model could not parse is refused with a one-line
CaptureError naming the file and line: the monitor compares only what it can read whole.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..local.store import ObjectStore
from .blobs import BlobError, BlobSource, as_blobs, folder
from .bundled import module

EVENT_ID, INFERENCE_ID, TIME, VARIANT = "_event_id", "_inference_id", "_inference_time", "_variant"
PROBABILITY, LABEL = "probability", "label"


class CaptureError(ValueError):
    """Captured data that cannot be read (or none at all)."""


@dataclass(frozen=True)
class CaptureFile:
    uri: str
    variant: str
    source: BlobSource = field(compare=False, repr=False)

    def lines(self) -> list[str]:
        """The file's lines; CaptureError naming the URI when it cannot be read."""
        try:
            return self.source.read_bytes(self.uri).decode("utf-8").splitlines()
        except BlobError as err:
            raise CaptureError(f"a capture file: {err}") from None
        except UnicodeDecodeError as err:
            raise CaptureError(f"{self.uri}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def parse_time(text: str) -> dt.datetime:
    """An ``inferenceTime`` or ``--since`` value (ISO 8601, ``Z`` or an offset; naive = UTC)."""
    moment = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def capture_files(source: BlobSource | ObjectStore, destination: str, endpoint: str) -> list[CaptureFile]:
    """Every capture file (``*.jsonl``) of ``endpoint`` under ``destination``, by key."""
    blobs = as_blobs(source)
    prefix = folder(f"{destination.rstrip('/')}/{endpoint}")
    try:
        uris = blobs.list(prefix)
    except BlobError as err:
        raise CaptureError(f"the capture files: {err}") from None
    return [
        CaptureFile(uri, uri[len(prefix) :].split("/", 1)[0], blobs) for uri in uris if uri.endswith(".jsonl")
    ]


def _payload(member: Mapping[str, Any], where: str) -> bytes:
    encoding, data = member.get("encoding"), member.get("data")
    if not isinstance(data, str):
        raise CaptureError(f"{where}: no data")
    if encoding == "BASE64":
        try:
            return base64.b64decode(data, validate=True)
        except ValueError:
            raise CaptureError(f"{where}: data is not valid base64") from None
    if encoding in ("CSV", "JSON"):
        return data.encode("utf-8")
    raise CaptureError(f"{where}: unknown encoding {encoding!r} (SageMaker writes CSV, JSON or BASE64)")


def parse_output(body: bytes, content_type: str, where: str) -> list[tuple[float, int]]:
    """(probability, label) per row of an inference.py answer."""
    media = content_type.split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if media == "text/csv":
            rows = [line.split(",") for line in text.splitlines() if line.strip()]
            return [(float(p), int(label)) for p, label in rows]
        if media == "application/json":
            return [(float(r[PROBABILITY]), int(r[LABEL])) for r in json.loads(text)["predictions"]]
    except (ValueError, KeyError, TypeError) as err:
        raise CaptureError(f"{where}: the answer is not inference.py's {media} output ({err})") from None
    raise CaptureError(f"{where}: answer content type {content_type!r} is not text/csv or application/json")


def _events(files: list[CaptureFile], since: dt.datetime | None) -> Iterator[tuple[str, dict, str]]:
    for item in files:
        for number, line in enumerate(item.lines(), 1):
            if not line.strip():
                continue
            where = f"{item.uri} line {number}"
            try:
                event = json.loads(line)
                moment = parse_time(event["eventMetadata"]["inferenceTime"])
            except (ValueError, KeyError, TypeError) as err:
                raise CaptureError(f"{where}: not a SageMaker capture record ({err})") from None
            if since is None or moment >= since:
                yield where, event, item.variant


def read_captured(
    files: list[CaptureFile], schema: Mapping[str, Any], since: dt.datetime | None = None
) -> pd.DataFrame:
    """One row per scored record: the schema's features (as the endpoint parsed them), then
    ``probability``, ``label``, and the event's id, inference id, time and variant."""
    inference = module("inference")
    frames = []
    for where, event, variant in _events(files, since):
        data = event.get("captureData") or {}
        if "endpointInput" not in data or "endpointOutput" not in data:
            raise CaptureError(
                f"{where}: the record lacks endpointInput or endpointOutput; the monitor needs both "
                "(CaptureOptions Input and Output)"
            )
        request, answer = data["endpointInput"], data["endpointOutput"]
        body = _payload(request, where)
        try:
            frame = inference.to_frame(
                inference.parse_input(body, request.get("observedContentType", "")), schema
            )
        except inference.InferenceError as err:
            raise CaptureError(f"{where}: the endpoint could not have scored this request: {err}") from None
        scores = parse_output(_payload(answer, where), answer.get("observedContentType", ""), where)
        if len(scores) != len(frame):
            raise CaptureError(f"{where}: {len(frame)} request rows but {len(scores)} predictions")
        metadata = event["eventMetadata"]
        frame = frame.assign(
            **{
                PROBABILITY: [p for p, _ in scores],
                LABEL: [label for _, label in scores],
                EVENT_ID: metadata.get("eventId"),
                INFERENCE_ID: metadata.get("inferenceId"),
                TIME: metadata["inferenceTime"],
                VARIANT: variant,
            }
        )
        frames.append(frame)
    if not frames:
        after = f" since {since.isoformat()}" if since else ""
        raise CaptureError(f"no captured requests{after}")
    return pd.concat(frames, ignore_index=True)


def features_as_text(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The captured features as the CSV text a baseline job reads (None stays missing)."""
    return pd.DataFrame(
        {name: [None if v is None else str(v) for v in frame[name]] for name in features}, index=frame.index
    )
