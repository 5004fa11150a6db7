"""A small hand-written pipeline definition (no compile) and compiled-output directories of it."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

PREP_V1 = b"print('prep v1')\n"
BUCKET = "s3://bucket/p"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def definition(prep: bytes = PREP_V1) -> dict[str, Any]:
    """Prep (processing) → Train → Check (DependsOn Train) → Gate: if Register, else Stop."""
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "InstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
            {"Name": "Threshold", "Type": "Float", "DefaultValue": 0.7},
            {"Name": "SkipCheck", "Type": "Boolean", "DefaultValue": False},
            {"Name": "Approval", "Type": "String", "DefaultValue": "PendingManualApproval"},
        ],
        "Steps": [
            {
                "Name": "Prep",
                "Type": "Processing",
                "Arguments": {
                    "ProcessingResources": {
                        "ClusterConfig": {
                            "InstanceCount": 1,
                            "InstanceType": {"Get": "Parameters.InstanceType"},
                        }
                    },
                    "ProcessingInputs": [
                        {"InputName": "code", "S3Input": {"S3Uri": f"{BUCKET}/artifacts/{sha(prep)}/prep.py"}}
                    ],
                    "ProcessingOutputConfig": {
                        "Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": f"{BUCKET}/out"}}]
                    },
                },
                "PropertyFiles": [
                    {"PropertyFileName": "Report", "OutputName": "train", "FilePath": "r.json"}
                ],
            },
            {
                "Name": "Train",
                "Type": "Training",
                "Arguments": {
                    "InputDataConfig": [
                        {
                            "ChannelName": "train",
                            "DataSource": {
                                "S3DataSource": {
                                    "S3Uri": {
                                        "Get": "Steps.Prep.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"
                                    }
                                }
                            },
                        }
                    ],
                    "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
                },
            },
            {
                "Name": "Check",
                "Type": "ClarifyCheck",
                "DependsOn": ["Train"],
                "CheckType": "MODEL_BIAS",
                "FailOnViolation": True,
                "SkipCheck": {"Get": "Parameters.SkipCheck"},
                "RegisterNewBaseline": False,
            },
            {
                "Name": "Gate",
                "Type": "Condition",
                "DependsOn": ["Check"],
                "Arguments": {
                    "Conditions": [
                        {
                            "Type": "GreaterThanOrEqualTo",
                            "LeftValue": {
                                "Std:JsonGet": {
                                    "PropertyFile": {"Get": "Steps.Prep.PropertyFiles.Report"},
                                    "Path": "f1",
                                }
                            },
                            "RightValue": {"Get": "Parameters.Threshold"},
                        }
                    ],
                    "IfSteps": [
                        {
                            "Name": "Register",
                            "Type": "RegisterModel",
                            "Arguments": {
                                "ModelApprovalStatus": {"Get": "Parameters.Approval"},
                                "ModelPackageGroupName": "group",
                            },
                        }
                    ],
                    "ElseSteps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "below"}}],
                },
            },
        ],
    }


def edited(**changes: Any) -> dict[str, Any]:
    """A copy of :func:`definition` with ``step name → function(step)`` edits applied."""
    out = copy.deepcopy(definition(changes.pop("prep", PREP_V1)))
    steps = {s["Name"]: s for s in out["Steps"]}
    gate = steps["Gate"]["Arguments"]
    steps.update({s["Name"]: s for s in gate["IfSteps"] + gate["ElseSteps"]})
    params = {p["Name"]: p for p in out["Parameters"]}
    for name, edit in changes.items():
        edit(params if name == "parameters" else out if name == "pipeline" else steps[name])
    return out


def write_output(folder: Path, definition: dict[str, Any], files: dict[str, bytes]) -> Path:
    """A compiled-output directory: pipeline.json, manifest.json and artifacts/ (``files``: S3 URI → bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.json").write_text(json.dumps(definition, indent=2, sort_keys=True) + "\n")
    entries = []
    for uri, data in sorted(files.items()):
        rel = f"artifacts/{sha(data)}/{uri.rsplit('/', 1)[1]}"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
        entries.append({"s3_uri": uri, "path": rel, "sha256": sha(data), "size": len(data)})
    (folder / "manifest.json").write_text(json.dumps({"artifacts": entries}, indent=2, sort_keys=True) + "\n")
    return folder
