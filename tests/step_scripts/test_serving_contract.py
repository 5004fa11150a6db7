"""The serving contract: `lgbm-pipeline serve` (ServingModel.invoke) answers every request exactly as
the SageMaker scikit-learn 1.2-1 serving container answers it, with the inference.py and
step_common.py shipped in a real model.tar.gz (the session's ``trained`` model).

The container side is re-implemented here from its source, not vendored. Citations are to
aws/sagemaker-containers v2.8.6.post2 ``src/sagemaker_containers/`` (the version the 1.2-1 image
pins), aws/sagemaker-scikit-learn-container branch 1.2-1
``src/sagemaker_sklearn_container/serving.py``, pallets/flask 1.1.1 ``src/flask/app.py`` and
pallets/werkzeug 2.0.3 ``src/werkzeug/`` (both pinned by the image's requirements.txt).
"""

from __future__ import annotations

import importlib
import io
import json
import math
import shutil
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import lightgbm as lgb
import pytest
from step_jobs import ADULT_FEATURES
from step_script_helpers import read_split

from lgbm_pipeline_compiler.local.serve import ServingError, ServingModel

N_ROWS = 500

# --- the container, re-implemented ----------------------------------------------------------

JSON, CSV, ANY = "application/json", "text/csv", "*/*"  # _content_types.py:14-17
UTF8_TYPES = [JSON, CSV]  # _content_types.py:19


class ClientError(Exception):
    """_errors.py:21-22."""


class UnsupportedFormatError(Exception):
    """_errors.py:72-83 (only the default chain's except clauses name it)."""


class UserError(Exception):
    """sagemaker_sklearn_container/exceptions.py (raised by serving.py:97-98)."""


def error_wrapper(fn: Callable) -> Callable:
    """_functions.py:80-97: any exception from a user function is re-raised as ClientError."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise ClientError(e) from e

    return wrapper


def werkzeug_content_type(mimetype: str) -> str:
    """werkzeug 2.0.3 utils.py:314-346 get_content_type (charset utf-8: sansio/response.py:89)."""
    charset_types = {"application/ecmascript", "application/javascript", "application/sql"}
    charset_types |= {"application/xml", "application/xml-dtd", "application/xml-external-parsed-entity"}
    if mimetype.startswith("text/") or mimetype in charset_types or mimetype.endswith("+xml"):
        return mimetype + "; charset=utf-8"
    return mimetype


def internal_server_error_page() -> bytes:
    """What Flask 1.1.1 sends for an unhandled exception (app.py:1817-1820 re-raises it, 2447-2449
    and 1870-1880 answer InternalServerError): werkzeug 2.0.3 exceptions.py:154-181, 772-787."""
    code, name = 500, "Internal Server Error"
    description = (
        "The server encountered an internal error and was unable to complete your request."
        " Either the server is overloaded or there is an error in the application."
    )
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
        f"<title>{code} {name}</title>\n"
        f"<h1>{name}</h1>\n"
        f"<p>{description}</p>\n"
    ).encode()


class ContainerResponse(SimpleNamespace):
    """The parts of a worker.Response (_worker.py:118-139) an HTTP answer is made of."""


class Container:
    """One gunicorn worker of the scikit-learn 1.2-1 serving container, for one user module."""

    def __init__(self, module: ModuleType, model_dir: Path, default_accept: str = JSON):
        # serving.py:90-108 (_user_module_transformer); its numpy defaults for missing input_fn,
        # predict_fn or output_fn are not needed here.
        model_fn = module.model_fn
        input_fn, predict_fn, output_fn, transform_fn = (
            getattr(module, name, None) for name in ("input_fn", "predict_fn", "output_fn", "transform_fn")
        )
        if transform_fn and (input_fn or predict_fn or output_fn):
            raise UserError(
                "Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn"
            )
        # Transformer.__init__ (_transformer.py:149-173): every user function wrapped.
        self._transform_fn = error_wrapper(transform_fn) if transform_fn else self._default_transform_fn
        self._input_fn, self._predict_fn, self._output_fn = (
            error_wrapper(fn) if fn else None for fn in (input_fn, predict_fn, output_fn)
        )
        self._model = error_wrapper(model_fn)(str(model_dir))  # initialize(), _transformer.py:185
        self._default_accept = default_accept  # ServingEnv.default_accept, _env.py:903

    def _default_transform_fn(self, model: Any, content: Any, content_type: str, accept: str) -> Any:
        """_transformer.py:226-238."""
        try:
            data = self._input_fn(content, content_type)
        except UnsupportedFormatError as e:
            return self._error_response(e, 415)
        prediction = self._predict_fn(data, model)
        try:
            return self._output_fn(prediction, accept)
        except UnsupportedFormatError as e:
            return self._error_response(e, 406)

    def _error_response(self, error: Exception, status: int) -> ContainerResponse:
        """_transformer.py:240-249 (stack trace left out: unreachable for wrapped functions)."""
        body = json.dumps({"error": type(error).__name__, "error-message": str(error)})
        return ContainerResponse(status_code=status, mimetype=JSON, data=body.encode())

    def transform(self, content: Any, content_type: str, accept: str) -> Any:
        """_transformer.py:198-207."""
        result = self._transform_fn(self._model, content, content_type, accept)
        if isinstance(result, tuple):
            return ContainerResponse(status_code=200, mimetype=result[1] or JSON, data=result[0])
        return result

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
        """POST /invocations: (status, Content-Type, body) of the HTTP response."""
        # Request (_worker.py:176-216): headers and body as transform() reads them.
        content_type = headers.get("ContentType") or headers.get("Content-Type") or JSON
        accept = headers.get("Accept")
        if not accept or accept == ANY:
            accept = self._default_accept
        # get_data(as_text=True) decodes with charset utf-8, errors "replace" (werkzeug 2.0.3
        # sansio/request.py:65-68, wrappers/request.py:427-428).
        content = body.decode("utf-8", "replace") if content_type in UTF8_TYPES else body
        try:
            response = self.transform(content, content_type, accept)
            data = response.data if isinstance(response, ContainerResponse) else response.get_data()
            status, mimetype = response.status_code, response.mimetype
        except Exception:  # Flask: handle_user_exception re-raises, handle_exception answers 500
            return 500, "text/html; charset=utf-8", internal_server_error_page()
        data = data.encode() if isinstance(data, str) else bytes(data)
        return int(status), werkzeug_content_type(mimetype), data


def import_user_module(model_dir: Path, work: Path) -> ModuleType:
    """modules.import_module (_modules.py:237-263): the submit dir (``/opt/ml/model/code``) copied to
    ``/opt/ml/code``, on sys.path, and ``importlib.import_module("inference")``. The names it
    imports are taken out of sys.modules again, so that other tests keep theirs."""
    code = work / "opt" / "ml" / "code"
    shutil.copytree(model_dir / "code", code)
    names = ("inference", "step_common")
    saved = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    sys.path.insert(0, str(code))
    try:
        return importlib.import_module("inference")
    finally:
        sys.path.remove(str(code))
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)


def unpack(archive: bytes, work: Path) -> Path:
    model_dir = work / "opt" / "ml" / "model"
    model_dir.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(model_dir, filter="data")
    return model_dir


def archive_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --- the served model and the requests ------------------------------------------------------


@pytest.fixture(scope="module")
def served(trained, tmp_path_factory) -> SimpleNamespace:
    """The same model.tar.gz behind `lgbm-pipeline serve` and behind the container."""
    archive = trained.archive.read_bytes()
    work = tmp_path_factory.mktemp("container")
    model_dir = unpack(archive, work)
    module = import_user_module(model_dir, work)
    return SimpleNamespace(
        local=ServingModel(archive),
        container=Container(module, model_dir),
        module=module,
        model_dir=model_dir,
    )


@pytest.fixture(scope="module")
def rows(preprocessed, served) -> SimpleNamespace:
    """The first test rows as Clarify sends them (CSV, no target), as records, and the booster's
    probabilities for them."""
    schema = json.loads((served.model_dir / "schema.json").read_text())
    lines = (preprocessed.output / "clarify" / "clarify.csv").read_text().splitlines()[:N_ROWS]
    frame, model_frame = read_split(preprocessed.output / "test" / "test.csv", schema, nrows=N_ROWS)
    records = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame[schema["features"]].astype(object).to_dict(orient="records")
    ]
    booster = lgb.Booster(model_file=str(served.model_dir / "model.txt"))
    threshold = json.loads((served.model_dir / "metadata.json").read_text())["threshold"]
    return SimpleNamespace(
        csv=[line.split(",", 1)[1] for line in lines],
        records=records,
        expected=booster.predict(model_frame),
        threshold=threshold,
    )


def csv_body(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def replace_field(line: str, index: int, value: str) -> str:
    fields = line.split(",")
    fields[index] = value
    return ",".join(fields)


CSV_IN = {"Content-Type": CSV, "Accept": CSV}
FEATURES = f"[{', '.join(ADULT_FEATURES)}]"

# name -> (the body, from the rows; headers; status; what the answer holds: predictions of these rows,
# or the reason)
REQUESTS: dict[str, tuple[Callable[[SimpleNamespace], bytes], dict[str, str], int, Any]] = {
    "csv one row": (lambda r: csv_body(r.csv[:1]), CSV_IN, 200, slice(0, 1)),
    "csv many rows": (lambda r: csv_body(r.csv), CSV_IN, 200, slice(0, N_ROWS)),
    "json records": (
        lambda r: json.dumps({"instances": r.records[:50]}).encode(),
        {"Content-Type": JSON, "Accept": JSON},
        200,
        slice(0, 50),
    ),
    "json lists with charset, csv answer": (  # not exactly a UTF8 type: the body stays bytes
        lambda r: json.dumps([[rec[c] for c in ADULT_FEATURES] for rec in r.records[:20]]).encode(),
        {"Content-Type": "application/json; charset=utf-8", "Accept": CSV},
        200,
        slice(0, 20),
    ),
    "no accept: json": (lambda r: csv_body(r.csv[:3]), {"Content-Type": CSV}, 200, slice(0, 3)),
    "accept */*: json": (
        lambda r: csv_body(r.csv[:3]),
        {"Content-Type": CSV, "Accept": ANY},
        200,
        slice(0, 3),
    ),
    "wrong content type": (
        lambda r: csv_body(r.csv[:1]),
        {"Content-Type": "application/x-npy", "Accept": CSV},
        415,
        "unsupported content type 'application/x-npy'; use text/csv or application/json",
    ),
    "no content type: read as json": (
        lambda r: csv_body(r.csv[:1]),
        {"Accept": CSV},
        400,
        "cannot parse JSON",
    ),
    "wrong column count": (
        lambda r: b"39,State-gov,77516\n",
        CSV_IN,
        400,
        f"expected {len(ADULT_FEATURES)} values per row {FEATURES}, got 3",
    ),
    "target column included": (
        lambda r: csv_body(["0," + r.csv[0]]),
        CSV_IN,
        400,
        f"got {len(ADULT_FEATURES) + 1} (drop the target column)",
    ),
    "not a number": (
        lambda r: csv_body([replace_field(r.csv[0], 0, "forty")]),
        CSV_IN,
        400,
        "row 1: feature 'Age' is not a number: 'forty'",
    ),
    "empty body": (lambda r: b"", CSV_IN, 400, "request body is empty"),
    "ragged csv": (lambda r: b"1,2,3\n1,2\n", CSV_IN, 400, "CSV row 2 has 2 fields but row 1 has 3"),
    "invalid utf-8: replaced, then one field": (
        lambda r: b"\xff\xfe\n",
        CSV_IN,
        400,
        f"expected {len(ADULT_FEATURES)} values per row {FEATURES}, got 1",
    ),
    "unsupported accept": (
        lambda r: csv_body(r.csv[:1]),
        {"Content-Type": CSV, "Accept": "application/x-protobuf"},
        406,
        "unsupported accept type 'application/x-protobuf'; use text/csv or application/json",
    ),
}


def expected_body(rows: SimpleNamespace, which: slice, content_type: str) -> bytes:
    """The answer inference.py has always given (output_fn before transform_fn): the booster's
    probabilities as repr() floats, label = probability >= threshold."""
    pairs = [(float(p), int(p >= rows.threshold)) for p in rows.expected[which]]
    if content_type.startswith(CSV):
        return "".join(f"{p!r},{label}\n" for p, label in pairs).encode()
    return json.dumps({"predictions": [{"probability": p, "label": label} for p, label in pairs]}).encode()


@pytest.mark.parametrize("name", list(REQUESTS))
def test_serve_answers_as_the_container(served, rows, name):
    make_body, headers, status, holds = REQUESTS[name]
    body = make_body(rows)
    container = served.container.post(body, headers)
    local = served.local.invoke(body, headers.get("Content-Type"), headers.get("Accept"))
    assert local == container
    assert local[0] == status
    if status == 200:
        accept = headers.get("Accept")
        wanted = CSV if accept == CSV else JSON  # no accept or */*: the default accept, JSON
        assert local[1] == werkzeug_content_type(wanted)
        assert local[2] == expected_body(rows, holds, wanted)  # the predictions are unchanged
    else:
        assert local[1] == "text/plain; charset=utf-8"
        reason = local[2].decode()
        assert reason.endswith("\n") and "\n" not in reason[:-1]  # one line
        assert holds in reason


HOSTILE_JSON: dict[str, Callable[[SimpleNamespace], bytes]] = {
    # issue 15, finding 3: JSON the handler may fail to read
    "a 400-digit integer": lambda r: json.dumps(
        {"instances": [{**r.records[0], "Age": int("9" * 400)}]}
    ).encode(),
    "arrays nested 100,000 deep": lambda r: b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("name", list(HOSTILE_JSON))
def test_hostile_json_is_answered_as_the_container_answers_it(served, rows, name):
    """What the handler does with it decides the answer, in SageMaker and locally alike: a client
    error's one line, or (any exception from the handler) the container's 500 page."""
    body = HOSTILE_JSON[name](rows)
    headers = {"Content-Type": JSON, "Accept": CSV}
    local = served.local.invoke(body, JSON, CSV)
    assert local == served.container.post(body, headers)
    if local[0] == 500:
        assert local == (500, "text/html; charset=utf-8", internal_server_error_page())
    else:
        assert 400 <= local[0] < 500 and local[1] == "text/plain; charset=utf-8"


def test_valid_predictions_equal_the_booster(served, rows):
    status, _, body = served.local.invoke(csv_body(rows.csv), CSV, CSV)
    assert status == 200
    probabilities = [float(line.split(",")[0]) for line in body.decode().splitlines()]
    assert probabilities == rows.expected.tolist()  # exactly: repr() round-trips a float


def test_the_module_is_one_the_container_starts(served):
    """transform_fn alone: with input_fn, predict_fn or output_fn beside it the container raises
    UserError at start-up (serving.py:97-98)."""
    assert callable(served.module.transform_fn) and callable(served.module.model_fn)
    for name in ("input_fn", "predict_fn", "output_fn"):
        assert not hasattr(served.module, name)


# --- the container's 500: errors raised by the module's functions ----------------------------

RAISING = """
class InferenceError(ValueError):
    def __init__(self, message, status_code=400):
        super().__init__(message)
        self.status_code = status_code

def model_fn(model_dir):
    return "model"
"""

MODULES = {
    # inference.py before transform_fn: a client error raised from input_fn with status 415
    "input_fn raises a 4xx error": RAISING
    + """
def input_fn(body, content_type):
    raise InferenceError("unsupported content type", 415)

def predict_fn(data, model):
    return data

def output_fn(prediction, accept):
    return prediction, accept
""",
    "output_fn raises a 4xx error": RAISING
    + """
def input_fn(body, content_type):
    return body

def predict_fn(data, model):
    return data

def output_fn(prediction, accept):
    raise InferenceError("unsupported accept type", 406)
""",
    "transform_fn raises a 4xx error": RAISING
    + """
def transform_fn(model, body, content_type, accept):
    raise InferenceError("request body is empty")
""",
    "transform_fn returns something else": RAISING
    + """
def transform_fn(model, body, content_type, accept):
    return 42
""",
}


def serve_both(source: str, work: Path) -> tuple[ServingModel, Container]:
    archive = archive_of({"code/inference.py": source})
    model_dir = unpack(archive, work)
    return ServingModel(archive), Container(import_user_module(model_dir, work), model_dir)


@pytest.mark.parametrize("name", list(MODULES))
def test_exceptions_from_the_module_are_500(tmp_path, name):
    local, container = serve_both(MODULES[name], tmp_path)
    answer = local.invoke(b"1,2\n", CSV, CSV)
    assert answer == container.post(b"1,2\n", {"Content-Type": CSV, "Accept": CSV})
    assert answer == (500, "text/html; charset=utf-8", internal_server_error_page())


def test_tuple_answers_are_200_with_their_type(tmp_path):
    source = RAISING + "\ndef transform_fn(model, body, content_type, accept):\n    return body, 'text/csv'\n"
    local, container = serve_both(source, tmp_path)
    headers = {"Content-Type": "text/csv", "Accept": CSV}
    assert (
        local.invoke(b"1,2\n", CSV, CSV)
        == container.post(b"1,2\n", headers)
        == (
            200,
            "text/csv; charset=utf-8",
            b"1,2\n",
        )
    )


def test_transform_fn_with_other_handlers_is_refused_like_the_container(tmp_path):
    source = (
        MODULES["input_fn raises a 4xx error"] + "\ndef transform_fn(model, body, ct, accept):\n    pass\n"
    )
    archive = archive_of({"code/inference.py": source})
    with pytest.raises(ServingError, match="refuses to start"):
        ServingModel(archive)
    model_dir = unpack(archive, tmp_path)
    with pytest.raises(UserError):
        Container(import_user_module(model_dir, tmp_path), model_dir)


# --- the real Flask: inference.py with the container's Response class ------------------------


def test_transform_fn_uses_the_containers_response_under_flask(trained, rows, tmp_path, monkeypatch):
    """With ``sagemaker_containers.beta.framework.worker`` importable, inference.py answers with its
    Response (here a stand-in written after _worker.py:118-139 on the installed Flask) and Flask
    sends the status, type and body `lgbm-pipeline serve` sends."""
    flask = pytest.importorskip("flask")

    class Response(flask.Response):  # _worker.py:118-139
        default_mimetype = JSON

        def __init__(self, response=None, accept=None, status=200, headers=None, mimetype=None):
            super().__init__(response, status, headers, mimetype, None, False)

    package = {name: ModuleType(name) for name in ("sagemaker_containers", "sagemaker_containers.beta")}
    framework = ModuleType("sagemaker_containers.beta.framework")
    framework.worker = SimpleNamespace(Response=Response)  # beta/framework/__init__.py:35
    for name, module in {**package, framework.__name__: framework}.items():
        monkeypatch.setitem(sys.modules, name, module)

    archive = trained.archive.read_bytes()
    model_dir = unpack(archive, tmp_path)
    module = import_user_module(model_dir, tmp_path)
    assert module.Response is Response
    model = module.model_fn(str(model_dir))

    app = flask.Flask("inference")
    transform_fn = error_wrapper(module.transform_fn)

    @app.post("/invocations")
    def invocations():  # Transformer.transform, _transformer.py:198-207, with _worker.py:184-216
        request = flask.request
        content_type = request.headers.get("Content-Type") or JSON
        accept = request.headers.get("Accept")
        accept = JSON if not accept or accept == ANY else accept
        content = request.get_data(as_text=content_type in UTF8_TYPES)
        result = transform_fn(model, content, content_type, accept)
        return Response(response=result[0], mimetype=result[1]) if isinstance(result, tuple) else result

    local = ServingModel(archive)
    client = app.test_client()
    for name, (make_body, headers, status, _) in REQUESTS.items():
        body = make_body(rows)
        answer = client.post("/invocations", data=body, headers=headers)
        got = (answer.status_code, answer.headers["Content-Type"], answer.get_data())
        assert got == local.invoke(body, headers.get("Content-Type"), headers.get("Accept")), name
        assert got[0] == status, name
