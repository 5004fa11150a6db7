"""Traffic for the monitor tests: a split sent through `serve` with capture on, a shifted copy of
it, its ground truth in Model Monitor's format, capture lines written by hand (``record``,
``member``), and `lgbm-pipeline monitor` run in-process.
(A plain module: tests/conftest.py puts tests/ on sys.path, so it imports as ``monitor.streams``.)"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import threading
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.serve import make_server
from lgbm_pipeline_compiler.local.store import ObjectStore
from lgbm_pipeline_compiler.local.variants import load_endpoint

ROWS_PER_REQUEST = 50
AGE_SHIFT = 20
REMAPPED = ("Workclass", "Private", "Self-emp-not-inc")
"""The shifted stream: ages + 20 years, and Workclass ``Private`` (about 70% of rows) sent as
``Self-emp-not-inc`` (a value the baseline knows: a drift, not a domain violation)."""


def read_split(folder: Path) -> pd.DataFrame:
    """A preprocessing split (header, target first) as text, missing values as empty text."""
    files = sorted(folder.glob("*.csv"))
    assert files, f"no CSV in {folder}"
    return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in files], ignore_index=True)


def send(
    port: int, frame: pd.DataFrame, features: list[str], target: str, prefix: str
) -> dict[str, list[str]]:
    """The frame's features as CSV requests of ROWS_PER_REQUEST rows, each with an inference id;
    returns each id's ground-truth labels."""
    truth = {}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for start in range(0, len(frame), ROWS_PER_REQUEST):
        rows = frame.iloc[start : start + ROWS_PER_REQUEST]
        body = rows[features].to_csv(header=False, index=False).encode()
        inference_id = f"{prefix}-{start}"
        headers = {
            "Content-Type": "text/csv",
            "Accept": "text/csv",
            "X-Amzn-SageMaker-Inference-Id": inference_id,
        }
        connection.request("POST", "/invocations", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        assert response.status == 200, answer
        truth[inference_id] = list(rows[target])
    connection.close()
    return truth


def serve_and_send(
    work: Path, endpoint_name: str, frame: pd.DataFrame, features: list[str], target: str, prefix: str
) -> dict[str, list[str]]:
    """Serve the endpoint, send ``frame``, stop (which writes the buffered capture files)."""
    endpoint = load_endpoint(LocalSageMaker(work), ObjectStore(work), endpoint_name, seed=1, flush_seconds=0)
    server = make_server(endpoint, port=0, access_log=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        return send(server.server_address[1], frame, features, target, prefix)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        endpoint.close()


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["Age"] = (pd.to_numeric(out["Age"]) + AGE_SHIFT).astype(str)
    column, old, new = REMAPPED
    out[column] = out[column].replace(old, new)
    return out


def ground_truth(path: Path, truth: dict[str, list[str]]) -> Path:
    """Model Monitor ground-truth records, one per request: its rows' labels as CSV lines."""
    records = [
        {
            "groundTruthData": {"data": "\n".join(labels), "encoding": "CSV"},
            "eventMetadata": {"eventId": key},
            "eventVersion": "0",
        }
        for key, labels in truth.items()
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def record(request: dict, answer: dict, event: str, time: str, inference_id: str | None = None) -> str:
    """One data-capture line (SageMaker's format) of a request and its answer."""
    metadata = {
        "eventId": event,
        "inferenceTime": time,
        **({"inferenceId": inference_id} if inference_id else {}),
    }
    return json.dumps(
        {
            "captureData": {"endpointInput": request, "endpointOutput": answer},
            "eventMetadata": metadata,
            "eventVersion": "0",
        }
    )


def member(mode: str, content_type: str, data: bytes, encoding: str) -> dict:
    """A capture line's endpointInput or endpointOutput."""
    text = base64.b64encode(data).decode() if encoding == "BASE64" else data.decode()
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}


def monitor(*args: str) -> SimpleNamespace:
    """`lgbm-pipeline monitor ARGS` in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["monitor", *args])
    return SimpleNamespace(code=code, stdout=out.getvalue(), stderr=err.getvalue())


def read(out: Path, name: str) -> dict:
    return json.loads((out / name).read_text())
