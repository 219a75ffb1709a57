"""Write generated rows as parquet, JSON lines or CSV, to local files or ``s3://``.

Output naming: when ``out`` ends with the format's extension and ``files == 1`` it is the
file itself; otherwise ``out`` is a directory / key prefix holding
``part-00000.<ext>`` ... ``part-<K-1>.<ext>``. Existing ``part-NNNNN.<ext>`` files there are
removed first, so a smaller rerun never leaves stale parts behind. Rows are split into
contiguous, near-equal ranges per file. S3 output is written to a local temporary file per
part and uploaded (boto3; ``AWS_ENDPOINT_URL`` points it at an emulator).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .core import COLUMNS, EPOCH, EPOCH_DATE, BadRows, iter_chunks, tracking_id

FORMATS = {"parquet": "parquet", "jsonl": "jsonl", "csv": "csv"}
FORMAT_ALIASES = {"json": "jsonl", "ndjson": "jsonl", "pq": "parquet"}
_PART_RE = re.compile(r"^part-\d{5}\.(parquet|jsonl|csv)$")


@dataclass
class WriteResult:
    rows: int
    format: str
    seed: int
    files: list[str]
    rows_per_file: list[int]
    null_id_rows: list[int] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalize_format(fmt: str) -> str:
    f = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
    if f not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use parquet, jsonl or csv")
    return f


def _is_s3(out: str) -> bool:
    return out.startswith("s3://") or out.startswith("s3a://")


def _split_s3(uri: str) -> tuple[str, str]:
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"bad S3 URI {uri!r}")
    return bucket, key


def target_paths(out: str, fmt: str, files: int) -> tuple[list[str], str | None]:
    """(paths of the output files, directory/prefix they live in or None for a single file)."""
    ext = FORMATS[fmt]
    out = str(out)
    if files == 1 and out.lower().endswith("." + ext):
        return [out], None
    base = out.rstrip("/")
    return [f"{base}/part-{k:05d}.{ext}" for k in range(files)], base


# ---------------------------------------------------------------- per-format writers
def _iso_date(days: int) -> str:
    return date.fromordinal(EPOCH_DATE.toordinal() + days).isoformat()


def _iso_ts(us: int) -> str:
    # Faster than datetime arithmetic per row.
    sec, micro = divmod(us, 1_000_000)
    return datetime.fromtimestamp(sec, tz=EPOCH.tzinfo).strftime("%Y-%m-%dT%H:%M:%S") + f".{micro:06d}Z"


class _JsonlWriter:
    def __init__(self, path: str) -> None:
        self.f = open(path, "w", encoding="utf-8", newline="\n")

    def write(self, cols: dict[str, list[Any]], a: int, b: int) -> None:
        out = []
        dumps = json.dumps
        ids, pids, fn, ln, em, bd, am, co, ca = (cols[c] for c in COLUMNS)
        for k in range(a, b):
            out.append(
                dumps(
                    {
                        "tracking_id": ids[k],
                        "patient_id": pids[k],
                        "first_name": fn[k],
                        "last_name": ln[k],
                        "email": em[k],
                        "birth_date": _iso_date(bd[k]),
                        "amount": am[k],
                        "country": co[k],
                        "created_at": _iso_ts(ca[k]),
                    },
                    separators=(",", ":"),
                )
            )
        if out:
            self.f.write("\n".join(out))
            self.f.write("\n")

    def close(self) -> None:
        self.f.close()


class _CsvWriter:
    def __init__(self, path: str) -> None:
        self.f = open(path, "w", encoding="utf-8", newline="")
        self.w = csv.writer(self.f, lineterminator="\n")
        self.w.writerow(COLUMNS)

    def write(self, cols: dict[str, list[Any]], a: int, b: int) -> None:
        ids, pids, fn, ln, em, bd, am, co, ca = (cols[c] for c in COLUMNS)
        self.w.writerows(
            (
                "" if ids[k] is None else ids[k],
                pids[k],
                fn[k],
                ln[k],
                em[k],
                _iso_date(bd[k]),
                repr(am[k]),
                co[k],
                _iso_ts(ca[k]),
            )
            for k in range(a, b)
        )

    def close(self) -> None:
        self.f.close()


def parquet_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("tracking_id", pa.string()),
            pa.field("patient_id", pa.string()),
            pa.field("first_name", pa.string()),
            pa.field("last_name", pa.string()),
            pa.field("email", pa.string()),
            pa.field("birth_date", pa.date32()),
            pa.field("amount", pa.float64()),
            pa.field("country", pa.string()),
            pa.field("created_at", pa.timestamp("us", tz="UTC")),
        ]
    )


class _ParquetWriter:
    def __init__(self, path: str) -> None:
        import pyarrow.parquet as pq

        self.schema = parquet_schema()
        self.w = pq.ParquetWriter(path, self.schema, compression="snappy")

    def write(self, cols: dict[str, list[Any]], a: int, b: int) -> None:
        import pyarrow as pa

        if b <= a:
            return
        arrays = []
        for f in self.schema:
            vals = cols[f.name][a:b]
            if f.name == "birth_date":
                arr = pa.array(vals, pa.int32()).view(pa.date32())
            elif f.name == "created_at":
                arr = pa.array(vals, pa.int64()).view(pa.timestamp("us", tz="UTC"))
            else:
                arr = pa.array(vals, f.type)
            arrays.append(arr)
        self.w.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.w.close()


_WRITERS: dict[str, Callable[[str], Any]] = {
    "parquet": _ParquetWriter,
    "jsonl": _JsonlWriter,
    "csv": _CsvWriter,
}


# ---------------------------------------------------------------- driver
def _file_ranges(rows: int, files: int) -> list[int]:
    """Rows per file: contiguous, near-equal."""
    return [(k + 1) * rows // files - k * rows // files for k in range(files)]


def _s3_client() -> Any:
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", region_name=region)


def _clear_local_parts(base: str) -> None:
    p = Path(base)
    if p.is_dir():
        for child in p.iterdir():
            if _PART_RE.match(child.name):
                child.unlink()


def _clear_s3_parts(s3: Any, base: str) -> None:
    bucket, prefix = _split_s3(base)
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        keys = [o["Key"] for o in page.get("Contents", ()) if _PART_RE.match(o["Key"][len(prefix) :])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})


def _slices(chunks: Iterator[dict[str, list[Any]]], sizes: list[int]) -> Iterator[tuple[int, dict[str, list[Any]], int, int]]:
    """(file index, chunk, a, b): route each chunk's row range [a, b) to its file."""
    k = 0
    left = sizes[0] if sizes else 0
    for cols in chunks:
        n = len(cols["tracking_id"])
        a = 0
        while a < n:
            while left == 0:
                k += 1
                left = sizes[k]
            take = min(left, n - a)
            yield k, cols, a, a + take
            a += take
            left -= take


def write_dataset(
    out: str | os.PathLike[str],
    rows: int,
    fmt: str = "parquet",
    *,
    seed: int = 0,
    files: int = 1,
    null_ids: int = 0,
    duplicate_ids: int = 0,
    id_prefix: str = "TRK",
    s3_client: Any = None,
) -> WriteResult:
    """Generate ``rows`` rows and write them to ``out`` in ``files`` files. See module doc."""
    fmt = normalize_format(fmt)
    if files < 1:
        raise ValueError("files must be >= 1")
    if rows < 0:
        raise ValueError("rows must be >= 0")
    out = str(out)
    bad = BadRows.plan(rows, seed, null_ids, duplicate_ids)
    paths, base = target_paths(out, fmt, files)
    sizes = _file_ranges(rows, files)
    s3 = None
    tmpdir = None
    if _is_s3(out):
        s3 = s3_client or _s3_client()
        if base is not None:
            _clear_s3_parts(s3, base)
        tmpdir = tempfile.mkdtemp(prefix="datagen_")
        local_paths = [os.path.join(tmpdir, os.path.basename(p)) for p in paths]
    else:
        if base is not None:
            Path(base).mkdir(parents=True, exist_ok=True)
            _clear_local_parts(base)
        else:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
        local_paths = paths

    make = _WRITERS[fmt]
    try:
        current_k = -1
        writer = None

        def finish(k: int, w: Any) -> None:
            w.close()
            if s3 is not None:
                bucket, key = _split_s3(paths[k])
                s3.upload_file(local_paths[k], bucket, key)
                os.unlink(local_paths[k])

        for k, cols, a, b in _slices(iter_chunks(rows, seed, bad=bad, id_prefix=id_prefix), sizes):
            if k != current_k:
                if writer is not None:
                    finish(current_k, writer)
                # Files that get zero rows (more files than rows) are still written, empty.
                for empty_k in range(current_k + 1, k):
                    finish(empty_k, make(local_paths[empty_k]))
                writer = make(local_paths[k])
                current_k = k
            writer.write(cols, a, b)
        if writer is not None:
            finish(current_k, writer)
        for empty_k in range(current_k + 1, files):
            finish(empty_k, make(local_paths[empty_k]))
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)

    return WriteResult(
        rows=rows,
        format=fmt,
        seed=seed,
        files=paths,
        rows_per_file=sizes,
        null_id_rows=sorted(bad.null_id_rows),
        duplicate_ids=sorted(tracking_id(s, id_prefix) for s in bad.duplicate_of.values()),
    )
