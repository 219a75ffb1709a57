"""The data generator: formats, counts, uniqueness, determinism, bad rows, S3."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import datagen
from datagen import COLUMNS, iter_rows, write_dataset

pq = pytest.importorskip("pyarrow.parquet")

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def read_rows(paths, fmt):
    rows = []
    for p in paths:
        if fmt == "parquet":
            rows.extend(pq.read_table(p).to_pylist())
        elif fmt == "jsonl":
            with open(p, encoding="utf-8") as f:
                rows.extend(json.loads(line) for line in f if line.strip())
        else:
            with open(p, encoding="utf-8", newline="") as f:
                rows.extend(csv.DictReader(f))
    return rows


def digest(paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_each_format_count_uniqueness_determinism(tmp_path, fmt):
    n = 2_500
    a = write_dataset(tmp_path / "a", n, fmt, seed=5, files=3)
    b = write_dataset(tmp_path / "b", n, fmt, seed=5, files=3)
    c = write_dataset(tmp_path / "c", n, fmt, seed=6, files=3)
    assert [Path(p).name for p in a.files] == [f"part-0000{k}.{fmt}" for k in range(3)]
    assert sum(a.rows_per_file) == n and a.rows_per_file == [833, 833, 834]
    rows = read_rows(a.files, fmt)
    assert len(rows) == n
    assert list(rows[0]) == list(COLUMNS)
    ids = [r["tracking_id"] for r in rows]
    assert len(set(ids)) == n and all(ids)
    assert ids == [f"TRK-{i:010d}" for i in range(n)]  # order preserved across files
    assert digest(a.files) == digest(b.files)  # same seed -> same bytes
    assert read_rows(c.files, fmt) != rows  # other seed -> other values (same ids)
    for r in rows[:50]:
        assert "@" in r["email"] and len(r["country"]) == 2
        assert float(r["amount"]) > 0
    if fmt == "parquet":
        schema = pq.read_schema(a.files[0])
        assert str(schema.field("birth_date").type) == "date32[day]"
        assert str(schema.field("created_at").type) == "timestamp[us, tz=UTC]"
        assert str(schema.field("amount").type) == "double"
    else:
        assert rows[0]["created_at"].endswith("Z") and len(rows[0]["birth_date"]) == 10


def test_rows_do_not_depend_on_file_count_or_format(tmp_path, monkeypatch):
    monkeypatch.setattr(datagen.core, "BLOCK_ROWS", 700)  # small blocks: same property, faster
    n = 3 * 700 + 123  # spans several generation blocks
    one = read_rows(write_dataset(tmp_path / "one.jsonl", n, "jsonl", seed=1).files, "jsonl")
    many = read_rows(write_dataset(tmp_path / "many", n, "jsonl", seed=1, files=7).files, "jsonl")
    assert one == many
    pqrows = read_rows(write_dataset(tmp_path / "x", n, "parquet", seed=1, files=2).files, "parquet")
    assert [r["tracking_id"] for r in pqrows] == [r["tracking_id"] for r in one]
    assert [r["amount"] for r in pqrows] == [r["amount"] for r in one]
    assert pqrows[-1]["birth_date"].isoformat() == one[-1]["birth_date"]
    small = list(iter_rows(3, seed=1))
    assert [r["email"] for r in small] == [r["email"] for r in one[:3]]


def test_single_file_path_and_stale_parts_removed(tmp_path):
    res = write_dataset(tmp_path / "data.csv", 10, "csv")
    assert res.files == [str(tmp_path / "data.csv")]
    d = tmp_path / "dir"
    write_dataset(d, 100, "jsonl", files=5)
    (d / "keep.txt").write_text("not a part")
    write_dataset(d, 100, "jsonl", files=2)
    assert sorted(p.name for p in d.iterdir()) == ["keep.txt", "part-00000.jsonl", "part-00001.jsonl"]
    # more files than rows: empty files are still written
    res = write_dataset(tmp_path / "e", 2, "parquet", files=4)
    assert res.rows_per_file == [0, 1, 0, 1]
    assert sum(pq.read_table(p).num_rows for p in res.files) == 2


def test_bad_rows(tmp_path):
    n = 1_000
    res = write_dataset(tmp_path / "bad", n, "parquet", seed=3, files=2, null_ids=3, duplicate_ids=2)
    ids = [r["tracking_id"] for r in read_rows(res.files, "parquet")]
    assert len(ids) == n
    assert sum(1 for i in ids if i is None) == 3
    assert [i for i, r in enumerate(ids) if r is None] == res.null_id_rows
    non_null = [i for i in ids if i is not None]
    dups = sorted({i for i in non_null if non_null.count(i) > 1})
    assert dups == res.duplicate_ids and len(dups) == 2
    assert len(set(non_null)) == n - 3 - 2
    # CSV writes a null id as an empty field
    res = write_dataset(tmp_path / "bad.csv", 50, "csv", seed=3, null_ids=1)
    assert sum(1 for r in read_rows(res.files, "csv") if r["tracking_id"] == "") == 1
    with pytest.raises(ValueError):
        write_dataset(tmp_path / "x", 3, "csv", null_ids=2, duplicate_ids=1)


def test_s3_output_against_moto(tmp_path, monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="input")
        s3.put_object(Bucket="input", Key="rows/part-00009.parquet", Body=b"stale")
        s3.put_object(Bucket="input", Key="rows/_SUCCESS", Body=b"")
        res = write_dataset("s3://input/rows/", 3_000, "parquet", seed=2, files=3)
        assert res.files == [f"s3://input/rows/part-0000{k}.parquet" for k in range(3)]
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="input", Prefix="rows/")["Contents"])
        assert keys == ["rows/_SUCCESS", "rows/part-00000.parquet", "rows/part-00001.parquet", "rows/part-00002.parquet"]
        total = 0
        for k in keys[1:]:
            local = tmp_path / Path(k).name
            s3.download_file("input", k, str(local))
            total += pq.read_table(local).num_rows
        assert total == 3_000
        one = write_dataset("s3://input/single/rows.jsonl", 10, "jsonl")
        assert one.files == ["s3://input/single/rows.jsonl"]
        body = s3.get_object(Bucket="input", Key="single/rows.jsonl")["Body"].read().decode()
        assert len(body.splitlines()) == 10


def test_cli(tmp_path):
    out = tmp_path / "cli"
    r = subprocess.run(
        [sys.executable, "-m", "datagen", "--rows", "500", "--format", "json", "--out", str(out),
         "--files", "2", "--seed", "4", "--duplicate-ids", "1"],
        env={**os.environ, "PYTHONPATH": str(SCRIPTS)}, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["rows"] == 500 and summary["format"] == "jsonl" and len(summary["files"]) == 2
    assert len(summary["duplicate_ids"]) == 1
    assert len(read_rows(summary["files"], "jsonl")) == 500
    r = subprocess.run([sys.executable, "-m", "datagen", "--rows", "5", "--format", "xml", "--out", str(out)],
                       env={**os.environ, "PYTHONPATH": str(SCRIPTS)}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "unknown format" in r.stderr


def test_public_api():
    assert set(datagen.__all__) >= {"write_dataset", "iter_rows", "iter_chunks", "COLUMNS"}
