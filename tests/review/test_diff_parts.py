"""The diff's parts on a small hand-written definition (no compile): renames, edges, references,
parameters, the risk line, artifacts in bundles and tarballs."""

from __future__ import annotations

import copy
import gzip
import io
import json
import tarfile
from pathlib import Path

from tiny import BUCKET, PREP_V1, definition, edited, sha, write_output

from lgbm_pipeline_compiler.review import render
from lgbm_pipeline_compiler.review.diff import compare
from lgbm_pipeline_compiler.review.sides import Side

NO_RISK = "risk: none (gate, checks, approval status and instances unchanged)"


def text_of(old: dict, new: dict) -> str:
    return render.text(compare(Side("old", old), Side("new", new)))


def set_param(name: str, value):  # noqa: ANN202 - an edit
    def edit(params: dict) -> None:
        params[name]["DefaultValue"] = value

    return edit


def test_rename_is_detected_and_references_follow_it():
    def rename(pipeline: dict) -> None:
        train, check = pipeline["Steps"][1], pipeline["Steps"][2]
        train["Name"] = "Fit"
        check["DependsOn"] = ["Fit"]

    assert text_of(definition(), edited(pipeline=rename)) == (
        f"--- old\n+++ new\n{NO_RISK}\nsteps:\n  ~ Train → Fit (Training, renamed)\n"
    )


def test_a_step_replaced_by_a_different_one_is_a_removal_and_an_addition():
    def replace(pipeline: dict) -> None:
        pipeline["Steps"][1] = {
            "Name": "Fit",
            "Type": "Training",
            "Arguments": {"AlgorithmSpecification": {"TrainingImage": "img"}, "RoleArn": "arn:r"},
        }
        pipeline["Steps"][2]["DependsOn"] = ["Fit"]

    assert text_of(definition(), edited(pipeline=replace)) == (
        f"--- old\n+++ new\n{NO_RISK}\n"
        "steps:\n  + Fit (Training)\n  - Train (Training)\n"
        "edges:\n  + Fit → Check (depends)\n  - Prep → Train (data)\n  - Train → Check (depends)\n"
    )


def test_edges_and_references():
    def register_reads_train(step: dict) -> None:
        step["Arguments"]["ModelMetrics"] = {"S3Uri": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}

    def gate_no_longer_waits(step: dict) -> None:
        del step["DependsOn"]

    assert text_of(definition(), edited(Register=register_reads_train, Gate=gate_no_longer_waits)) == (
        f"--- old\n+++ new\n{NO_RISK}\n"
        "fields:\n  ~ Register: ModelMetrics.S3Uri: (absent) → Get(Steps.Train.ModelArtifacts.S3ModelArtifacts)\n"
        "edges:\n  + Train → Register (data)\n  - Check → Gate (depends)\n"
        "references:\n  ~ Register: +Steps.Train.ModelArtifacts.S3ModelArtifacts\n"
    )


def test_a_parameter_read_instead_of_a_literal_with_the_same_value_is_no_risk():
    def parameterize(step: dict) -> None:
        step["Arguments"]["ResourceConfig"]["InstanceType"] = {"Get": "Parameters.InstanceType"}

    assert text_of(definition(), edited(Train=parameterize)) == (
        f"--- old\n+++ new\n{NO_RISK}\n"
        "fields:\n  ~ Train: ResourceConfig.InstanceType: ml.m5.xlarge → Get(Parameters.InstanceType)\n"
        "references:\n  ~ Train: +Parameters.InstanceType\n"
    )


def test_parameters_added_removed_and_retyped():
    def edit(params: dict) -> None:
        params["Threshold"].update(Type="String", DefaultValue="0.7")
        params["Extra"] = {"Name": "Extra", "Type": "Integer", "DefaultValue": 3}

    def edit_list(pipeline: dict) -> None:
        params = {p["Name"]: p for p in pipeline["Parameters"]}
        edit(params)
        pipeline["Parameters"] = [p for name, p in params.items() if name != "Approval"]

    def literal_approval(step: dict) -> None:
        step["Arguments"]["ModelApprovalStatus"] = "PendingManualApproval"

    new = edited(pipeline=edit_list, Register=literal_approval)
    assert text_of(definition(), new) == (
        "--- old\n+++ new\n"
        'risk: gate Gate: f1 >= 0.7 → f1 >= "0.7"\n'
        "fields:\n  ~ Register: ModelApprovalStatus: Get(Parameters.Approval) → PendingManualApproval\n"
        "references:\n  ~ Register: -Parameters.Approval\n"
        "parameters:\n"
        '  ~ Threshold: default 0.7 → "0.7", type Float → String\n'
        "  + Extra (Integer, default 3)\n"
        "  - Approval (String, default PendingManualApproval)\n"
    )


def test_risk_line_reads_parameter_defaults():
    new = edited(
        parameters=lambda p: [
            set_param("Threshold", 0.75)(p),
            set_param("SkipCheck", True)(p),
            set_param("Approval", "Approved")(p),
            set_param("InstanceType", "ml.m5.4xlarge")(p),
        ],
        Check=lambda s: s.update(FailOnViolation=False),
        Train=lambda s: s["Arguments"]["ResourceConfig"].update(InstanceCount=4),
    )
    result = compare(Side("old", definition()), Side("new", new))
    assert result.risk == [
        "gate Gate threshold 0.7 → 0.75 (stricter)",
        "check Check skipped by default",
        "check Check no longer fails on a violation",
        "approval Register: PendingManualApproval → Approved",
        "Prep InstanceType ml.m5.xlarge → ml.m5.4xlarge",
        "Train InstanceCount 1 → 4",
    ]


def test_risk_line_names_removed_checks_and_gates():
    def drop(pipeline: dict) -> None:
        gate = pipeline["Steps"][3]
        pipeline["Steps"] = pipeline["Steps"][:2] + gate["Arguments"]["IfSteps"]

    result = compare(Side("old", definition()), Side("new", edited(pipeline=drop)))
    assert result.risk == ["gate Gate removed", "check Check removed"]
    assert render.risk_line(result) == "risk: gate Gate removed; check Check removed"


def test_a_gate_whose_comparison_changes_is_shown_whole():
    def flip(step: dict) -> None:
        step["Arguments"]["Conditions"][0]["Type"] = "LessThan"

    result = compare(Side("old", definition()), Side("new", edited(Gate=flip)))
    assert result.risk == ["gate Gate: f1 >= 0.7 → f1 < 0.7"]


def _tarball(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def test_bundle_and_tarball_members_are_diffed_one_by_one(tmp_path):
    def with_artifacts(lib: dict[str, bytes], tarball: bytes) -> tuple[dict, dict[str, bytes]]:
        listing = sha("".join(f"{sha(lib[n])}  {n}\n" for n in sorted(lib)).encode())
        prefix = f"{BUCKET}/artifacts/{listing}/lib"
        code = f"{BUCKET}/artifacts/{sha(tarball)}/sourcedir.tar.gz"

        def prep(step: dict) -> None:
            step["Arguments"]["ProcessingInputs"].append({"InputName": "lib", "S3Input": {"S3Uri": prefix}})

        def train(step: dict) -> None:
            step["Arguments"]["HyperParameters"] = {"sagemaker_submit_directory": f'"{code}"'}

        files = {f"{prefix}/{n}": data for n, data in lib.items()}
        files[code] = tarball
        files[f"{BUCKET}/artifacts/{sha(PREP_V1)}/prep.py"] = PREP_V1
        return edited(Prep=prep, Train=train), files

    old_def, old_files = with_artifacts(
        {"common.py": b"A = 1\n", "extra.py": b"B = 2\n"},
        _tarball({"train.py": b"fit()\n", "req.txt": b"x\n"}),
    )
    new_def, new_files = with_artifacts(
        {"common.py": b"A = 2\n", "extra.py": b"B = 2\n"},
        _tarball({"train.py": b"fit(fast=True)\n", "req.txt": b"x\n"}),
    )
    old = write_output(tmp_path / "old", old_def, old_files)
    new = write_output(tmp_path / "new", new_def, new_files)
    from lgbm_pipeline_compiler.review.sides import load

    result = compare(load(str(old)), load(str(new)))
    assert [(a.name, a.places, a.diff) for a in result.artifacts] == [
        (
            "lib",
            (("Prep", "Arguments.ProcessingInputs[lib].S3Input.S3Uri"),),
            (
                "--- a/lib/common.py",
                "+++ b/lib/common.py",
                "@@ -1 +1 @@",
                "-A = 1",
                "+A = 2",
            ),
        ),
        (
            "sourcedir.tar.gz",
            (("Train", "Arguments.HyperParameters.sagemaker_submit_directory"),),
            (
                "--- a/sourcedir.tar.gz/train.py",
                "+++ b/sourcedir.tar.gz/train.py",
                "@@ -1 +1 @@",
                "-fit()",
                "+fit(fast=True)",
            ),
        ),
    ]
    assert result.fields == [] and result.steps == []


def test_artifact_contents_not_at_hand_are_said_so():
    prep_v2 = b"print('prep v2')\n"
    assert text_of(definition(), definition(prep=prep_v2)) == (
        f"--- old\n+++ new\n{NO_RISK}\n"
        "artifacts:\n"
        f"  ~ prep.py {sha(PREP_V1)[:12]} → {sha(prep_v2)[:12]} (Prep: ProcessingInputs[code].S3Input.S3Uri)\n"
        "      (contents not at hand: diff compiled output directories or specs to see them)\n"
    )


def test_risk_line_reads_the_builtin_engines_check_arguments():
    """The builtin Clarify engine's checks are processing jobs: their skip and fail-on-violation
    switches are container arguments (tests/golden/builtin_engine, a compiled census variant)."""
    golden = Path(__file__).resolve().parents[1] / "golden" / "builtin_engine" / "expected.json"
    old = json.loads(golden.read_text())
    new = copy.deepcopy(old)
    (skip,) = [p for p in new["Parameters"] if p["Name"] == "SkipModelBiasCheck"]
    skip["DefaultValue"] = True
    (explain,) = [s for s in new["Steps"] if s["Name"] == "ModelExplainabilityCheck"]
    args = explain["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--fail-on-violation") + 1] == "true"
    args[args.index("--fail-on-violation") + 1] = "false"
    result = compare(Side("old", old), Side("new", new))
    assert result.risk == [
        "check ModelBiasCheck skipped by default",
        "check ModelExplainabilityCheck no longer fails on a violation",
    ]


def test_markdown_fits_a_github_comment(tmp_path):
    from lgbm_pipeline_compiler.review.render import COMMENT_LIMIT, markdown
    from lgbm_pipeline_compiler.review.sides import load

    old_prep, new_prep = b"x = 0\n" * 3000, b"x = 1\n" * 3000
    uri = f"{BUCKET}/artifacts/{{}}/prep.py"
    old = write_output(tmp_path / "a", definition(old_prep), {uri.format(sha(old_prep)): old_prep})
    new = write_output(tmp_path / "b", definition(new_prep), {uri.format(sha(new_prep)): new_prep})
    text = markdown(compare(load(str(old)), load(str(new))))
    assert len(text) <= COMMENT_LIMIT
    assert text.endswith("-x = 0\n… 5703 more lines\n```\n\n</details>\n")  # 6,003 lines: 300 shown

    def many(params: dict) -> None:
        for i in range(3000):
            params[f"Added{i}"] = {"Name": f"Added{i}", "Type": "String", "DefaultValue": "x" * 20}

    def with_many(pipeline: dict) -> None:
        params = {p["Name"]: p for p in pipeline["Parameters"]}
        many(params)
        pipeline["Parameters"] = list(params.values())

    text = markdown(compare(Side("old", definition()), Side("new", edited(pipeline=with_many))))
    assert len(text) <= COMMENT_LIMIT
    assert text.endswith("\n\n… cut to fit a comment: run `lgbm-pipeline diff` for the whole report.\n")
