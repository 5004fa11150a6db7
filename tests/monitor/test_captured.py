"""Reading captured traffic back (monitor/captured.py) and ground truth (monitor/cli.py), on small
exact cases: SageMaker's three encodings, inference.py's two answer formats, Model Monitor's merge key."""

from __future__ import annotations

import base64
import json

import pandas as pd
import pytest
from monitor.streams import member, record

from lgbm_pipeline_compiler.local.store import ObjectStore
from lgbm_pipeline_compiler.monitor.captured import CaptureError, capture_files, parse_output, read_captured
from lgbm_pipeline_compiler.monitor.checks import ground_truth_labels
from lgbm_pipeline_compiler.monitor.cli import read_ground_truth

SCHEMA = {
    "features": ["Age", "Sex"],
    "categorical": {"Sex": ["Female", "Male"]},
    "numeric": ["Age"],
    "target": "Target",
}


@pytest.fixture
def store(tmp_path) -> ObjectStore:
    store = ObjectStore(tmp_path)
    lines = [
        record(member("INPUT", "text/csv", b"39,Male\n50,?\n", "CSV"),
               member("OUTPUT", "text/csv; charset=utf-8", b"0.25,0\n0.75,1\n", "CSV"), "e1", "2026-11-30T10:00:00Z", "r1"),
        record(member("INPUT", "application/json", b'{"instances": [{"Age": 20, "Sex": "Female"}]}', "JSON"),
               member("OUTPUT", "application/json", b'{"predictions": [{"probability": 0.5, "label": 1}]}', "BASE64"),
               "e2", "2026-11-30T11:00:00Z"),
    ]  # fmt: skip
    store.put_bytes(
        "s3://b/capture/ep/AllTraffic/2026/11/30/10/00-00-000-x.jsonl", ("\n".join(lines) + "\n").encode()
    )
    return store


def test_captured_rows_are_the_requests_as_the_endpoint_parsed_them(store):
    files = capture_files(store, "s3://b/capture", "ep")
    assert [(f.uri, f.variant) for f in files] == [
        ("s3://b/capture/ep/AllTraffic/2026/11/30/10/00-00-000-x.jsonl", "AllTraffic")
    ]
    frame = read_captured(files, SCHEMA)
    assert frame[["Age", "Sex", "probability", "label", "_event_id", "_inference_id"]].to_dict("records") == [
        {
            "Age": "39",
            "Sex": "Male",
            "probability": 0.25,
            "label": 0,
            "_event_id": "e1",
            "_inference_id": "r1",
        },
        {"Age": "50", "Sex": None, "probability": 0.75, "label": 1, "_event_id": "e1", "_inference_id": "r1"},
        {
            "Age": 20,
            "Sex": "Female",
            "probability": 0.5,
            "label": 1,
            "_event_id": "e2",
            "_inference_id": None,
        },
    ]
    import datetime as dt

    later = read_captured(files, SCHEMA, since=dt.datetime(2026, 11, 30, 10, 30, tzinfo=dt.timezone.utc))
    assert list(later["_event_id"]) == ["e2"]


def test_an_answer_that_does_not_match_its_request_is_refused(tmp_path):
    store = ObjectStore(tmp_path)
    line = record(
        member("INPUT", "text/csv", b"39,Male\n", "CSV"),
        member("OUTPUT", "text/csv", b"0.1,0\n0.2,0\n", "CSV"),
        "e",
        "2026-11-30T10:00:00Z",
    )
    store.put_bytes("s3://b/c/ep/A/2026/11/30/10/f.jsonl", line.encode())
    with pytest.raises(CaptureError, match=r"f\.jsonl line 1: 1 request rows but 2 predictions$"):
        read_captured(capture_files(store, "s3://b/c", "ep"), SCHEMA)


def test_parse_output_reads_inference_py_answers_and_refuses_others():
    assert parse_output(b"0.1,0\n0.9,1\n", "text/csv", "w") == [(0.1, 0), (0.9, 1)]
    with pytest.raises(
        CaptureError, match="answer content type 'text/plain' is not text/csv or application/json"
    ):
        parse_output(b"x", "text/plain", "w")


def test_ground_truth_merges_on_inference_id_else_event_id(tmp_path):
    path = tmp_path / "truth.jsonl"
    path.write_text(
        json.dumps({"groundTruthData": {"data": "1\n0", "encoding": "CSV"}, "eventMetadata": {"eventId": "r1"}, "eventVersion": "0"}) + "\n"
        + json.dumps({"groundTruthData": {"data": base64.b64encode(b"1").decode(), "encoding": "BASE64"}, "eventMetadata": {"eventId": "e2"}, "eventVersion": "0"}) + "\n"
    )  # fmt: skip
    truth = read_ground_truth(path)
    assert truth == {"r1": ["1", "0"], "e2": ["1"]}
    captured = pd.DataFrame(
        {"_inference_id": ["r1", "r1", None, None], "_event_id": ["e1", "e1", "e2", "e3"]}
    )
    assert list(ground_truth_labels(captured, truth)) == ["1", "0", "1", None]
    with pytest.raises(
        ValueError, match="ground truth for event r1 has 2 label\\(s\\) but the request had 1 row\\(s\\)"
    ):
        ground_truth_labels(captured.iloc[1:], truth)
