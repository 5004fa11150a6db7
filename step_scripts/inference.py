"""SageMaker serving handlers for the LightGBM model written by train.py.

The scikit-learn 1.2-1 serving container (sagemaker-containers 2.8.6.post2: gunicorn, Flask 1.1.1)
imports this file from ``/opt/ml/model/code``, calls ``model_fn`` once, then
``transform_fn(model, request_body, content_type, accept)`` per request.

Requests: ``text/csv`` rows without header, one value per schema feature in order (missing =
empty or ``?``), or ``application/json`` as ``{"instances": [...]}`` or a bare list, whose items
are records (``{"Age": 39, ...}``) or lists in feature order. Responses: ``text/csv`` lines
``probability,label`` (probability first, for Clarify) or ``application/json``
``{"predictions": [{"probability": p, "label": 0|1}, ...]}``; label = ``probability >= threshold``.
A malformed request is answered 400 (bad body), 406 (accept type) or 415 (content type) with a
one-line ``text/plain`` reason.

Why ``transform_fn`` (sources: aws/sagemaker-containers v2.8.6.post2, aws/sagemaker-scikit-learn-
container branch 1.2-1, pallets/flask 1.1.1):

- Every user function is wrapped so that any exception it raises is re-raised as ``ClientError``
  (``_transformer.py:150-172``, ``_functions.py:91-95``). Nothing catches it on the way out
  (``_transformer.py:198-207``), so Flask answers 500 (``app.py:1817-1820``, ``1857-1880``): a status
  carried by an exception is lost. The 415/406 branches of the default chain
  (``_transformer.py:226-236``) catch only ``UnsupportedFormatError``, which the wrapper has
  already turned into ``ClientError``.
- What ``transform_fn`` returns is the response: a ``worker.Response`` as is, with its status; a
  tuple ``(body, content_type)`` becomes a 200 (``_transformer.py:203-207``). So client errors are
  answered here, with the container's ``worker.Response`` (``_worker.py:118-139``).
- The container refuses to start when ``transform_fn`` comes with ``input_fn``, ``predict_fn`` or
  ``output_fn`` (``serving.py:90-101``: ``UserError``): the steps are named ``parse_input``,
  ``predict`` and ``encode_output`` here.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from step_common import Model, load_model, to_model_frame

try:  # the serving container's response class (Flask), as serving.py:20-21 imports it
    from sagemaker_containers.beta.framework import worker

    Response = worker.Response
except ImportError:  # elsewhere (tests, `lgbm-pipeline serve`): the attributes the server reads

    class Response:  # type: ignore[no-redef]
        """What a ``worker.Response(response=, status=, mimetype=)`` answers with: ``status_code``,
        ``mimetype``, ``content_type`` (werkzeug adds ``; charset=utf-8`` to text types) and
        ``get_data()``; the default mimetype is JSON, as in ``_worker.py:121``."""

        default_mimetype = "application/json"

        def __init__(
            self, response: str | bytes | None = None, status: int = 200, mimetype: str | None = None
        ):
            body = response if response is not None else b""
            self._data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            self.status_code = int(status)
            self.mimetype = mimetype or self.default_mimetype
            text = self.mimetype.startswith("text/")
            self.content_type = f"{self.mimetype}; charset=utf-8" if text else self.mimetype

        def get_data(self) -> bytes:
            return self._data


CSV = "text/csv"
JSON = "application/json"
MISSING_TOKENS = ("", "?")


class InferenceError(ValueError):
    """A client error: bad request body (400), unacceptable accept type (406), bad content type (415).
    ``transform_fn`` answers it with that status; raised from the other functions."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass
class Batch:
    """Parsed request rows: ``columns`` is None when values are positional (feature order)."""

    rows: list[list[Any]]
    columns: list[str] | None = None


@dataclass
class Prediction:
    probabilities: np.ndarray
    labels: np.ndarray


def model_fn(model_dir: str) -> Model:
    """Load model.txt, schema.json and metadata.json (threshold) from the model dir."""
    return load_model(Path(model_dir))


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _text(body: str | bytes | bytearray) -> str:
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise InferenceError("request body is not valid UTF-8") from None
    if not isinstance(body, str):
        raise InferenceError(f"request body must be text or bytes, got {type(body).__name__}")
    if not body.strip():
        raise InferenceError("request body is empty")
    return body


def _value(value: Any, where: str) -> Any:
    """Normalise one request value: strings stripped, empty/``?``/null -> None."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return None if value in MISSING_TOKENS else value
    if isinstance(value, (int, float)):
        if isinstance(value, int) and abs(value) > sys.float_info.max:  # float() would raise OverflowError
            raise InferenceError(
                f"{where}: an integer of {len(str(abs(value)))} digits is out of range (at most about 1.8e308)"
            )
        return value
    raise InferenceError(
        f"{where}: unsupported value {json.dumps(value)[:40]} (expected number, string or null)"
    )


def parse_csv(text: str) -> Batch:
    """CSV rows without header; every row must have the same number of fields."""
    try:
        rows = [
            row for row in csv.reader(io.StringIO(text)) if row and not (len(row) == 1 and not row[0].strip())
        ]
    except csv.Error as exc:
        raise InferenceError(f"cannot parse CSV: {exc}") from None
    if not rows:
        raise InferenceError("request body has no CSV rows")
    for number, row in enumerate(rows, start=1):
        if len(row) != len(rows[0]):
            raise InferenceError(f"CSV row {number} has {len(row)} fields but row 1 has {len(rows[0])}")
    return Batch(rows=[[_value(v, f"row {i}") for v in row] for i, row in enumerate(rows, start=1)])


def parse_json(text: str) -> Batch:
    """``{"instances": [...]}`` or a list; items all records (dicts) or all lists."""
    try:
        payload = json.loads(text)
    except RecursionError:  # the decoder's bound on nesting (sys.getrecursionlimit()): no crash, no hang
        raise InferenceError(
            "JSON is nested too deeply: send a list of instances, each a record or a list"
        ) from None
    except ValueError as exc:
        raise InferenceError(f"cannot parse JSON: {exc}") from None
    instances = payload.get("instances") if isinstance(payload, dict) else payload
    if not isinstance(instances, list):
        raise InferenceError('JSON body must be {"instances": [...]} or a list of instances')
    if not instances:
        raise InferenceError("JSON body has no instances")
    if all(isinstance(item, dict) for item in instances):
        columns = list(dict.fromkeys(key for item in instances for key in item))
        rows = [
            [_value(item.get(c), f"instance {i}, '{c}'") for c in columns]
            for i, item in enumerate(instances, 1)
        ]
        present = [[c in item for c in columns] for item in instances]
        for i, flags in enumerate(present, start=1):
            if not all(flags):
                absent = [c for c, ok in zip(columns, flags) if not ok]
                raise InferenceError(
                    f"instance {i} is missing key(s) {absent} (use null for a missing value)"
                )
        return Batch(rows=rows, columns=columns)
    if all(isinstance(item, list) for item in instances):
        for i, item in enumerate(instances, start=1):
            if len(item) != len(instances[0]):
                raise InferenceError(
                    f"instance {i} has {len(item)} values but instance 1 has {len(instances[0])}"
                )
        return Batch(rows=[[_value(v, f"instance {i}") for v in item] for i, item in enumerate(instances, 1)])
    raise InferenceError("JSON instances must be all objects (records) or all lists")


def parse_input(request_body: str | bytes, content_type: str) -> Batch:
    """Parse a request body into a Batch; raises InferenceError (400/415) when malformed."""
    media = _media_type(content_type)
    if media not in (CSV, JSON):
        raise InferenceError(f"unsupported content type '{content_type}'; use {CSV} or {JSON}", 415)
    text = _text(request_body)
    return parse_csv(text) if media == CSV else parse_json(text)


def to_frame(batch: Batch, schema: dict) -> pd.DataFrame:
    """Align a Batch with the schema's features (positional rows must have exactly one value per feature)."""
    features = list(schema["features"])
    if batch.columns is None:
        width = len(batch.rows[0])
        if width != len(features):
            hint = " (drop the target column)" if width == len(features) + 1 else ""
            raise InferenceError(
                f"expected {len(features)} values per row [{', '.join(features)}], got {width}{hint}"
            )
        return pd.DataFrame(batch.rows, columns=features, dtype=object)
    missing = [name for name in features if name not in batch.columns]
    if missing:
        raise InferenceError(f"instances are missing feature(s) {missing}")
    return pd.DataFrame(batch.rows, columns=batch.columns, dtype=object)[features]


def _category(value: Any) -> str | None:
    """A request value as a categorical level's text (``3`` and ``3.0`` -> ``"3"``); missing -> None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def predict_proba(model: Model, frame: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class for each row of a frame holding the schema's features."""
    texts = frame.copy()
    for name in model.schema["categorical"]:
        texts[name] = [_category(v) for v in frame[name]]
    try:
        features = to_model_frame(texts, model.schema)
    except ValueError as exc:  # a value that is not a number in a numeric feature
        raise InferenceError(str(exc)) from None
    return np.asarray(model.booster.predict(features), dtype="float64")


def predict(data: Batch, model: Model) -> Prediction:
    probabilities = predict_proba(model, to_frame(data, model.schema))
    return Prediction(probabilities=probabilities, labels=(probabilities >= model.threshold).astype("int64"))


def _accept_type(accept: str | None) -> str:
    for part in (accept or "").split(","):
        media = _media_type(part)
        if media in (CSV, JSON):
            return media
        if media in ("", "*/*", "application/*"):
            return JSON
    raise InferenceError(f"unsupported accept type '{accept}'; use {CSV} or {JSON}", 406)


def encode_output(prediction: Prediction, accept: str | None) -> tuple[str, str]:
    """Serialise predictions: (body, content type); raises InferenceError (406) for the accept type."""
    media = _accept_type(accept)
    pairs = [(float(p), int(label)) for p, label in zip(prediction.probabilities, prediction.labels)]
    if media == CSV:
        return "".join(f"{p!r},{label}\n" for p, label in pairs), CSV
    return json.dumps({"predictions": [{"probability": p, "label": label} for p, label in pairs]}), JSON


def handle(body: str | bytes, content_type: str, accept: str, model: Model) -> tuple[str, str]:
    """parse_input -> predict -> encode_output: (body, content type); raises InferenceError."""
    return encode_output(predict(parse_input(body, content_type), model), accept)


def transform_fn(model: Model, request_body: str | bytes, content_type: str, accept: str) -> Response:
    """The container's per-request entry point (``_transformer.py:198-207``): the predictions with
    status 200, or a client error's status with its reason as one ``text/plain`` line. Any other
    exception propagates (the container answers 500)."""
    try:
        body, media = handle(request_body, content_type, accept, model)
    except InferenceError as err:
        reason = " ".join(str(err).splitlines())
        return Response(response=f"{reason}\n", status=err.status_code, mimetype="text/plain")
    return Response(response=body, status=200, mimetype=media)
