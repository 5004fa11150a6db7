"""The diff on real pairs of census specs (each compiled once per session): the full report.

Hashes in the expected reports are read from the compiled definitions (or computed from the
scripts the test wrote); everything else is literal.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from review_variants import SCRIPT_V1, SCRIPT_V2

from lgbm_pipeline_compiler.review import render
from lgbm_pipeline_compiler.review.diff import compare
from lgbm_pipeline_compiler.review.sides import Side

pytestmark = pytest.mark.xdist_group("review-census-variants")  # one worker compiles the variants

NO_RISK = "risk: none (gate, checks, approval status and instances unchanged)"


def input_sha(definition: dict, step: str, input_name: str) -> str:
    """The content hash in a processing step's input S3 URI (…/artifacts/{sha256}/{name})."""
    (found,) = [s for s in definition["Steps"] if s["Name"] == step]
    (uri,) = [
        i["S3Input"]["S3Uri"] for i in found["Arguments"]["ProcessingInputs"] if i["InputName"] == input_name
    ]
    return uri.split("/artifacts/")[1].split("/")[0]


def report(variants, old: str, new: str) -> tuple[str, str, str]:
    a, b = variants.side(old), variants.side(new)
    return render.text(compare(a, b)), a.label, b.label


def test_widened_learning_rate_range(variants):
    text, old, new = report(variants, "base", "widened_learning_rate")
    assert text == (
        f"--- {old}\n+++ {new}\n{NO_RISK}\n"
        "fields:\n"
        "  ~ tuning.ranges.learning_rate.max: 0.5 → 0.9 (Tune: HyperParameterTuningJobConfig.ParameterRanges"
        ".ContinuousParameterRanges[learning_rate].MaxValue)\n"
    )


def test_lowered_gate_is_a_parameter_default_and_the_risk(variants):
    text, old, new = report(variants, "base", "lowered_gate")
    assert text == (
        f"--- {old}\n+++ {new}\n"
        "risk: gate F1Gate threshold 0.68 → 0.6 (looser)\n"
        "parameters:\n"
        "  ~ F1Threshold: default 0.68 → 0.6 (quality_gate.threshold)\n"
    )


def test_added_bias_method_shows_in_clarifys_analysis_config(variants):
    text, old, new = report(variants, "base", "added_bias_method")
    sha_a = input_sha(variants.side("base").definition, "ModelBiasCheck", "analysis_config")
    sha_b = input_sha(variants.side("added_bias_method").definition, "ModelBiasCheck", "analysis_config")
    assert sha_a != sha_b
    assert text == (
        f"--- {old}\n+++ {new}\n{NO_RISK}\n"
        "other spec changes (not traced to one field):\n"
        '  ~ clarify.bias.methods: ["DPPL", "DI"] → ["DPPL", "DI", "DCR"]\n'
        "artifacts:\n"
        f"  ~ analysis_config.json {sha_a[:12]} → {sha_b[:12]} "
        "(ModelBiasCheck: ProcessingInputs[analysis_config].S3Input.S3Uri)\n"
        "      --- a/analysis_config.json\n"
        "      +++ b/analysis_config.json\n"
        "      @@ -32,7 +32,8 @@\n"
        '           "post_training_bias": {\n'
        '             "methods": [\n'
        '               "DPPL",\n'
        '      -        "DI"\n'
        '      +        "DI",\n'
        '      +        "DCR"\n'
        "             ]\n"
        "           },\n"
        '           "report": {\n'
    )


def test_deploy_section_removed(variants):
    text, old, new = report(variants, "base", "no_deploy")
    assert text == (
        f"--- {old}\n+++ {new}\n{NO_RISK}\n"
        "steps:\n"
        "  - Deploy (Lambda, spec section deploy removed)\n"
        "edges:\n"
        "  - F1Gate → Deploy (if)\n"
        "  - Register-RegisterModel → Deploy (data)\n"
    )


def test_changed_step_script_shows_its_own_diff(variants):
    text, old, new = report(variants, "script_v1", "script_v2")
    sha_a, sha_b = (hashlib.sha256(s.encode()).hexdigest() for s in (SCRIPT_V1, SCRIPT_V2))
    assert input_sha(variants.side("script_v2").definition, "Preprocess", "code") == sha_b
    assert text == (
        f"--- {old}\n+++ {new}\n{NO_RISK}\n"
        "artifacts:\n"
        f"  ~ preprocessing.py {sha_a[:12]} → {sha_b[:12]} (Preprocess: ProcessingInputs[code].S3Input.S3Uri)\n"
        "      --- a/preprocessing.py\n"
        "      +++ b/preprocessing.py\n"
        "      @@ -1,6 +1,6 @@\n"
        '       """Preprocessing for the review tests."""\n'
        "       \n"
        "      -SPLIT = 0.8\n"
        "      +SPLIT = 0.9\n"
        "       \n"
        "       \n"
        "       def main():\n"
    )


def test_renamed_step_is_one_rename_not_a_removal_and_an_addition(variants):
    text, old, new = report(variants, "base", "renamed_gate")
    assert text == (
        f"--- {old}\n+++ {new}\n"
        "risk: gate ROCAUCGate (was F1Gate): classification_metrics.f1.value >= 0.68 → "
        "classification_metrics.roc_auc.value >= 0.68\n"
        "steps:\n"
        "  ~ F1Gate → ROCAUCGate (Condition, renamed)\n"
        "fields:\n"
        "  ~ ROCAUCGate: Conditions[0].LeftValue: "
        "JsonGet(Steps.Evaluate.PropertyFiles.EvaluationReport, classification_metrics.f1.value) → "
        "JsonGet(Steps.Evaluate.PropertyFiles.EvaluationReport, classification_metrics.roc_auc.value)\n"
        "other spec changes (not traced to one field):\n"
        "  ~ quality_gate.metric: f1 → roc_auc\n"
    )


def test_same_spec_twice_is_no_change(variants):
    result = compare(variants.side("base"), variants.side("base"))
    assert not result.changed
    assert render.text(result).endswith("no changes\n")


def test_json_report_of_the_lowered_gate(variants):
    a, b = variants.side("base"), variants.side("lowered_gate")
    data = json.loads(render.render_json_text(compare(a, b)))
    assert data == {
        "old": a.label,
        "new": b.label,
        "changed": True,
        "risk": ["gate F1Gate threshold 0.68 → 0.6 (looser)"],
        "steps": [],
        "fields": [],
        "edges": {"added": [], "removed": []},
        "references": [],
        "parameters": [
            {
                "change": "changed",
                "name": "F1Threshold",
                "old": {"DefaultValue": 0.68, "Type": "Float"},
                "new": {"DefaultValue": 0.6, "Type": "Float"},
                "spec_key": "quality_gate.threshold",
            }
        ],
        "artifacts": [],
        "spec": [],
    }


def test_json_report_names_the_spec_line_of_an_attributed_field(variants):
    b = variants.side("widened_learning_rate")
    (field,) = json.loads(render.render_json_text(compare(variants.side("base"), b)))["fields"]
    line = b.spec.positions(("tuning", "ranges", "learning_rate", "max"))[0]
    assert b.spec.file.endswith("census.yaml")
    lines = open(b.spec.file).read().splitlines()  # noqa: SIM115 - a one-off read
    assert lines[line - 1].strip().startswith("max: 0.9")
    assert field == {
        "step": "Tune",
        "path": "Arguments.HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[learning_rate].MaxValue",
        "old_value": "0.5",
        "new_value": "0.9",
        "spec": {"key": "tuning.ranges.learning_rate.max", "line": line, "old_value": 0.5, "new_value": 0.9},
    }


def test_markdown_report_of_the_removed_deploy_section(variants):
    a, b = variants.side("base"), variants.side("no_deploy")
    assert render.markdown(compare(a, b)) == (
        "<!-- lgbm-pipeline-diff -->\n"
        f"### Pipeline changes: `{a.label}` → `{b.label}`\n"
        "\n"
        "**Risk:** none (gate, checks, approval status and instances unchanged)\n"
        "\n"
        "```mermaid\n"
        "flowchart TD\n"
        '  s0["Tune<br/>Tuning"]\n'
        '  s1["Evaluate<br/>Processing"]\n'
        '  s2["DataQualityCheck<br/>QualityCheck"]\n'
        '  s3["ModelBiasCheck<br/>ClarifyCheck"]\n'
        '  s4["ModelExplainabilityCheck<br/>ClarifyCheck"]\n'
        '  s5{"F1Gate<br/>Condition"}\n'
        '  s6["Register-RegisterModel<br/>RegisterModel"]\n'
        '  s7["Deploy<br/>Lambda"]\n'
        '  s8["BatchTransform<br/>Transform"]\n'
        "  s1 --> s5\n"
        "  s3 -.-> s5\n"
        "  s4 -.-> s5\n"
        "  s0 --> s6\n"
        "  s1 --> s6\n"
        "  s2 --> s6\n"
        "  s3 --> s6\n"
        "  s4 --> s6\n"
        "  s5 -->|if| s6\n"
        "  s5 -->|if| s7\n"
        "  s6 --> s7\n"
        "  s5 -->|if| s8\n"
        "  s6 -.-> s8\n"
        "  classDef removed fill:#ffebe9,stroke:#cf222e,color:#1f2328,stroke-dasharray:4 3\n"
        "  class s7 removed\n"
        "  linkStyle 9,10 stroke:#cf222e,stroke-dasharray:4 3\n"
        "```\n"
        "\n"
        "| step | change | type | spec |\n"
        "|---|---|---|---|\n"
        "| `Deploy` | removed | Lambda | `deploy` |\n"
        "\n"
        "- edge removed: `F1Gate → Deploy (if)`\n"
        "- edge removed: `Register-RegisterModel → Deploy (data)`\n"
    )


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_every_format_says_when_nothing_changed(variants, fmt):
    result = compare(variants.side("base"), variants.side("base"))
    out = {"text": render.text, "markdown": render.markdown, "json": render.render_json_text}[fmt](result)
    if fmt == "json":
        assert json.loads(out)["changed"] is False
    else:
        assert out.rstrip("\n").endswith(("no changes", "No changes."))


def test_with_a_spec_on_one_side_the_key_holding_the_new_value_is_named(variants):
    """The committed JSON against an edited spec (as `compile --check` and `diff --base` compare):
    the spec key is found by value, as `validate --deep` places findings (lint/sources.py)."""
    committed = Side("committed/pipeline.json", variants.side("base").definition)
    new = variants.side("widened_learning_rate")
    assert render.text(compare(committed, new)) == (
        f"--- committed/pipeline.json\n+++ {new.label}\n{NO_RISK}\n"
        "fields:\n"
        '  ~ tuning.ranges.learning_rate.max: "0.5" → "0.9" (Tune: HyperParameterTuningJobConfig.ParameterRanges'
        ".ContinuousParameterRanges[learning_rate].MaxValue)\n"
    )
