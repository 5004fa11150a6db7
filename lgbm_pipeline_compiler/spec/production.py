"""Cross-section checks of the production settings: network, encryption, cache, retries, spot
training and dependencies. Each yields (location, message) like checks.py."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..errors import Loc
from .dependencies import PLATFORMS
from .encryption import key_region
from .retries import JOB_SECTIONS
from .root import PipelineSpec

Problem = tuple[Loc, str]

# Instance types with local NVMe instance storage, for which SageMaker refuses a VolumeKmsKeyId
# (botocore: "You can't request a VolumeKmsKeyId when using an instance type with local storage"):
# a 'd' in the family's suffix (m5d, c5d, r5d, g4dn, p3dn, p4d, m6id...), and families that have
# instance storage without one (g5, g6, g6e, p5, p5e, trn1, trn1n, inf2 has none).
_LOCAL_STORAGE = re.compile(r"^ml\.(?:[a-z]+\d+[a-z]*d[a-z]*|g5|g6|g6e|p5|p5e|p5en|trn1|trn1n)\.")
_INSTANCE_OF = {
    "preprocessing": "preprocessing.instance_type",
    "training": "training.instance_type",
    "evaluation": "evaluation.instance_type",
    "clarify": "clarify.instance_type",
    "data_quality": "data_quality.instance_type",
    "batch_transform": "batch_transform.instance_type",
}
_SECTION_OF = {"training": "training", "model": "training", "registry": "registry"}


def _present(spec: PipelineSpec, section: str) -> bool:
    return spec.value_at(_SECTION_OF.get(section, section)) is not None


def check_overrides(spec: PipelineSpec) -> Iterator[Problem]:
    """An override of a section the spec does not have is a mistake, not a no-op."""
    for setting in ("network", "encryption", "cache", "retries"):
        for section in getattr(spec, setting).overrides:
            if not _present(spec, section):
                yield (
                    (setting, "overrides", section),
                    f"the spec has no `{section}` section, so this override applies to nothing; remove it",
                )


def check_spot(spec: PipelineSpec) -> Iterator[Problem]:
    spot, runtime = spec.training.spot, spec.training.max_runtime_seconds
    if spot is not None and spot.max_wait_seconds < runtime:
        yield (
            ("training", "spot", "max_wait_seconds"),
            f"max_wait_seconds {spot.max_wait_seconds} is less than training.max_runtime_seconds {runtime}; "
            "SageMaker requires MaxWaitTimeInSeconds >= MaxRuntimeInSeconds: raise it (e.g. to "
            f"{2 * runtime}) or lower max_runtime_seconds",
        )


def check_keys(spec: PipelineSpec) -> Iterator[Problem]:
    """Keys in the pipeline's region; no volume key on instances with local storage."""
    enc = spec.encryption
    named = [(("encryption", k), getattr(enc, k)) for k in ("volume_kms_key", "output_kms_key")]
    for section, override in enc.overrides.items():
        named += [(("encryption", "overrides", section, k), getattr(override, k)) for k in ("volume_kms_key", "output_kms_key")]  # fmt: skip
    for loc, key in named:
        region = key_region(key)
        if region and region != spec.pipeline.region:
            yield (
                loc,
                (
                    f"the key is in {region}, but the pipeline runs in {spec.pipeline.region}; SageMaker jobs "
                    f"use KMS keys of their own region: use a key (or a multi-Region replica) in {spec.pipeline.region}"
                ),
            )
    for section, path in _INSTANCE_OF.items():
        if not _present(spec, section):
            continue
        volume, _ = enc.keys(section)
        instance = spec.value_at(path)
        if volume and isinstance(instance, str) and _LOCAL_STORAGE.match(instance):
            loc = (
                ("encryption", "overrides", section)
                if section in enc.overrides
                else ("encryption", "volume_kms_key")
            )
            yield (
                loc,
                (
                    f"{path} {instance} has local NVMe storage, which SageMaker encrypts in hardware and refuses a "
                    f"VolumeKmsKeyId for; pick an instance type without local storage or set "
                    f"encryption.overrides.{section}.volume_kms_key to null"
                ),
            )


def _installing_sections(spec: PipelineSpec) -> list[str]:
    """Sections whose jobs install step_scripts/requirements.txt when they start."""
    sections = ["training", "model"]
    if spec.evaluation.image_uri is None:
        sections.append("evaluation")
    if spec.clarify is not None and spec.clarify.engine == "builtin":
        sections.append("clarify")
    return sections


def _isolation_loc(spec: PipelineSpec, section: str) -> Loc:
    override = spec.network.overrides.get(section)  # type: ignore[call-overload]
    if override is not None and override.enable_network_isolation is not None:
        return ("network", "overrides", section, "enable_network_isolation")
    return ("network", "enable_network_isolation")


def check_isolation(spec: PipelineSpec) -> Iterator[Problem]:
    """Network isolation with anything that needs the internet."""
    isolated = [
        s for s in ("training", "model", "evaluation", "clarify") if spec.network.settings(s).isolation
    ]
    if spec.dependencies == "pypi":
        offline = [s for s in _installing_sections(spec) if s in isolated]
        if offline:
            yield (
                _isolation_loc(spec, offline[0]),
                (
                    f"network isolation leaves the {', '.join(offline)} job(s) without internet, but "
                    "`dependencies: pypi` pip-installs LightGBM from PyPI as each job starts; set "
                    "`dependencies: bundled` (then run `lgbm-pipeline wheels SPEC`) or `dependencies: image`"
                ),
            )
    clarify = spec.clarify
    if clarify is None or "clarify" not in isolated:
        return
    if clarify.engine == "sagemaker-clarify":
        yield (
            _isolation_loc(spec, "clarify"),
            (
                "SageMaker Clarify's job calls a shadow endpoint of the model, which network isolation blocks; "
                "use `clarify.engine: builtin` or set network.overrides.clarify.enable_network_isolation: false"
            ),
        )
    elif spec.registry is not None:
        for kind in ("bias", "explainability"):
            check = getattr(clarify, kind)
            if check is not None and check.baseline.supplied_constraints is None:
                yield (
                    _isolation_loc(spec, "clarify"),
                    (
                        f"the builtin {kind} check looks up the latest Approved package's baseline with the "
                        "SageMaker API from inside its job, which network isolation blocks; set "
                        f"clarify.{kind}.baseline.supplied_constraints or network.overrides.clarify."
                        "enable_network_isolation: false"
                    ),
                )


def check_retries(spec: PipelineSpec) -> Iterator[Problem]:
    for section, policies in spec.retries.overrides.items():
        if section == "clarify" and spec.clarify is not None and spec.clarify.engine == "sagemaker-clarify":
            yield (
                ("retries", "overrides", section),
                (
                    "ClarifyCheck steps take no retry policies (SageMaker Pipelines); remove this override "
                    "or use clarify.engine: builtin (processing jobs, which do)"
                ),
            )
        if section not in JOB_SECTIONS:
            for i, policy in enumerate(policies):
                if policy.for_jobs:
                    yield (
                        ("retries", "overrides", section, i, "exceptions"),
                        (
                            f"{section} steps run no SageMaker job, so SageMaker.* exceptions never occur there; "
                            "use Step.SERVICE_FAULT or Step.THROTTLING"
                        ),
                    )


def check_dependencies(spec: PipelineSpec) -> Iterator[Problem]:
    mode, training = spec.dependencies, spec.training
    if mode == "image" and training.image_uri is None:
        yield (
            ("dependencies",),
            (
                "`dependencies: image` installs nothing, so the images must have LightGBM: set training.image_uri "
                "(and evaluation.image_uri if evaluation uses another image), or use `dependencies: bundled`"
            ),
        )
    if mode != "bundled":
        return
    if training.image_uri is not None:
        yield (
            ("dependencies",),
            (
                "`dependencies: bundled` resolves wheels for the SageMaker scikit-learn container; with "
                "training.image_uri its platform is unknown: preinstall the requirements and use `dependencies: image`"
            ),
        )
        return
    if training.framework_version not in PLATFORMS:
        yield (
            ("training", "framework_version"),
            (
                f"no verified platform for scikit-learn container {training.framework_version} to resolve wheels "
                f"for (known: {', '.join(PLATFORMS)}); use one of those or `dependencies: pypi`"
            ),
        )
        return
    # The lock itself (wheels.lock.json, written by `lgbm-pipeline wheels`, which loads this spec)
    # is checked by compile: a spec check would stop that command from writing it.


PRODUCTION_CHECKS = (
    check_overrides,
    check_spot,
    check_keys,
    check_isolation,
    check_retries,
    check_dependencies,
)
