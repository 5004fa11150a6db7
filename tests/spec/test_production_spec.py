"""The production settings (issue 16) in the spec: each one validated, and the cross-section checks
of what SageMaker would refuse or what cannot work (isolation without internet, keys elsewhere)."""

from __future__ import annotations

from spec_helpers import base_text, findings_of, one_finding, validate_text

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VPC = "network:\n  subnets: [subnet-0a1b2c3d4e5f67890]\n  security_group_ids: [sg-0123456789abcdef0]\n"


def with_sections(*sections: str) -> str:
    return base_text().rstrip("\n") + "\n" + "\n".join(sections)


def test_every_setting_validates_and_overrides_apply_per_section():
    spec = validate_text(
        with_sections(
            VPC + "  enable_network_isolation: true\n  overrides:\n    evaluation: {vpc: false}\n"
            "    clarify: {enable_network_isolation: false}\n",
            f"encryption:\n  volume_kms_key: {KEY}\n  output_kms_key: alias/out\n"
            "  overrides:\n    training: {output_kms_key: alias/models}\n",
            "cache:\n  enabled: true\n  expire_after: P1DT6H\n  overrides:\n    evaluation: {enabled: false}\n",
            "retries:\n  policies:\n    - {exceptions: [Step.THROTTLING], max_attempts: 3}\n"
            "    - {exceptions: [SageMaker.CAPACITY_ERROR], expire_after_minutes: 60}\n",
            "dependencies: image\n",
        ).replace(
            "training:\n",
            "training:\n  image_uri: 111122223333.dkr.ecr.us-east-1.amazonaws.com/lgbm:4.6\n",
            1,
        )
    )
    assert spec.network.settings("training").in_vpc and spec.network.settings("training").isolation
    assert not spec.network.settings("evaluation").in_vpc and spec.network.settings("evaluation").isolation
    assert spec.encryption.keys("training") == (KEY, "alias/models")
    assert spec.encryption.keys("preprocessing") == (KEY, "alias/out")
    assert spec.cache.config("evaluation") == (False, "P1DT6H")
    assert spec.cache.config("training") == (True, "P1DT6H")
    assert [p.exceptions for p in spec.retries.policies_for("model")] == [["Step.THROTTLING"]]
    assert len(spec.retries.policies_for("training")) == 2


def test_ids_and_keys_are_checked_with_the_fix():
    assert (
        "is not a subnet id; expected something like subnet-0a1b2c3d4e5f67890"
        in one_finding(with_sections(VPC.replace("subnet-0a1b2c3d4e5f67890", "subnet-xyz"))).message
    )
    assert (
        "is not a security group id"
        in one_finding(with_sections(VPC.replace("sg-0123456789abcdef0", "sg1"))).message
    )
    finding = one_finding(with_sections("network:\n  subnets: [subnet-0a1b2c3d4e5f67890]\n"))
    assert (
        "needs both subnets and security_group_ids" in finding.message
        and "add security_group_ids" in finding.message
    )
    alias = one_finding(with_sections("encryption:\n  volume_kms_key: alias/volumes\n"))
    assert alias.path == "encryption.volume_kms_key" and "key id or a key ARN only" in alias.message
    assert (
        "not a KMS key id, key ARN, alias/NAME or alias ARN"
        in one_finding(with_sections("encryption:\n  output_kms_key: my-key\n")).message
    )
    elsewhere = one_finding(
        with_sections(f"encryption:\n  volume_kms_key: {KEY.replace('us-east-1', 'eu-west-1')}\n")
    )
    assert "the key is in eu-west-1, but the pipeline runs in us-east-1" in elsewhere.message


def test_volume_key_on_an_instance_with_local_storage_is_refused():
    text = with_sections(f"encryption:\n  volume_kms_key: {KEY}\n")
    text = text.replace(
        "training:\n  instance_type: ml.m5.xlarge", "training:\n  instance_type: ml.g4dn.xlarge", 1
    )
    finding = one_finding(text)
    assert "training.instance_type ml.g4dn.xlarge has local NVMe storage" in finding.message
    assert "encryption.overrides.training.volume_kms_key" in finding.message


def test_spot_wait_must_cover_the_runtime():
    text = base_text().replace(
        "training:\n", "training:\n  max_runtime_seconds: 3600\n  spot: {max_wait_seconds: 1800}\n", 1
    )
    finding = one_finding(text)
    assert finding.path == "training.spot.max_wait_seconds"
    assert "MaxWaitTimeInSeconds >= MaxRuntimeInSeconds" in finding.message
    ok = validate_text(text.replace("max_wait_seconds: 1800", "max_wait_seconds: 3600"))
    assert ok.training.spot is not None and ok.training.spot.max_wait_seconds == 3600


def test_cache_duration_and_retry_policies_are_checked():
    assert (
        "is not an ISO 8601 duration" in one_finding(with_sections("cache:\n  expire_after: 30d\n")).message
    )
    assert "P30D" in one_finding(with_sections("cache:\n  expire_after: PT30S\n")).message
    both = one_finding(
        with_sections(
            "retries:\n  policies:\n    - {exceptions: [Step.THROTTLING], max_attempts: 3, expire_after_minutes: 5}\n"
        )
    )
    assert "exactly one of max_attempts and expire_after_minutes" in both.message
    mixed = one_finding(
        with_sections(
            "retries:\n  policies:\n    - {exceptions: [Step.THROTTLING, SageMaker.CAPACITY_ERROR], max_attempts: 3}\n"
        )
    )
    assert "split them into two list items" in mixed.message
    model = one_finding(
        with_sections(
            "retries:\n  overrides:\n    model:\n      - {exceptions: [SageMaker.CAPACITY_ERROR], max_attempts: 3}\n"
        )
    )
    assert model.path == "retries.overrides.model[0].exceptions" and "run no SageMaker job" in model.message
    absent = one_finding(with_sections("cache:\n  overrides:\n    batch_transform: {enabled: false}\n"))
    assert (
        absent.path == "cache.overrides.batch_transform" and "no `batch_transform` section" in absent.message
    )


def test_network_isolation_with_a_pypi_install_names_the_fix():
    findings = findings_of(with_sections("network:\n  enable_network_isolation: true\n"))
    clarify, finding = sorted(findings, key=lambda f: "Clarify" not in f.message)
    assert (
        "SageMaker Clarify's job calls a shadow endpoint" in clarify.message
        and "engine: builtin" in clarify.message
    )
    assert finding.path == "network.enable_network_isolation"
    assert "`dependencies: pypi` pip-installs LightGBM from PyPI" in finding.message
    assert "set `dependencies: bundled`" in finding.message
    # only the training and serving jobs isolated: the message names them, at the override
    override = one_finding(
        with_sections("network:\n  overrides:\n    training: {enable_network_isolation: true}\n")
    )
    assert override.path == "network.overrides.training.enable_network_isolation"
    assert "the training job(s) without internet" in override.message


def test_bundled_and_image_modes_need_a_known_platform_or_an_image():
    image = one_finding(with_sections("dependencies: image\n"))
    assert image.path == "dependencies" and "set training.image_uri" in image.message
    text = with_sections("dependencies: bundled\n").replace(
        "training:\n", 'training:\n  framework_version: "0.23-1"\n', 1
    )
    platform = one_finding(text)
    assert platform.path == "training.framework_version" and "known: 1.2-1" in platform.message
    assert validate_text(with_sections("dependencies: bundled\n")).dependencies == "bundled"


def test_several_production_problems_are_reported_at_once():
    findings = findings_of(
        with_sections(
            "network:\n  enable_network_isolation: true\n",
            "cache:\n  overrides:\n    clarify: {enabled: true}\n",
        ).replace("training:\n", "training:\n  spot: {max_wait_seconds: 1}\n", 1)
    )
    assert {f.path for f in findings} >= {
        "network.enable_network_isolation",
        "training.spot.max_wait_seconds",
    }


DATA_QUALITY = "data_quality:\n  instance_type: ml.m5.xlarge\n"


def test_data_quality_takes_its_own_overrides():
    spec = validate_text(
        with_sections(
            DATA_QUALITY,
            VPC + "  enable_network_isolation: true\n  overrides:\n"
            "    data_quality: {enable_network_isolation: false, vpc: false}\n"
            "    clarify: {enable_network_isolation: false}\n",
            f"encryption:\n  volume_kms_key: {KEY}\n  overrides:\n    data_quality: {{output_kms_key: alias/dq}}\n",
            "cache:\n  enabled: true\n  overrides:\n    data_quality: {expire_after: P7D}\n",
            "retries:\n  policies:\n    - {exceptions: [Step.THROTTLING], max_attempts: 3}\n  overrides:\n"
            "    data_quality:\n      - {exceptions: [SageMaker.CAPACITY_ERROR], max_attempts: 2}\n",
            "dependencies: bundled\n",
        )
    )
    net = spec.network.settings("data_quality")
    assert (net.in_vpc, net.isolation) == (False, False)
    assert spec.encryption.keys("data_quality") == (KEY, "alias/dq")
    assert spec.cache.config("data_quality") == (True, "P7D")
    assert [(p.exceptions, p.max_attempts) for p in spec.retries.policies_for("data_quality")] == [
        (["SageMaker.CAPACITY_ERROR"], 2)  # a job section: SageMaker.* policies apply
    ]


def test_a_volume_key_on_a_data_quality_instance_with_local_storage_is_refused():
    finding = one_finding(
        with_sections(
            DATA_QUALITY.replace("ml.m5.xlarge", "ml.g4dn.xlarge"), f"encryption:\n  volume_kms_key: {KEY}\n"
        )
    )
    assert finding.path == "encryption.volume_kms_key"
    assert finding.message == (
        "data_quality.instance_type ml.g4dn.xlarge has local NVMe storage, which SageMaker encrypts in hardware "
        "and refuses a VolumeKmsKeyId for; pick an instance type without local storage or set "
        "encryption.overrides.data_quality.volume_kms_key to null"
    )
