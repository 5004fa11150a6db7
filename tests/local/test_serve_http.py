"""`lgbm-pipeline serve` under hostile input (issue 15, findings 2-4), on the session's census model
(``trained``: train.py on Adult, packed as SageMaker packs it) and, where only the server is under
test, on a module that echoes its request.

Each finding's attack is replayed as the review describes it, over real sockets on loopback:
2. a burst of simultaneous connections (200; 20 on the census model): every one answered;
3. Content-Length ``abc`` or ``-5``, a 400-digit JSON integer, JSON nested 100,000 deep, a body
   shorter than its Content-Length: an HTTP answer each, a 4xx with a one-line reason where the
   server decides, the container's answer where the model's handler does (serve_http.py says why);
4. a 50 MB body: 413 before the body is read; SageMaker's 6 MB limit to the byte.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from lgbm_pipeline_compiler.local.serve import ServingModel, make_server
from lgbm_pipeline_compiler.local.serve_http import MAX_BODY_BYTES

ROW = (
    b"39,State-gov,Bachelors,13,Never-married,Adm-clerical,Not-in-family,White,Male,2174,0,40,United-States\n"
)
CSV = {"Content-Type": "text/csv", "Accept": "text/csv"}
TOO_LARGE = f"HTTP content length exceeded {MAX_BODY_BYTES} bytes."
ECHO = """
def model_fn(model_dir):
    return "echo"

def transform_fn(model, body, content_type, accept):
    return body, "text/plain"
"""


def archive_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def started(model: ServingModel, **options) -> Iterator[SimpleNamespace]:
    server = make_server(model, port=0, **{"access_log": False, **options})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(model=model, port=server.server_address[1], server=server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def census_model(trained) -> ServingModel:
    return ServingModel(trained.archive.read_bytes())


@pytest.fixture(scope="module")
def census(census_model) -> Iterator[SimpleNamespace]:
    yield from started(census_model)


@pytest.fixture(scope="module")
def echo() -> Iterator[SimpleNamespace]:
    yield from started(ServingModel(archive_of({"code/inference.py": ECHO})))


# --- a raw HTTP/1.1 client: what a hostile client sends, byte for byte ------------------------------


def request(
    headers: dict[str, str], body: bytes = b"", path: str = "/invocations", method: str = "POST"
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def exchange(port: int, data: bytes, *, end: bool = True) -> SimpleNamespace:
    """Send ``data`` (then end our side of the connection, unless ``end`` is false) and read the
    whole answer until the server closes: status, headers, body, and the bytes after the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        if end:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return parse(b"".join(chunks))


def parse(raw: bytes) -> SimpleNamespace:
    assert raw, "the server closed the connection without an answer"
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    length = int(headers["content-length"])
    return SimpleNamespace(
        status=int(status_line.split()[1]), headers=headers, body=rest[:length], extra=rest[length:]
    )


def assert_one_line(answer: SimpleNamespace, status: int, *parts: str) -> str:
    assert answer.status == status, (answer.status, answer.body)
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    reason = answer.body.decode()
    assert reason.endswith("\n") and "\n" not in reason[:-1], reason
    for part in parts:
        assert part in reason, (part, reason)
    return reason


def assert_still_serving(server: SimpleNamespace) -> None:
    answer = exchange(server.port, request({**CSV, "Content-Length": str(len(ROW))}, ROW))
    assert (answer.status, answer.body) == (200, server.model.invoke(ROW, "text/csv", "text/csv")[2])


# --- finding 2: bursts --------------------------------------------------------------------------------


def burst(port: int, bodies: list[bytes], headers: dict[str, str]) -> list[tuple[int, bytes] | str]:
    """One client thread per body, all released at once: each opens its own connection."""
    start = threading.Barrier(len(bodies))
    answers: list[tuple[int, bytes] | str] = [""] * len(bodies)

    def client(i: int) -> None:
        start.wait()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request("POST", "/invocations", body=bodies[i], headers=headers)
            response = connection.getresponse()
            answers[i] = (response.status, response.read())
            connection.close()
        except Exception as error:  # a reset, a refused or dropped connection: the finding
            answers[i] = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_a_burst_of_200_simultaneous_connections_is_answered_in_full(echo):
    bodies = [f"client {i}\n".encode() for i in range(200)]
    answers = burst(echo.port, bodies, {"Content-Type": "text/csv"})
    failed = [a for a in answers if isinstance(a, str)]
    assert failed == [], f"{len(failed)} of 200 connections failed, e.g. {failed[:3]}"
    assert answers == [(200, body) for body in bodies]  # each client its own answer


def test_a_burst_of_20_census_requests_is_answered_in_full(census):
    answers = burst(census.port, [ROW] * 20, CSV)
    expected = census.model.invoke(ROW, "text/csv", "text/csv")
    assert expected[0] == 200
    assert answers == [(200, expected[2])] * 20


# --- finding 3: malformed requests --------------------------------------------------------------------


@pytest.mark.parametrize("length", ["abc", "-5", "+13", "13, 13", "1e3", " "])
def test_a_content_length_that_is_not_a_byte_count_is_400(census, length):
    answer = exchange(census.port, request({**CSV, "Content-Length": length}, ROW))
    value = length.strip()
    assert_one_line(answer, 400, f"Content-Length {value!r} is invalid", "non-negative decimal integer")
    assert answer.headers["connection"] == "close"
    assert_still_serving(census)


def test_a_body_shorter_than_its_content_length_is_400_not_scored(census):
    """The client sends 1000 as the length, then the row (102 bytes), then ends its side."""
    answer = exchange(census.port, request({**CSV, "Content-Length": "1000"}, ROW))
    assert_one_line(answer, 400, f"after {len(ROW)} of the 1000 body bytes its Content-Length announced")
    assert_still_serving(census)


def test_headers_that_never_end_are_400(census):
    answer = exchange(census.port, b"POST /invocations HTTP/1.1\r\nContent-Type: text/csv\r\n")
    assert_one_line(answer, 400, "inside the request headers")


def test_a_short_body_from_a_client_that_goes_quiet_is_408(census_model):
    """The same short body, the connection left open: answered when the channel times out."""
    for server in started(census_model, channel_timeout=1):
        answer = exchange(server.port, request({**CSV, "Content-Length": "1000"}, ROW), end=False)
        assert_one_line(answer, 408, "no data for 1 s", f"after {len(ROW)} of the 1000 body bytes")
        assert_still_serving(server)


def test_a_400_digit_content_length_is_413(census):
    answer = exchange(census.port, request({**CSV, "Content-Length": "9" * 400}, ROW))
    assert_one_line(answer, 413, TOO_LARGE)


HOSTILE_JSON = {
    "a 400-digit integer": json.dumps(
        {"instances": [[int("9" * 400), *ROW.decode().strip().split(",")[1:]]]}
    ),
    "arrays nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("name", list(HOSTILE_JSON))
def test_hostile_json_gets_the_containers_answer_and_the_worker_lives(census, name):
    """The body reaches the model's handler, as in SageMaker (test_serving_contract.py shows that
    invoke() answers as the container): the HTTP answer is exactly invoke()'s, whole."""
    body = HOSTILE_JSON[name].encode()
    headers = {"Content-Type": "application/json", "Accept": "text/csv"}
    answer = exchange(census.port, request({**headers, "Content-Length": str(len(body))}, body))
    expected = census.model.invoke(body, "application/json", "text/csv")
    assert (answer.status, answer.headers["content-type"], answer.body) == expected
    assert answer.extra == b""
    # inference.py refuses both as a client error (an integer beyond float range, nesting beyond the
    # decoder's bound), so SageMaker answers 400 too: one line naming what to send instead
    assert_one_line(answer, 400)
    assert_still_serving(census)


# --- finding 4: the body limit ------------------------------------------------------------------------


def test_a_50_mb_body_is_refused_from_its_headers_alone(census):
    """The answer comes before a byte of the body is sent: nothing of it is buffered."""
    answer = exchange(census.port, request({**CSV, "Content-Length": str(50 * 2**20)}), end=False)
    assert_one_line(answer, 413, TOO_LARGE, "batch transform")
    assert_still_serving(census)


def test_a_client_sending_all_50_mb_reads_the_413(census):
    """http.client sends the whole body before reading: the server drains it (lingering close),
    so the client gets the 413 instead of a reset."""
    connection = http.client.HTTPConnection("127.0.0.1", census.port, timeout=60)
    rows = ROW * (50 * 2**20 // len(ROW))  # 514,007 census rows: the old server scored them all
    connection.request("POST", "/invocations", body=rows, headers=CSV)
    response = connection.getresponse()
    assert response.status == 413
    assert response.read().decode() == (
        f"{TOO_LARGE} (SageMaker InvokeEndpoint's limit: send fewer rows per request, or score large "
        "files with a batch transform)\n"
    )
    connection.close()


def test_the_limit_is_sagemakers_6_mb_to_the_byte(census):
    headers = {"Content-Type": "application/x-npy", "Accept": "text/csv"}
    at_limit = exchange(
        census.port, request({**headers, "Content-Length": str(MAX_BODY_BYTES)}, b"x" * MAX_BODY_BYTES)
    )
    # the handler's own answer (inference.py refuses the content type): the body reached it
    assert_one_line(at_limit, 415, "unsupported content type 'application/x-npy'")
    over = MAX_BODY_BYTES + 1
    answer = exchange(census.port, request({**headers, "Content-Length": str(over)}, b"x" * over))
    assert_one_line(answer, 413, TOO_LARGE)


def test_a_chunked_body_over_the_limit_is_413(census):
    def chunks() -> Iterator[bytes]:
        for _ in range(7):
            yield b"x" * 2**20

    connection = http.client.HTTPConnection("127.0.0.1", census.port, timeout=60)
    connection.request("POST", "/invocations", body=chunks(), headers=CSV, encode_chunked=True)
    response = connection.getresponse()
    assert (response.status, response.read().decode().split(" (")[0]) == (413, TOO_LARGE)
    connection.close()


# --- the rest of the HTTP contract ---------------------------------------------------------------------


def test_ping_and_other_routes(census):
    ping = exchange(census.port, request({}, path="/ping", method="GET"))
    assert (ping.status, ping.headers["content-type"], ping.body) == (200, "application/json", b"")
    assert_one_line(exchange(census.port, request({}, path="/predict", method="GET")), 404, "'/predict'")
    wrong = exchange(census.port, request({}, path="/invocations", method="GET"))
    assert_one_line(wrong, 405, "POST")
    assert wrong.headers["allow"] == "POST"


def test_the_contenttype_header_comes_first_as_in_the_container():
    """_worker.py:184-188: ``ContentType`` (sent by some AWS services), then ``Content-Type``."""
    probe = """
def model_fn(model_dir):
    return None

def transform_fn(model, body, content_type, accept):
    return content_type + " " + accept, "text/plain"
"""
    for server in started(ServingModel(archive_of({"code/inference.py": probe}))):
        headers = {"ContentType": "text/csv", "Content-Type": "application/json", "Content-Length": "1"}
        assert exchange(server.port, request(headers, b"1")).body == b"text/csv application/json"
        assert exchange(server.port, request({"Content-Length": "1"}, b"1")).body == (
            b"application/json application/json"  # the container's defaults for both
        )


def test_the_access_log_has_a_line_per_answer(census_model):
    log = io.StringIO()
    for server in started(census_model, access_log=log):
        exchange(server.port, request({**CSV, "Content-Length": str(len(ROW))}, ROW))
        exchange(server.port, request({**CSV, "Content-Length": "abc"}, ROW))
    assert log.getvalue().splitlines() == [
        'serve: 127.0.0.1 "POST /invocations" 200',
        'serve: 127.0.0.1 "POST /invocations" 400',
    ]


def test_shutdown_stops_serving_and_close_frees_the_port(census_model):
    server = make_server(census_model, port=0, access_log=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    assert exchange(port, request({}, path="/ping", method="GET")).status == 200
    server.shutdown()
    thread.join(10)
    assert not thread.is_alive()
    server.server_close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
