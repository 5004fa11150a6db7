"""Inputs a local run finds beside --data: the bundled example data, and S3 through boto3's chain
(against moto's server on loopback)."""

from __future__ import annotations

import gzip
import hashlib
import uuid

import boto3
import pytest

from lgbm_pipeline_compiler.local.inputs import EXAMPLE_DATA, InputNotFound, bundled_example, provide
from lgbm_pipeline_compiler.local.runner import LocalRun, RunError, RunOptions
from lgbm_pipeline_compiler.local.store import ObjectStore

ADULT_DATA = "s3://sagemaker-example-files-prod-us-east-1/datasets/tabular/uci_adult/adult.data"


def test_the_bundled_adult_files_are_the_uci_originals():
    data = gzip.decompress((EXAMPLE_DATA / "adult.data.gz").read_bytes())
    assert hashlib.md5(data).hexdigest() == "5d7c39d7b8804f071cdd1f2a7c460872"
    test = gzip.decompress((EXAMPLE_DATA / "adult.test.gz").read_bytes()).decode()
    assert test.startswith("|1x3 Cross validator\n") and test.splitlines()[1].endswith("<=50K.")
    assert len([line for line in test.splitlines() if line]) == 16_282  # the comment and 16,281 rows


@pytest.mark.parametrize(
    ("uri", "bundled"),
    [
        (ADULT_DATA, "adult.data.gz"),
        ("s3://sagemaker-sample-files/datasets/tabular/uci_adult/adult.test", "adult.test.gz"),
        (
            "s3://sagemaker-example-files-prod-eu-west-1/datasets/tabular/uci_adult/adult.test",
            "adult.test.gz",
        ),
        ("s3://my-bucket/datasets/tabular/uci_adult/adult.data", None),
        ("s3://sagemaker-sample-files/datasets/tabular/uci_adult/adult.names", None),
    ],
)
def test_only_the_public_example_objects_map_to_bundled_files(uri, bundled):
    found = bundled_example(uri)
    assert (found.name if found else None) == bundled


def test_a_bundled_input_lands_decompressed_in_the_store(tmp_path):
    store = ObjectStore(tmp_path)
    assert provide(ADULT_DATA, store).startswith("bundled example data ")
    assert store.read_bytes(ADULT_DATA).startswith(b"39, State-gov, 77516, Bachelors")


@pytest.fixture
def s3_env(moto_env):
    client = boto3.client("s3")
    bucket = f"inputs-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def test_an_unmapped_input_is_read_from_s3(tmp_path, s3_env):
    client, bucket = s3_env
    client.put_object(Bucket=bucket, Key="data/train.csv", Body=b"a,b\n1,2\n")
    store = ObjectStore(tmp_path)
    assert provide(f"s3://{bucket}/data/train.csv", store) == "S3 (1 object)"
    assert store.read_bytes(f"s3://{bucket}/data/train.csv") == b"a,b\n1,2\n"


def test_a_prefix_input_reads_every_object_under_it_and_nothing_beside(tmp_path, s3_env):
    client, bucket = s3_env
    for key in ("parts/a.csv", "parts/b.csv", "parts-old/c.csv"):
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    store = ObjectStore(tmp_path)
    assert provide(f"s3://{bucket}/parts", store) == "S3 (2 objects)"
    assert not store.exists(f"s3://{bucket}/parts-old/c.csv")


def test_a_missing_object_is_a_clear_run_error(tmp_path, s3_env):
    _, bucket = s3_env
    with pytest.raises(InputNotFound, match="S3 has no object at that key or under that prefix"):
        provide(f"s3://{bucket}/absent.csv", ObjectStore(tmp_path))
    definition = {
        "Version": "2020-12-01",
        "Parameters": [],
        "Steps": [
            {
                "Name": "Prep",
                "Type": "Processing",
                "Arguments": {"ProcessingInputs": [{"S3Input": {"S3Uri": f"s3://{bucket}/absent.csv"}}]},
            }
        ],
    }
    run = LocalRun(definition, {"artifacts": []}, tmp_path, RunOptions(work_dir=tmp_path / "w"))
    with pytest.raises(RunError) as caught:
        run.preflight()
    assert str(caught.value) == (
        f"step 'Prep' reads s3://{bucket}/absent.csv, which is not in the local object store and not "
        "bundled; S3 has no object at that key or under that prefix. "
        f"Map it to a file with --data s3://{bucket}/absent.csv=PATH"
    )


def test_the_tests_adult_csv_is_the_shared_census_income_csv(adult_csv):
    """tests/conftest.py builds census-income.csv from the bundled files, byte for byte as the shared
    data README describes it (md5 of ../shared/data/adult/census-income.csv)."""
    assert hashlib.md5(adult_csv.read_bytes()).hexdigest() == "bb60ccd446f4de155cc20f049eafd5c4"
