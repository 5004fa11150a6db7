"""`lgbm-pipeline serve` for an endpoint: production variants routed by weight or TargetVariant,
the invoked-variant header, and data capture in SageMaker's capture-file layout, over real HTTP.

Endpoint configs are created through the local control plane (CreateEndpointConfig's shape, as the
deploy handler writes them); the models are small archives whose inference.py answers with its
variant's letter, so each answer tells which variant scored it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import io
import json
import re
import tarfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.local.capture import CaptureConfig, CaptureConfigError, CaptureWriter
from lgbm_pipeline_compiler.local.control import LocalSageMaker
from lgbm_pipeline_compiler.local.serve import make_server
from lgbm_pipeline_compiler.local.store import ObjectStore
from lgbm_pipeline_compiler.local.variants import load_endpoint

LETTER = """
def model_fn(model_dir):
    return open(model_dir + "/letter.txt").read()

def transform_fn(model, body, content_type, accept):
    if body == "fail":
        raise ValueError("boom")
    if accept == "application/octet-stream":
        return bytes([0xff, 0x00]) + model.encode(), accept
    return model + ":" + (body if isinstance(body, str) else body.decode("latin-1")), "text/csv"
"""
CAPTURE = {
    "EnableCapture": True,
    "InitialSamplingPercentage": 100,
    "DestinationS3Uri": "s3://monitoring/capture",
    "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
}
KEY = re.compile(
    r"capture/(?P<endpoint>[^/]+)/(?P<variant>[^/]+)/\d{4}/\d{2}/\d{2}/\d{2}/"
    r"\d{2}-\d{2}-\d{3}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl"
)


def archive(letter: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in {"code/inference.py": LETTER, "letter.txt": letter}.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def make_endpoint(work: Path, weights: dict[str, float], capture: dict | None = None) -> LocalSageMaker:
    """Endpoint ``ep`` with one variant per letter (its weight), models from ModelDataUrl."""
    control, store = LocalSageMaker(work), ObjectStore(work)
    variants = []
    for letter, weight in weights.items():
        store.put_bytes(f"s3://models/{letter}.tar.gz", archive(letter))
        control.create_model(
            ModelName=f"m-{letter}",
            PrimaryContainer={"Image": "sklearn", "ModelDataUrl": f"s3://models/{letter}.tar.gz"},
        )
        variants.append(
            {
                "VariantName": letter,
                "ModelName": f"m-{letter}",
                "InitialVariantWeight": weight,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        )
    request = {"EndpointConfigName": "ep-config", "ProductionVariants": variants}
    if capture is not None:
        request["DataCaptureConfig"] = capture
    control.create_endpoint_config(**request)
    control.create_endpoint(EndpointName="ep", EndpointConfigName="ep-config")
    return control


@contextlib.contextmanager
def serving(work: Path, seed: int = 7, flush_seconds: float = 0) -> Iterator[SimpleNamespace]:
    endpoint = load_endpoint(
        LocalSageMaker(work), ObjectStore(work), "ep", seed=seed, flush_seconds=flush_seconds
    )
    server = make_server(endpoint, port=0, access_log=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(port=server.server_address[1], endpoint=endpoint)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        endpoint.close()


def post(connection: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> SimpleNamespace:
    connection.request("POST", "/invocations", body=body, headers=headers)
    response = connection.getresponse()
    return SimpleNamespace(status=response.status, body=response.read(), headers=response.headers)


def captured(work: Path) -> dict[str, list[dict]]:
    """Every capture file under s3://monitoring/capture: key (relative) -> its parsed lines."""
    root = work / "s3" / "monitoring"
    return {
        p.relative_to(root).as_posix(): [json.loads(line) for line in p.read_text().splitlines()]
        for p in sorted(root.rglob("*.jsonl"))
    }


# --- routing --------------------------------------------------------------------------------------


def test_weights_80_20_over_1000_requests_route_within_5_points(tmp_path):
    make_endpoint(tmp_path, {"A": 0.8, "B": 0.2})
    with serving(tmp_path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        counts: Counter[str] = Counter()
        for i in range(1000):
            answer = post(connection, f"{i}".encode(), {"Content-Type": "text/csv"})
            variant = answer.headers["x-Amzn-Invoked-Production-Variant"]
            assert answer.status == 200 and answer.body.decode() == f"{variant}:{i}"  # that variant scored it
            counts[variant] += 1
        connection.close()
    assert sum(counts.values()) == 1000
    assert abs(counts["A"] / 1000 - 0.8) <= 0.05, counts
    assert abs(counts["B"] / 1000 - 0.2) <= 0.05, counts


def test_the_same_seed_routes_the_same_sequence(tmp_path):
    make_endpoint(tmp_path, {"A": 1, "B": 1, "C": 2})
    runs = []
    for _ in range(2):
        endpoint = load_endpoint(LocalSageMaker(tmp_path), ObjectStore(tmp_path), "ep", seed=3)
        runs.append([endpoint.choose().name for _ in range(200)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"A", "B", "C"}


def test_target_variant_overrides_the_weights_and_an_unknown_one_is_400(tmp_path):
    make_endpoint(tmp_path, {"A": 1.0, "B": 0.0})
    with serving(tmp_path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        plain = [post(connection, b"x", {"Content-Type": "text/csv"}) for _ in range(50)]
        assert {a.headers["x-Amzn-Invoked-Production-Variant"] for a in plain} == {"A"}  # B: weight 0
        targeted = post(
            connection, b"x", {"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "B"}
        )
        assert (targeted.status, targeted.body) == (200, b"B:x")
        assert targeted.headers["x-Amzn-Invoked-Production-Variant"] == "B"
        unknown = post(connection, b"x", {"Content-Type": "text/csv", "X-Amzn-SageMaker-Target-Variant": "Z"})
        assert unknown.status == 400
        assert unknown.body.decode() == (
            "TargetVariant 'Z' is not a production variant of endpoint ep (its variants: A, B)\n"
        )
        assert "x-Amzn-Invoked-Production-Variant" not in unknown.headers
        connection.close()


def test_the_header_names_are_invoke_endpoints():
    """botocore's sagemaker-runtime model: where InvokeEndpoint's TargetVariant, InferenceId and
    InvokedProductionVariant travel."""
    import botocore.session

    from lgbm_pipeline_compiler.local import variants

    operation = (
        botocore.session.get_session()
        .get_service_model("sagemaker-runtime")
        .operation_model("InvokeEndpoint")
    )
    inputs, outputs = operation.input_shape.members, operation.output_shape.members
    assert inputs["TargetVariant"].serialization["name"] == variants.TARGET_VARIANT_HEADER
    assert inputs["InferenceId"].serialization["name"] == variants.INFERENCE_ID_HEADER
    assert outputs["InvokedProductionVariant"].serialization["name"] == variants.INVOKED_VARIANT_HEADER


# --- capture --------------------------------------------------------------------------------------


def test_capture_files_have_sagemakers_layout_and_lines(tmp_path):
    make_endpoint(tmp_path, {"A": 1.0}, CAPTURE)
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    with serving(tmp_path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        assert post(connection, b"39,Private\n", {"Content-Type": "text/csv"}).status == 200
        headers = {"Content-Type": "application/json", "X-Amzn-SageMaker-Inference-Id": "row-7"}
        assert post(connection, b'{"instances": [[1]]}', headers).status == 200
        raw = {"Content-Type": "application/x-npy", "Accept": "application/octet-stream"}
        assert post(connection, b"\x93NUMPY", raw).status == 200
        assert post(connection, b"fail", {"Content-Type": "text/csv"}).status == 500  # not captured
        connection.close()
    end = dt.datetime.now(dt.timezone.utc)
    files = captured(tmp_path)
    assert len(files) == 1
    ((key, lines),) = files.items()
    match = KEY.fullmatch(key)
    assert match and (match["endpoint"], match["variant"]) == ("ep", "A"), key
    assert [line["captureData"]["endpointInput"] for line in lines] == [
        {"observedContentType": "text/csv", "mode": "INPUT", "data": "39,Private\n", "encoding": "CSV"},
        {"observedContentType": "application/json", "mode": "INPUT", "data": '{"instances": [[1]]}', "encoding": "JSON"},
        {"observedContentType": "application/x-npy", "mode": "INPUT", "data": base64.b64encode(b"\x93NUMPY").decode(), "encoding": "BASE64"},
    ]  # fmt: skip
    assert [line["captureData"]["endpointOutput"] for line in lines] == [
        {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": "A:39,Private\n", "encoding": "CSV"},
        {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": 'A:{"instances": [[1]]}', "encoding": "CSV"},
        {"observedContentType": "application/octet-stream", "mode": "OUTPUT", "data": base64.b64encode(b"\xff\x00A").decode(), "encoding": "BASE64"},
    ]  # fmt: skip
    assert [line["eventVersion"] for line in lines] == ["0"] * 3
    assert [line["eventMetadata"].get("inferenceId") for line in lines] == [None, "row-7", None]
    assert len({line["eventMetadata"]["eventId"] for line in lines}) == 3
    for line in lines:
        assert re.fullmatch(r"[0-9a-f-]{36}", line["eventMetadata"]["eventId"])
        moment = dt.datetime.strptime(line["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ")
        assert start <= moment.replace(tzinfo=dt.timezone.utc) <= end
    hour = dt.datetime.strptime(lines[0]["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%SZ")
    assert f"/{hour:%Y/%m/%d/%H}/" in key


def test_capture_options_and_no_content_type_header_base64_everything(tmp_path):
    config = {**CAPTURE, "CaptureOptions": [{"CaptureMode": "Output"}]}
    del config["CaptureContentTypeHeader"]
    make_endpoint(tmp_path, {"A": 1.0}, config)
    with serving(tmp_path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        assert post(connection, b"1,2", {"Content-Type": "text/csv"}).status == 200
        connection.close()
    (lines,) = captured(tmp_path).values()
    assert lines[0]["captureData"] == {
        "endpointOutput": {
            "observedContentType": "text/csv; charset=utf-8",
            "mode": "OUTPUT",
            "data": base64.b64encode(b"A:1,2").decode(),
            "encoding": "BASE64",
        }
    }


def test_capture_is_off_when_enable_capture_is_false(tmp_path):
    make_endpoint(tmp_path, {"A": 1.0}, {**CAPTURE, "EnableCapture": False})
    with serving(tmp_path) as server:
        assert server.endpoint.capture is None
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        assert post(connection, b"1", {"Content-Type": "text/csv"}).status == 200
        connection.close()
    assert captured(tmp_path) == {}


def test_sampling_percentage_is_honoured_and_seeded(tmp_path):
    config = CaptureConfig.from_api({**CAPTURE, "InitialSamplingPercentage": 30})
    picks = []
    for _ in range(2):
        writer = CaptureWriter(ObjectStore(tmp_path), "ep", config, seed=11, flush_seconds=0)
        picks.append([writer.sampled() for _ in range(2000)])
    assert picks[0] == picks[1]
    assert abs(sum(picks[0]) / 2000 - 0.30) <= 0.03, sum(picks[0])
    for percentage, expected in ((0, 0), (100, 2000)):
        writer = CaptureWriter(
            ObjectStore(tmp_path), "ep", CaptureConfig.from_api({**CAPTURE, "InitialSamplingPercentage": percentage}),
            seed=1, flush_seconds=0,
        )  # fmt: skip
        assert sum(writer.sampled() for _ in range(2000)) == expected


def test_variants_capture_under_their_own_prefix(tmp_path):
    make_endpoint(tmp_path, {"A": 1.0, "B": 1.0}, CAPTURE)
    with serving(tmp_path) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        answers = [post(connection, f"{i}".encode(), {"Content-Type": "text/csv"}) for i in range(60)]
        connection.close()
    by_variant = Counter(a.headers["x-Amzn-Invoked-Production-Variant"] for a in answers)
    files = captured(tmp_path)
    seen: Counter[str] = Counter()
    for key, lines in files.items():
        variant = KEY.fullmatch(key)["variant"]
        for line in lines:
            assert line["captureData"]["endpointOutput"]["data"].startswith(f"{variant}:")
            seen[variant] += 1
    assert seen == by_variant and set(seen) == {"A", "B"}


def test_concurrent_requests_are_each_captured_once_in_whole_files(tmp_path):
    """200 simultaneous clients, buffers flushed every 25 records and every 50 ms: each request is
    in exactly one line, every file is complete JSON Lines."""
    make_endpoint(tmp_path, {"A": 1.0}, CAPTURE)
    with serving(tmp_path, flush_seconds=0.05) as server:
        server.endpoint.capture.max_records = 25
        start = threading.Barrier(200)
        statuses: list[int] = []

        def client(i: int) -> None:
            start.wait()
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            statuses.append(post(connection, f"req-{i}".encode(), {"Content-Type": "text/csv"}).status)
            connection.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 200
    files = captured(tmp_path)
    assert len(files) >= 8  # 200 records in files of at most 25
    inputs = [line["captureData"]["endpointInput"]["data"] for lines in files.values() for line in lines]
    assert sorted(inputs) == sorted(f"req-{i}" for i in range(200))
    assert max(len(lines) for lines in files.values()) <= 25


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"InitialSamplingPercentage": 101}, "InitialSamplingPercentage must be an integer 0-100, got 101"),
        (
            {"CaptureOptions": [{"CaptureMode": "Both"}]},
            "CaptureMode must be one of Input, Output, InputAndOutput",
        ),
        ({"DestinationS3Uri": "https://bucket/x"}, "must be an s3:// URI locally"),
    ],
)
def test_a_capture_config_that_cannot_be_served_is_refused(change, message):
    with pytest.raises(CaptureConfigError, match=re.escape(message)):
        CaptureConfig.from_api({**CAPTURE, **change})


def test_serve_cli_refuses_an_unknown_endpoint_in_one_line(tmp_path, capsys):
    make_endpoint(tmp_path, {"A": 1.0})
    code = main(["serve", "--endpoint", "nope", "--work-dir", str(tmp_path), "--port", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f'error: Could not find endpoint "nope". (endpoints under {tmp_path}: ep)\n'


def test_serve_writes_its_buffered_captures_when_stopped_with_sigterm(tmp_path):
    """`lgbm-pipeline serve` as a process: SIGTERM ends it as Ctrl-C does, after writing the
    captures it still buffers (they are flushed every 5 s otherwise)."""
    import os
    import signal
    import subprocess
    import sys

    make_endpoint(tmp_path, {"A": 1.0}, CAPTURE)
    command = [sys.executable, "-m", "lgbm_pipeline_compiler.cli", "serve", "--endpoint", "ep", "--port", "0",
               "--work-dir", str(tmp_path)]  # fmt: skip
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stderr.readline()
        port = int(re.search(r"http://127.0.0.1:(\d+) ", line).group(1))
        assert "capturing 100% of requests to s3://monitoring/capture/ep/" in line
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        assert post(connection, b"1,2", {"Content-Type": "text/csv"}).status == 200
        connection.close()
        assert captured(tmp_path) == {}  # still buffered
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert process.stderr.read().splitlines()[-1] == "wrote 1 capture file(s) on exit"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    (lines,) = captured(tmp_path).values()
    assert [line["captureData"]["endpointOutput"]["data"] for line in lines] == ["A:1,2"]
