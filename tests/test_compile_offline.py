"""Compiling is offline and canonical: no AWS variables, no network, no credential lookups (even
with credential providers configured to answer), same bytes every time."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.long_running  # (handed out early: tests/conftest.py)

REPO = Path(__file__).resolve().parent.parent
CENSUS_JSON = REPO / "specs" / "census.json"

REFERENCE_STEPS = [
    ("Preprocess", "Processing"),
    ("Tune", "Tuning"),
    ("LightGBMModel-CreateModel", "Model"),
    ("Evaluate", "Processing"),
    ("ModelBiasCheck", "ClarifyCheck"),
    ("ModelExplainabilityCheck", "ClarifyCheck"),
    ("DataQualityDataset", "Processing"),
    ("DataQualityCheck", "QualityCheck"),
    ("F1Gate", "Condition"),
]
GATED_STEPS = [
    ("Register-RegisterModel", "RegisterModel"),
    ("Deploy", "Lambda"),
    ("BatchTransform", "Transform"),
]


def _offline_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(tmp_path)  # no ~/.aws, no ~/.config/sagemaker
    env.pop("SAGEMAKER_SUPPRESS_V2_WARNING", None)
    return env


def _compile_offline(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "tests" / "offline_cli.py"), "compile", "specs/census.yaml", *args],
        cwd=REPO,
        env=_offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )


class CountingCredentialsServer(http.server.ThreadingHTTPServer):
    """A container credentials endpoint on 127.0.0.1 that answers with credentials and counts requests."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.requests.append(f"{self.command} {self.path}")
                body = b'{"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "secret", "Token": "t", "Expiration": "2099-01-01T00:00:00Z"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = _answer

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


CREDENTIAL_PROCESS = """import sys
with open(sys.argv[1], "a") as runs:
    runs.write("run\\n")
print('{"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "secret"}')
"""


def _compile_with_credentials_configured(
    home: Path, extra_env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`lgbm-pipeline compile` (the real CLI, network allowed) with credential providers configured."""
    return subprocess.run(
        [sys.executable, "-m", "lgbm_pipeline_compiler.cli", "compile", "specs/census.yaml"],
        cwd=REPO,
        env={**_offline_env(home), **extra_env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def compiles_with_credentials(tmp_path_factory) -> dict:
    """Issue 15, finding 10: compile once with AWS_CONTAINER_CREDENTIALS_FULL_URI pointing at a
    counting server, once with also a profile (AWS_CONFIG_FILE, AWS_PROFILE) whose
    credential_process appends to a file. botocore asks the process first, so the container
    endpoint needs the compile without the profile (the SDK used to ask each 3 times)."""
    folder = tmp_path_factory.mktemp("credentials")
    runs, script, config = folder / "runs.txt", folder / "credential_process.py", folder / "config"
    script.write_text(CREDENTIAL_PROCESS)
    config.write_text(f"[profile hostile]\ncredential_process = {sys.executable} {script} {runs}\n")
    server = CountingCredentialsServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    uri = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{server.server_address[1]}/credentials"}
    profile = {"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "hostile"}
    try:
        container = _compile_with_credentials_configured(folder / "home-container", uri)
        process = _compile_with_credentials_configured(folder / "home-profile", {**uri, **profile})
    finally:
        server.shutdown()
        server.server_close()
    return {
        "compiles": (container, process),
        "requests": list(server.requests),
        "process_runs": runs.read_text().splitlines() if runs.exists() else [],
    }


@pytest.fixture(scope="module")
def two_offline_compiles(
    tmp_path_factory, compiles_with_credentials
) -> tuple[subprocess.CompletedProcess[str], ...]:
    """A compile with no network and no AWS variables, then one with credentials configured."""
    return _compile_offline(tmp_path_factory.mktemp("home")), compiles_with_credentials["compiles"][0]


def test_compile_asks_no_credential_provider(compiles_with_credentials):
    for compiled in compiles_with_credentials["compiles"]:
        assert compiled.returncode == 0, compiled.stderr
        assert compiled.stdout == CENSUS_JSON.read_text(encoding="utf-8")  # byte-identical
        assert compiled.stderr == ""
    assert compiles_with_credentials["requests"] == []
    assert compiles_with_credentials["process_runs"] == []


def test_the_credential_traps_spring_outside_compile(tmp_path):
    """The trap works: the same configuration does reach both providers when credentials are
    resolved (so the zero counts above mean compile never looked)."""
    runs, script, config = tmp_path / "runs.txt", tmp_path / "credential_process.py", tmp_path / "config"
    script.write_text(CREDENTIAL_PROCESS)
    config.write_text(f"[profile hostile]\ncredential_process = {sys.executable} {script} {runs}\n")
    server = CountingCredentialsServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    probe = "import boto3; print(boto3.Session().get_credentials().access_key)"
    uri = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"http://127.0.0.1:{server.server_address[1]}/credentials"}
    try:
        for extra in (uri, {**uri, "AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "hostile"}):
            env = {**_offline_env(tmp_path), **extra}
            out = subprocess.run(
                [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
            )
            assert out.stdout.strip() == "AKIAIOSFODNN7EXAMPLE", out.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert server.requests == ["GET /credentials"]
    assert runs.read_text().splitlines() == ["run"]


def test_compiling_in_process_asks_no_profile_and_restores_the_environment(
    census_spec, monkeypatch, tmp_path
):
    """In a process that already uses boto3: a profile that does not exist (botocore raises
    ProfileNotFound for it) and a credential_process are not touched; the caller's default session,
    botocore's resolver factory and the environment are as they were afterwards."""
    import boto3
    import botocore.credentials

    from lgbm_pipeline_compiler import compile_spec

    runs, script, config = tmp_path / "runs.txt", tmp_path / "credential_process.py", tmp_path / "config"
    script.write_text(CREDENTIAL_PROCESS)
    config.write_text(f"[default]\ncredential_process = {sys.executable} {script} {runs}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    environment, resolver = dict(os.environ), botocore.credentials.create_credential_resolver
    assert compile_spec(census_spec) == json.loads(CENSUS_JSON.read_text(encoding="utf-8"))
    assert not runs.exists()
    assert boto3.DEFAULT_SESSION is None
    assert botocore.credentials.create_credential_resolver is resolver
    assert dict(os.environ) == environment


def test_compiles_with_no_aws_variables_and_no_network(two_offline_compiles):
    first = two_offline_compiles[0]
    assert first.returncode == 0, first.stderr
    definition = json.loads(first.stdout)
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == REFERENCE_STEPS
    gate = definition["Steps"][-1]
    assert [(s["Name"], s["Type"]) for s in gate["Arguments"]["IfSteps"]] == GATED_STEPS
    assert gate["Arguments"]["ElseSteps"] == []


def test_stdout_is_only_the_definition(two_offline_compiles):
    first = two_offline_compiles[0]
    assert first.stdout.startswith("{\n") and first.stdout.endswith("}\n")
    assert "deprecat" not in first.stdout.lower() and "INFO" not in first.stdout
    assert first.stderr == ""


def test_two_processes_give_the_same_bytes(two_offline_compiles):
    first, second = two_offline_compiles
    assert second.returncode == 0, second.stderr
    assert first.stdout.encode() == second.stdout.encode()


def test_committed_census_definition_is_current(two_offline_compiles):
    """specs/census.json is what reviewers diff; regenerate with
    `lgbm-pipeline compile specs/census.yaml > specs/census.json`."""
    assert CENSUS_JSON.read_text(encoding="utf-8") == two_offline_compiles[0].stdout


def test_no_timestamps_uuids_or_job_names(two_offline_compiles):
    text = two_offline_compiles[0].stdout
    import re

    assert not re.search(r"\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}", text), (
        "a timestamp leaked into the definition"
    )
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text), (
        "a uuid leaked"
    )
    assert "ProcessingJobName" not in text and "HyperParameterTuningJobName" not in text
