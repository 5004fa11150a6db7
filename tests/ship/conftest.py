"""Fixtures of the ship tests: the ship spec compiled once per variant, moto (in-process) with the
bucket and the Lambda role a deploy needs, and a recorder of every AWS request a session makes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from ship.account import (  # noqa: E402
    BUCKET,
    HANDLER_EDIT,
    LAMBDA_ROLE,
    LAMBDA_TRUST,
    REGION,
    SHIP_SPEC,
    recording_session,
)


@pytest.fixture(scope="module", autouse=True)
def _shared_botocore_models():
    """Each service model parsed once per worker, not once per session (ship.shared_models); the
    patch is in place for this folder's modules only, the parsed models are kept between them."""
    from ship.shared_models import shared_models

    with shared_models():
        yield


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """The standard chain with test credentials and the region, and nothing from this machine."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def create_account_resources(session: boto3.Session) -> None:
    """What a deploy needs to exist beforehand: the artifact bucket and the Lambda's role."""
    session.client("s3").create_bucket(Bucket=BUCKET)
    session.client("iam").create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))


class _AdminSession:
    """The clients that set an account up, made once per worker (a session and its clients cost
    ~60 ms to make; moto answers whichever mock is active, with the test credentials they hold)."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
            ).client(service)
        return self._clients[service]


_ADMIN = _AdminSession()


@pytest.fixture
def moto_account(aws_env):
    """moto in-process, with the bucket and the Lambda role."""
    from moto import mock_aws

    with mock_aws():
        create_account_resources(_ADMIN)
        yield


@pytest.fixture(autouse=True)
def _compile_once(monkeypatch):
    """Commands run in-process compile their spec (with its --var and --role) once per worker:
    each later run with the same compile inputs reuses that Target, an immutable compile. The
    inputs are compile --check's fingerprint (review/fingerprint.py: the spec's bytes, the
    variables, every script and lock file beside it, versions, the compiler's sources). A spec or
    --role the command refuses is refused each time, as before."""
    from lgbm_pipeline_compiler.review.fingerprint import record
    from lgbm_pipeline_compiler.ship import cli
    from lgbm_pipeline_compiler.spec import load_spec
    from lgbm_pipeline_compiler.variables import parse_vars

    compile_target = cli._target

    def cached(args):
        try:
            variables = parse_vars(args.var)
            inputs = record(args.spec, variables, load_spec(args.spec, variables))
        except Exception:  # the command's own error, uncached
            return compile_target(args)
        key = (args.spec, json.dumps(inputs, sort_keys=True), getattr(args, "role", None))
        if key not in _TARGETS:
            _TARGETS[key] = compile_target(args)
        return _TARGETS[key]

    monkeypatch.setattr(cli, "_target", cached)


_TARGETS: dict[tuple, Any] = {}


@pytest.fixture
def recorded(moto_account, monkeypatch):
    """(Aws on a recording session, its Recorder); commands run in-process use the same session."""
    from lgbm_pipeline_compiler.ship import aws

    session, recorder = recording_session()
    monkeypatch.setattr(aws, "new_session", lambda: session)
    return aws.connect(REGION, session), recorder


# -- the ship spec compiled, and its variants (compiles are slow: each once per session) -----------


@pytest.fixture(scope="session")
def ship_target():
    from lgbm_pipeline_compiler.ship.target import load_target

    return load_target(str(SHIP_SPEC))


def _copy_spec(folder: Path, edit: tuple[str, str] | None = None) -> Path:
    text = SHIP_SPEC.read_text()
    if edit is not None:
        assert edit[0] in text
        text = text.replace(*edit)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ship.yaml").write_text(text)
    return folder / "ship.yaml"


@pytest.fixture(scope="session")
def script_changed_target(tmp_path_factory):
    """The ship spec with its own preprocessing.py next to it: the bundled one plus a comment."""
    from importlib import resources

    from lgbm_pipeline_compiler.ship.target import load_target

    folder = tmp_path_factory.mktemp("script-changed")
    spec = _copy_spec(folder)
    bundled = resources.files("lgbm_pipeline_compiler.step_scripts").joinpath("preprocessing.py").read_bytes()
    (folder / "preprocessing.py").write_bytes(bundled + b"\n# a reviewed change\n")
    return load_target(str(spec))


@pytest.fixture(scope="session")
def field_changed_target(tmp_path_factory):
    """The ship spec with tuning.max_jobs 4 → 6."""
    from lgbm_pipeline_compiler.ship.target import load_target

    spec = _copy_spec(tmp_path_factory.mktemp("field-changed"), ("  max_jobs: 4\n", "  max_jobs: 6\n"))
    return load_target(str(spec))


@pytest.fixture(scope="session")
def handler_changed_target(ship_target):
    """The ship spec compiled with the bundled deploy_endpoint.py edited (as a release that changes
    the handler would ship it). After ``ship_target``: the SDK is imported, quietly, by then."""
    from lgbm_pipeline_compiler.compiler.artifacts import bundled_script
    from lgbm_pipeline_compiler.compiler.steps import deploy
    from lgbm_pipeline_compiler.ship.target import load_target

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            deploy,
            "bundled_script",
            lambda name: bundled_script(name) + (HANDLER_EDIT if name == "deploy_endpoint.py" else b""),
        )
        return load_target(str(SHIP_SPEC))
