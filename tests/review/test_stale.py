"""`compile --check`: the committed output against its spec and step scripts.

The census spec is compiled once (with its preprocessing.py as a local script next to it, so the
test can edit a step script); each test works on a copy of that spec directory and output (the
manifest's fingerprint holds no paths, so a copy is as up to date as the original).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from review_variants import SCRIPT_V1, SCRIPT_V2, write_variant

from lgbm_pipeline_compiler.review import fingerprint
from lgbm_pipeline_compiler.review.stale import check


def compile_with_fingerprint(spec: Path, out: Path) -> None:
    """What `lgbm-pipeline compile SPEC -o OUT` does (see /tmp/h5-cli-wiring.txt)."""
    from lgbm_pipeline_compiler.compiler import compile_definition
    from lgbm_pipeline_compiler.emit import write_output
    from lgbm_pipeline_compiler.spec import load_spec

    loaded = load_spec(spec)
    inputs = fingerprint.record(spec, {}, loaded)
    write_output(out, compile_definition(loaded), inputs=inputs)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stale")
    spec = write_variant("script_v1", root / "spec")
    compile_with_fingerprint(spec, root / "out")
    return root


@pytest.fixture
def work(compiled, tmp_path) -> tuple[Path, Path]:
    shutil.copytree(compiled, tmp_path / "w")
    return tmp_path / "w" / "spec" / "census.yaml", tmp_path / "w" / "out"


def run_check(spec: Path, out: Path, capsys) -> tuple[int, str, str]:
    rc = check(spec, out, {}, colour=False)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def in_subprocess(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
    ).stdout


def test_unchanged_output_is_answered_from_hashes_without_the_sdk(work):
    spec, out = work
    # compiled again right before the check: others editing the compiler's sources in this tree
    # move the fingerprint (the check would then, rightly, compile to answer)
    compile_with_fingerprint(spec, out)
    code = (
        "import sys\n"
        "from lgbm_pipeline_compiler.review.stale import check\n"
        f"rc = check({str(spec)!r}, {str(out)!r}, {{}})\n"
        "print(rc, 'sagemaker' in sys.modules, 'pydantic' in sys.modules)\n"
    )
    assert in_subprocess(code) == "0 False False\n"


def test_manifest_records_the_inputs(work):
    spec, out = work
    inputs = json.loads((out / "manifest.json").read_text())["inputs"]
    scripts = inputs.pop("scripts")
    assert inputs == {
        "spec_sha256": hashlib.sha256(spec.read_bytes()).hexdigest(),
        "variables_sha256": hashlib.sha256(b"{}").hexdigest(),
        "versions": fingerprint.versions(),
        "compiler_sources_sha256": fingerprint.sources_digest(),
        "definition_sha256": hashlib.sha256((out / "pipeline.json").read_bytes()).hexdigest(),
    }
    assert scripts["preprocessing.py"] == {
        "from": "spec",
        "sha256": hashlib.sha256(SCRIPT_V1.encode()).hexdigest(),
    }
    assert scripts["train.py"]["from"] == "bundled"


def test_fingerprint_resolves_scripts_as_the_compiler_reads_them(work):
    from lgbm_pipeline_compiler.compiler.artifacts import read_script

    spec, out = work
    scripts = json.loads((out / "manifest.json").read_text())["inputs"]["scripts"]
    assert {"preprocessing.py", "train.py", "evaluate.py", "inference.py", "step_common.py"} <= set(scripts)
    assert scripts["wheels.lock.json"] == {"from": "absent"}  # read beside the spec when there is one
    for name, entry in scripts.items():
        if name != "wheels.lock.json":
            assert hashlib.sha256(read_script(name, str(spec.parent))[1]).hexdigest() == entry["sha256"], name


def test_a_file_the_compile_reads_appearing_beside_the_spec_leaves_the_fast_path(work):
    from lgbm_pipeline_compiler.review.stale import up_to_date_by_hash

    spec, out = work
    compile_with_fingerprint(spec, out)  # just now: see the fast-path test
    assert up_to_date_by_hash(spec, out, {})
    (spec.parent / "wheels.lock.json").write_text("{}\n")
    assert not up_to_date_by_hash(spec, out, {})
    (spec.parent / "wheels.lock.json").unlink()
    (spec.parent / "train.py").write_text("print('a local train.py overrides the bundled one')\n")
    assert not up_to_date_by_hash(spec, out, {})


def test_spec_edit_without_recompiling_is_stale_then_recompiling_passes(work, capsys):
    spec, out = work
    spec.write_text(spec.read_text().replace("threshold: 0.68", "threshold: 0.6"))
    rc, stdout, stderr = run_check(spec, out, capsys)
    assert (rc, stderr) == (1, f"{out} is stale: run lgbm-pipeline compile {spec} -o {out}\n")
    assert stdout == (
        f"--- {out}\n+++ {spec}\n"
        "risk: gate F1Gate threshold 0.68 → 0.6 (looser)\n"
        "parameters:\n"
        "  ~ F1Threshold: default 0.68 → 0.6 (quality_gate.threshold)\n"
    )
    compile_with_fingerprint(spec, out)
    assert run_check(spec, out, capsys) == (0, "", f"{out}: up to date with {spec}\n")


def test_step_script_edit_without_recompiling_is_stale(work, capsys):
    spec, out = work
    (spec.parent / "preprocessing.py").write_text(SCRIPT_V2)
    rc, stdout, stderr = run_check(spec, out, capsys)
    sha_a, sha_b = (hashlib.sha256(s.encode()).hexdigest() for s in (SCRIPT_V1, SCRIPT_V2))
    assert (rc, stderr) == (1, f"{out} is stale: run lgbm-pipeline compile {spec} -o {out}\n")
    assert stdout == (
        f"--- {out}\n+++ {spec}\n"
        "risk: none (gate, checks, approval status and instances unchanged)\n"
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


def test_a_comment_edit_compiles_to_the_same_output_and_passes(work, capsys):
    spec, out = work
    spec.write_text("# reviewed\n" + spec.read_text())
    assert run_check(spec, out, capsys) == (
        0,
        "",
        f"{out}: up to date with {spec} (its input fingerprint differs, e.g. after an edit of a comment "
        f"or of the compiler: run lgbm-pipeline compile {spec} -o {out} to make the next check fast)\n",
    )


def test_a_hand_edited_definition_is_stale(work, capsys):
    spec, out = work
    definition = json.loads((out / "pipeline.json").read_text())
    definition["Parameters"][0]["DefaultValue"] = "ml.m5.24xlarge"
    (out / "pipeline.json").write_text(json.dumps(definition, indent=2, sort_keys=True) + "\n")
    rc, stdout, _ = run_check(spec, out, capsys)
    assert rc == 1
    assert stdout == (
        f"--- {out}\n+++ {spec}\n"
        "risk: Preprocess InstanceType ml.m5.24xlarge → ml.m5.xlarge\n"
        "parameters:\n"
        "  ~ ProcessingInstanceType: default ml.m5.24xlarge → ml.m5.xlarge (preprocessing.instance_type)\n"
    )


def test_missing_output_and_missing_dir_argument(tmp_path, capsys):
    spec = write_variant("base", tmp_path / "spec")
    out = tmp_path / "never-compiled"
    assert run_check(spec, out, capsys) == (
        1,
        "",
        f"{out}: no pipeline.json; the output is missing: run lgbm-pipeline compile {spec} -o {out}\n",
    )
    assert check(spec, None, {}) == 2
    assert capsys.readouterr().err == (
        f"{spec}:1:1: compile --check needs -o DIR: the directory holding the committed output\n"
    )
    assert check(tmp_path / "nope.yaml", out, {}) == 2
    assert capsys.readouterr().err == (
        f"{tmp_path / 'nope.yaml'}:1:1: file not found; pass the spec the output in -o DIR was compiled from\n"
    )


def test_the_cli_records_the_fingerprint_and_checks_fast(work, tmp_path, capsys):
    """Through `lgbm-pipeline compile` itself (in this process, whose SDK is already imported; the
    check runs in a fresh one, which must not import it): fails until cli.py is wired
    (/tmp/h5-cli-wiring.txt)."""
    from lgbm_pipeline_compiler.cli import main

    spec, _ = work
    out = tmp_path / "cli-out"
    assert main(["compile", str(spec), "-o", str(out)]) == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text())
    assert "inputs" in manifest, "cli.py records no fingerprint yet: wire it as /tmp/h5-cli-wiring.txt says"
    code = (
        "import sys\n"
        "from lgbm_pipeline_compiler.cli import main\n"
        f"rc = main(['compile', {str(spec)!r}, '--check', '-o', {str(out)!r}])\n"
        "print(rc, 'sagemaker' in sys.modules)\n"
    )
    assert in_subprocess(code) == "0 False\n"
