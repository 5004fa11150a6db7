"""Transform steps: Batch Transform's record splitting, mini-batches, filters and join, against the
model's own inference handlers (as the serving container calls them).

Follows "Associate prediction results with input records" in the SageMaker developer guide: the
input filter selects each CSV record's columns before the model sees it, JoinSource=Input appends
the model's output columns to the input record, the output filter selects from the joined record,
and each input object ``name`` becomes ``{S3OutputPath}/name.out``.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from ..context import StepContext, StepFailed
from ..serve import load_model
from .catalog import model_data_url

MB = 1024 * 1024
_INDEX = re.compile(r"^\s*(-?\d+)?\s*(:)?\s*(-?\d+)?\s*$")


def select(columns: list[str], path: str | None) -> list[str]:
    """The columns a CSV JSONPath filter keeps: ``$``, ``$[i]``, ``$[i,j]``, ``$[a:b]`` and mixes.

    As the data-processing guide defines them: indices are columns, -1 is the last column, and a
    slice includes both ends.
    """
    if path in (None, "", "$"):
        return columns
    if not (path.startswith("$[") and path.endswith("]")):
        raise StepFailed(f"unsupported filter {path!r} for text/csv; use $, $[i,j] or $[a:b]")
    kept: list[str] = []
    for part in path[2:-1].split(","):
        match = _INDEX.match(part)
        if not match or not (match.group(1) or match.group(3) or match.group(2)):
            raise StepFailed(f"unsupported filter {path!r} for text/csv: {part!r} is not an index or slice")
        start, colon, stop = match.groups()
        if colon:  # "$[1:4]" is the second through fifth columns: the stop is inclusive
            end = int(stop) if stop else -1
            end = None if end == -1 else end + 1
            kept += columns[slice(int(start) if start else None, end)]
        else:
            index = int(start)
            if not -len(columns) <= index < len(columns):
                raise StepFailed(f"filter {path!r}: a record has {len(columns)} columns, no index {index}")
            kept.append(columns[index])
    return kept


def _fields(line: str) -> list[str]:
    return next(csv.reader([line]))


def _line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def _batches(records: list[str], multi: bool, max_bytes: int) -> list[list[str]]:
    """Mini-batches of records: one per request (SingleRecord), or as many as fit (MultiRecord)."""
    batches: list[list[str]] = []
    size = 0
    for record in records:
        length = len(record.encode()) + 1
        if length > max_bytes:
            raise StepFailed(
                f"a record of {length} bytes exceeds MaxPayloadInMB ({max_bytes // MB} MB); raise max_payload_mb"
            )
        if not batches or not multi or size + length > max_bytes:
            batches.append([])
            size = 0
        batches[-1].append(record)
        size += length
    return batches


def run(ctx: StepContext) -> dict[str, Any]:
    args = ctx.resolve(ctx.step["Arguments"])
    source, output = args["TransformInput"], args["TransformOutput"]
    content_type, accept = source.get("ContentType", "text/csv"), output.get("Accept", "text/csv")
    if content_type != "text/csv" or source.get("SplitType") != "Line":
        raise StepFailed("only text/csv input split by Line runs locally")
    processing = args.get("DataProcessing", {})
    join = processing.get("JoinSource", "None") == "Input"
    multi = args.get("BatchStrategy", "MultiRecord") == "MultiRecord"
    max_bytes = int(args.get("MaxPayloadInMB", 6)) * MB
    model = load_model(ctx.store, model_data_url(ctx.work_dir, args["ModelName"]))
    prefix = source["DataSource"]["S3DataSource"]["S3Uri"]
    local = ctx.work / "input"
    ctx.store.download(prefix, local)
    rows = 0
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        records = [line for line in path.read_text().splitlines() if line.strip()]
        joined: list[str] = []
        for batch in _batches(records, multi, max_bytes):
            body = "\n".join(_line(select(_fields(r), processing.get("InputFilter"))) for r in batch)
            status, _, answer = model.invoke(body.encode(), content_type, accept)
            if status != 200:
                raise StepFailed(f"{path.name}: the model answered {status}: {answer.decode().strip()}")
            predictions = answer.decode().splitlines()
            if len(predictions) != len(batch):
                raise StepFailed(
                    f"{path.name}: {len(batch)} records sent, {len(predictions)} predictions returned; "
                    "joining needs one per record"
                )
            for record, prediction in zip(batch, predictions, strict=True):
                fields = (_fields(record) if join else []) + _fields(prediction)
                joined.append(_line(select(fields, processing.get("OutputFilter"))))
        rows += len(records)
        relative = path.relative_to(local).as_posix()
        ctx.store.put_bytes(
            f"{output['S3OutputPath'].rstrip('/')}/{relative}.out", ("\n".join(joined) + "\n").encode()
        )
        ctx.log.write(f"{relative}: {len(records)} records scored\n")
    ctx.log.write(f"{rows} records in total → {output['S3OutputPath']}\n")
    return {
        "TransformJobName": f"{ctx.name}-{ctx.execution_id}"[:63],
        "TransformJobStatus": "Completed",
        "TransformOutput": dict(output),
        "ModelName": args["ModelName"],
    }
