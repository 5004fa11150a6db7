"""Production settings in the compiled definition (issue 16): each setting in the request SageMaker
reads, bundled dependencies resolved for the container's platform and shipped by hash, and a lock
that no longer matches refused. Wheels come from a --find-links folder of small wheels made here:
no network."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from lgbm_pipeline_compiler.cli import main
from lgbm_pipeline_compiler.errors import CompileError
from lgbm_pipeline_compiler.wheels import write_lock

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"


def make_wheel(folder: Path, name: str, version: str, tag: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal valid wheel (METADATA, WHEEL, RECORD) named for ``tag``."""
    dist = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    files = {
        f"{name}/__init__.py": "",
        f"{dist}/METADATA": meta,
        f"{dist}/WHEEL": f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: false\nTag: {tag}\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{dist}/RECORD,,\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), text)
    return path


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def bundled_project(tmp_path: Path, requirements: str = "fakepkg==1.0\nlightgbm==4.6.0\n") -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(GOLDEN / "bundled" / "spec.yaml", folder / "spec.yaml")
    (folder / "requirements.txt").write_text(requirements)
    return folder / "spec.yaml"


def links(tmp_path: Path) -> Path:
    """Candidates for several platforms and Pythons: only two fit CPython 3.9 on glibc 2.31 x86_64."""
    folder = tmp_path / "links"
    make_wheel(folder, "lightgbm", "4.6.0", "py3-none-manylinux_2_28_x86_64", ("numpy>=1.17.0", "scipy"))
    make_wheel(folder, "lightgbm", "4.6.0", "py3-none-macosx_10_15_x86_64")
    make_wheel(folder, "lightgbm", "4.6.0", "py3-none-manylinux_2_35_x86_64")  # newer glibc than 2.31
    make_wheel(folder, "lightgbm", "4.6.0", "py3-none-manylinux_2_28_aarch64")
    make_wheel(folder, "fakepkg", "1.0", "cp311-cp311-manylinux_2_17_x86_64")
    make_wheel(folder, "fakepkg", "1.0", "cp39-cp39-win_amd64")
    make_wheel(folder, "fakepkg", "1.0", "cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64")
    return folder


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> tuple[Path, dict]:
    """The bundled project locked once (pip resolves in a subprocess): (spec, what write_lock returned).
    Tests that change the project work on a copy of it (the lock names its wheel dir relative to it)."""
    root = tmp_path_factory.mktemp("locked")
    spec = bundled_project(root)
    return spec, write_lock(spec, no_index=True, find_links=[str(links(root))])


def locked_copy(locked: tuple[Path, dict], tmp_path: Path) -> Path:
    shutil.copytree(locked[0].parent, tmp_path / "project")
    return tmp_path / "project" / locked[0].name


def test_wheels_resolves_for_the_containers_python_and_platform(locked):
    spec, returned = locked
    lock = json.loads((spec.parent / "wheels.lock.json").read_text())
    assert lock == returned
    assert lock["target"]["python_version"] == "3.9" and lock["target"]["abi"] == "cp39"
    assert {w["file"]: w["tags"] for w in lock["wheels"]} == {
        "fakepkg-1.0-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": [
            "cp39-cp39-manylinux_2_17_x86_64",
            "cp39-cp39-manylinux2014_x86_64",
        ],
        "lightgbm-4.6.0-py3-none-manylinux_2_28_x86_64.whl": ["py3-none-manylinux_2_28_x86_64"],
    }
    for wheel in lock["wheels"]:
        data = (spec.parent / "wheels" / wheel["file"]).read_bytes()
        assert wheel["sha256"] == hashlib.sha256(data).hexdigest() and wheel["size"] == len(data)
    lightgbm = next(w for w in lock["wheels"] if w["name"] == "lightgbm")
    assert lightgbm["version"] == "4.6.0" and lightgbm["requires"] == ["numpy>=1.17.0", "scipy"]
    assert lock["requirements_sha256"] == hashlib.sha256(b"fakepkg==1.0\nlightgbm==4.6.0\n").hexdigest()


def test_wheels_fails_loudly_when_no_wheel_fits_the_container(tmp_path):
    spec = bundled_project(tmp_path, "fakepkg==1.0\n")
    folder = tmp_path / "links"
    make_wheel(folder, "fakepkg", "1.0", "cp311-cp311-manylinux_2_17_x86_64")
    with pytest.raises(CompileError) as err:
        write_lock(spec, no_index=True, find_links=[str(folder)])
    assert "pip could not resolve the requirements for CPython 3.9" in str(err.value)
    assert "No matching distribution found for fakepkg==1.0" in str(err.value)
    assert not (spec.parent / "wheels.lock.json").exists()


def test_bundled_compile_ships_the_wheel_set_by_hash_and_installs_offline(locked, tmp_path):
    spec = locked_copy(locked, tmp_path)
    lock = json.loads((spec.parent / "wheels.lock.json").read_text())
    code, out, err = cli("compile", str(spec), "-o", str(tmp_path / "out"))
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    prefix = f"/artifacts/{lock['wheel_set_sha256']}/wheels/"
    shipped = {a["s3_uri"].split(prefix)[1]: a for a in manifest["artifacts"] if prefix in a["s3_uri"]}
    assert sorted(shipped) == sorted(w["file"] for w in lock["wheels"])
    for wheel in lock["wheels"]:
        artifact = tmp_path / "out" / shipped[wheel["file"]]["path"]
        assert hashlib.sha256(artifact.read_bytes()).hexdigest() == wheel["sha256"]
    definition = json.loads((tmp_path / "out" / "pipeline.json").read_text())
    steps = {s["Name"]: s for s in definition["Steps"]}
    channels = {
        c["ChannelName"]: c for c in steps["Tune"]["Arguments"]["TrainingJobDefinition"]["InputDataConfig"]
    }
    assert channels["wheels"]["DataSource"]["S3DataSource"]["S3Uri"].endswith(prefix.rstrip("/"))
    inputs = {i["InputName"]: i["S3Input"] for i in steps["Evaluate"]["Arguments"]["ProcessingInputs"]}
    assert inputs["wheels"]["S3Uri"].endswith(prefix.rstrip("/"))
    requirements = next(
        tmp_path / "out" / a["path"]
        for a in manifest["artifacts"]
        if a["s3_uri"] == inputs["requirements"]["S3Uri"]
    ).read_text()
    assert requirements.splitlines()[2:] == [
        "--no-index",
        "--find-links /opt/ml/processing/input/wheels",
        "--find-links /opt/ml/input/data/wheels",
        "--find-links /opt/ml/model/code/wheels",
        "fakepkg==1.0",
        "lightgbm==4.6.0",
    ]
    assert f"sha256:{lock['wheel_set_sha256']}" in requirements


def test_a_stale_lock_or_an_altered_wheel_is_refused(locked, tmp_path):
    spec = locked_copy(locked, tmp_path)
    wheel = next((spec.parent / "wheels").glob("lightgbm-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    code, _, err = cli("compile", str(spec), "-o", str(tmp_path / "out"))
    assert code == 2 and "is not the file the lock names" in err and "lgbm-pipeline wheels" in err
    assert not (tmp_path / "out").exists()
    (spec.parent / "requirements.txt").write_text("lightgbm==4.5.0\n")
    code, _, err = cli("compile", str(spec))
    assert code == 2 and "resolved from another requirements.txt (the pins changed)" in err


def test_every_production_setting_reaches_the_request():
    definition = json.loads((GOLDEN / "production" / "expected.json").read_text())

    def walk(steps):
        for step in steps:
            yield step
            yield from walk(step.get("Arguments", {}).get("IfSteps", []))

    steps = {s["Name"]: s for s in walk(definition["Steps"])}
    vpc = {
        "SecurityGroupIds": ["sg-0123456789abcdef0"],
        "Subnets": ["subnet-0a1b2c3d4e5f67890", "subnet-0f9e8d7c6b5a43210"],
    }
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    pre = steps["Preprocess"]["Arguments"]
    assert pre["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": False,
        "EnableNetworkIsolation": True,
        "VpcConfig": vpc,
    }
    assert pre["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert pre["ProcessingOutputConfig"]["KmsKeyId"] == "alias/census-pipeline-outputs"
    job = steps["Tune"]["Arguments"]["TrainingJobDefinition"]
    assert (
        job["EnableNetworkIsolation"]
        and job["EnableInterContainerTrafficEncryption"]
        and job["VpcConfig"] == vpc
    )
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert job["CheckpointConfig"] == {
        "S3Uri": "s3://lgbm-pipelines-111122223333/census-income/dev/checkpoints"
    }
    assert job["HyperParameterTuningResourceConfig"]["VolumeKmsKeyId"] == key
    # isolated: the SDK passes the code as a channel, read at its container path
    assert (
        job["StaticHyperParameters"]["sagemaker_submit_directory"]
        == '"/opt/ml/input/data/code/sourcedir.tar.gz"'
    )
    model = steps["LightGBMModel-CreateModel"]["Arguments"]
    assert model["EnableNetworkIsolation"] is True and model["VpcConfig"] == vpc
    assert (
        steps["ModelBiasCheck"]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is False
    )  # override
    transform = steps["BatchTransform"]["Arguments"]
    assert (
        transform["TransformOutput"]["KmsKeyId"]
        == "arn:aws:kms:us-east-1:111122223333:alias/census-predictions"
    )
    assert {n: s.get("CacheConfig") for n, s in steps.items() if "CacheConfig" in s} == {
        "Preprocess": {"Enabled": True, "ExpireAfter": "P30D"},
        "Tune": {"Enabled": True, "ExpireAfter": "P30D"},
        "ModelBiasCheck": {"Enabled": True, "ExpireAfter": "PT12H"},
        "ModelExplainabilityCheck": {"Enabled": True, "ExpireAfter": "PT12H"},
        "DataQualityCheck": {"Enabled": True, "ExpireAfter": "P7D"},  # cache.overrides.data_quality
        "BatchTransform": {"Enabled": True, "ExpireAfter": "P30D"},
    }
    job_policies = [
        {
            "BackoffRate": 2.0,
            "ExceptionType": ["Step.SERVICE_FAULT", "Step.THROTTLING"],
            "IntervalSeconds": 2,
            "MaxAttempts": 5,
        },
        {
            "BackoffRate": 2.0,
            "ExceptionType": ["SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"],
            "ExpireAfterMin": 120,
            "IntervalSeconds": 60,
        },
    ]
    assert (
        steps["Tune"]["RetryPolicies"] == job_policies and steps["Evaluate"]["RetryPolicies"] == job_policies
    )
    assert (
        steps["LightGBMModel-CreateModel"]["RetryPolicies"] == job_policies[:1]
    )  # no SageMaker.* for models
    assert steps["Register-RegisterModel"]["RetryPolicies"] == [
        {"BackoffRate": 2.0, "ExceptionType": ["Step.THROTTLING"], "IntervalSeconds": 1, "MaxAttempts": 10}
    ]
    assert "RetryPolicies" not in steps["F1Gate"] and "RetryPolicies" not in steps["Deploy"]
    quality = steps["DataQualityCheck"]  # the builtin engine's job, with every data_quality override
    assert quality["RetryPolicies"] == [
        {
            "BackoffRate": 2.0,
            "ExceptionType": ["SageMaker.CAPACITY_ERROR"],
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
        }
    ]
    assert quality["Arguments"]["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": False,
    }  # no VpcConfig: vpc false
    assert quality["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert quality["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == "alias/census-data-quality"
