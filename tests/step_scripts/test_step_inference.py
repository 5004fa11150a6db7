"""inference.py: serving round trip from model.tar.gz, equality with the booster, bad requests."""

from __future__ import annotations

import json
import math

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from step_jobs import ADULT_FEATURES, run_script
from step_script_helpers import read_split

N_ROWS = 1500

# Mimics the scikit-learn serving container: code dir on sys.path, model_fn once, then
# transform_fn(model, body, content_type, accept) per request (sagemaker-containers
# _transformer.py:198-207), which answers with a response object. Requests come from a JSON file.
SERVING_DRIVER = """
import json, sys
model_dir, requests_file = sys.argv[1], sys.argv[2]
sys.path.insert(0, model_dir + "/code")
import inference
model = inference.model_fn(model_dir)
responses = []
for request in json.load(open(requests_file)):
    body = request["body"].encode() if request.get("as_bytes") else request["body"]
    answer = inference.transform_fn(model, body, request["content_type"], request["accept"])
    responses.append(
        {"status": answer.status_code, "content_type": answer.mimetype, "body": answer.get_data().decode()}
    )
print(json.dumps(responses))
"""


@pytest.fixture(scope="module")
def test_rows(preprocessed, serving_model_dir):
    """The first N test rows: raw CSV lines (no header, no target), frame, and booster probabilities."""
    schema = json.loads((serving_model_dir / "schema.json").read_text())
    lines = (preprocessed.output / "clarify" / "clarify.csv").read_text().splitlines()[:N_ROWS]
    csv_rows = [line.split(",", 1)[1] for line in lines]  # Clarify sends features only
    frame, model_frame = read_split(preprocessed.output / "test" / "test.csv", schema, nrows=N_ROWS)
    booster = lgb.Booster(model_file=str(serving_model_dir / "model.txt"))
    threshold = json.loads((serving_model_dir / "metadata.json").read_text())["threshold"]
    assert frame[schema["features"]].isna().any(axis=1).sum() > 10  # rows with missing values included
    return {
        "csv": "\n".join(csv_rows) + "\n",
        "records": [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in frame[schema["features"]].astype(object).to_dict(orient="records")
        ],
        "expected": booster.predict(model_frame),
        "threshold": threshold,
        "schema": schema,
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory, serving_model_dir, test_rows):
    """One serving-process run answering several requests."""
    lists = [[row[c] for c in test_rows["schema"]["features"]] for row in test_rows["records"]]
    requests = [
        {"body": test_rows["csv"], "content_type": "text/csv", "accept": "text/csv"},
        {"body": test_rows["csv"], "content_type": "text/csv", "accept": "text/csv", "as_bytes": True},
        {
            "body": json.dumps({"instances": test_rows["records"]}),
            "content_type": "application/json",
            "accept": "application/json",
        },
        {"body": json.dumps(lists), "content_type": "application/json; charset=utf-8", "accept": "text/csv"},
        {"body": "39,State-gov,77516\n", "content_type": "text/csv", "accept": "text/csv"},
    ]
    path = tmp_path_factory.mktemp("requests") / "requests.json"
    path.write_text(json.dumps(requests))
    driver = tmp_path_factory.mktemp("driver") / "serve.py"
    driver.write_text(SERVING_DRIVER)
    result = run_script(driver, [str(serving_model_dir), str(path)], cwd=serving_model_dir / "code")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def parse_csv_output(body: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [line.split(",") for line in body.splitlines()]
    assert all(len(row) == 2 for row in rows)
    return np.array([float(p) for p, _ in rows]), np.array([int(label) for _, label in rows])


def test_csv_round_trip_matches_the_booster(served, test_rows):
    for response in served[:2]:  # str body and bytes body
        assert (response["status"], response["content_type"]) == (200, "text/csv")
        proba, labels = parse_csv_output(response["body"])
        assert len(proba) == N_ROWS
        np.testing.assert_allclose(proba, test_rows["expected"], rtol=0, atol=1e-9)
        np.testing.assert_array_equal(labels, (proba >= test_rows["threshold"]).astype(int))
        assert 0 < labels.sum() < N_ROWS


def test_json_records_round_trip_matches_the_booster(served, test_rows):
    response = served[2]
    assert (response["status"], response["content_type"]) == (200, "application/json")
    predictions = json.loads(response["body"])["predictions"]
    proba = np.array([p["probability"] for p in predictions])
    np.testing.assert_allclose(proba, test_rows["expected"], rtol=0, atol=1e-9)
    assert [p["label"] for p in predictions] == [int(p >= test_rows["threshold"]) for p in proba]


def test_json_lists_in_feature_order_with_csv_answer(served, test_rows):
    proba, _ = parse_csv_output(served[3]["body"])
    np.testing.assert_allclose(proba, test_rows["expected"], rtol=0, atol=1e-9)


def test_serving_reports_a_short_row_as_a_client_error(served):
    assert served[4]["status"] == 400
    assert served[4]["content_type"] == "text/plain"
    features = ", ".join(ADULT_FEATURES)
    assert served[4]["body"] == f"expected {len(ADULT_FEATURES)} values per row [{features}], got 3\n"


# --- in-process: handlers and bad requests --------------------------------------------------


@pytest.fixture(scope="module")
def model(scripts, serving_model_dir):
    return scripts.inference.model_fn(str(serving_model_dir))


def call(scripts, model, body, content_type="text/csv", accept="text/csv"):
    return scripts.inference.handle(body, content_type, accept, model)


def test_predict_proba_equals_booster_predict(scripts, model, test_rows):
    frame = pd.DataFrame(test_rows["records"])
    np.testing.assert_allclose(
        scripts.inference.predict_proba(model, frame), test_rows["expected"], rtol=0, atol=1e-9
    )


def test_unseen_category_is_treated_as_missing(scripts, model, test_rows):
    row = dict(test_rows["records"][0])
    unseen, missing = dict(row, Workclass="Martian"), dict(row, Workclass=None)
    body = json.dumps({"instances": [unseen, missing]})
    out, _ = call(scripts, model, body, "application/json", "application/json")
    first, second = json.loads(out)["predictions"]
    assert first["probability"] == second["probability"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        ("", "text/csv", 400, "request body is empty"),
        (b"  \n", "text/csv", 400, "request body is empty"),
        ("1,2,3\n1,2\n", "text/csv", 400, "CSV row 2 has 2 fields but row 1 has 3"),
        ("{not json", "application/json", 400, "cannot parse JSON"),
        ('{"rows": []}', "application/json", 400, 'must be {"instances": [...]}'),
        ('{"instances": []}', "application/json", 400, "no instances"),
        (
            '{"instances": [{"Age": 39}, {"Sex": "Male"}]}',
            "application/json",
            400,
            "instance 1 is missing key",
        ),
        (
            '{"instances": [[1, 2], {"Age": 3}]}',
            "application/json",
            400,
            "all objects (records) or all lists",
        ),
        ('{"instances": [{"Age": [1]}]}', "application/json", 400, "unsupported value [1]"),
        (b"\xff\xfe", "text/csv", 400, "not valid UTF-8"),
        ("39,Private", "application/x-npy", 415, "unsupported content type 'application/x-npy'"),
        ("39,Private", None, 415, "unsupported content type"),
    ],
)
def test_malformed_requests_raise_inference_error(scripts, model, body, content_type, status, message):
    with pytest.raises(scripts.inference.InferenceError) as exc:
        call(scripts, model, body, content_type)
    assert exc.value.status_code == status
    assert message in str(exc.value)
    assert isinstance(exc.value, ValueError)
    # as the container calls it: the status and reason in the answer
    answer = scripts.inference.transform_fn(model, body, content_type, "text/csv")
    assert (answer.status_code, answer.mimetype) == (status, "text/plain")
    assert answer.get_data() == f"{exc.value}\n".encode()


def test_wrong_column_count_hints_at_the_target(scripts, model, test_rows):
    with_target = "0," + test_rows["csv"].splitlines()[0]
    hint = rf"got {len(ADULT_FEATURES) + 1} \(drop the target column\)$"
    with pytest.raises(scripts.inference.InferenceError, match=hint):
        call(scripts, model, with_target)


def test_unparseable_number_names_the_feature(scripts, model, test_rows):
    fields = test_rows["csv"].splitlines()[0].split(",")
    fields[0] = "forty"
    with pytest.raises(
        scripts.inference.InferenceError, match="row 1: feature 'Age' is not a number: 'forty'"
    ):
        call(scripts, model, ",".join(fields))


def test_records_missing_a_feature_everywhere(scripts, model, test_rows):
    records = [{k: v for k, v in r.items() if k != "Age"} for r in test_rows["records"][:3]]
    with pytest.raises(scripts.inference.InferenceError, match=r"missing feature\(s\) \['Age'\]"):
        call(scripts, model, json.dumps(records), "application/json")


def test_unsupported_accept_type(scripts, model, test_rows):
    with pytest.raises(scripts.inference.InferenceError) as exc:
        call(scripts, model, test_rows["csv"], "text/csv", "application/x-protobuf")
    assert exc.value.status_code == 406


def test_accept_any_answers_json_and_question_mark_is_missing(scripts, model, test_rows):
    fields = test_rows["csv"].splitlines()[0].split(",")
    fields[1] = "?"
    question, _ = call(scripts, model, ",".join(fields), "text/csv", "*/*")
    fields[1] = ""
    empty, content_type = call(scripts, model, ",".join(fields), "text/csv", "")
    assert content_type == "application/json"
    assert json.loads(question) == json.loads(empty)
