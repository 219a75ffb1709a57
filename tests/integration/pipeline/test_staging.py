"""Staging: each batch lands as one file per part, and a batch reads back without a shuffle."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from api_etl.pipeline import staging
from api_etl.pipeline.layout import RunLayout
from api_etl.pipeline.storage import JsonStore

pytestmark = pytest.mark.spark


def _layout(tmp_path: Path) -> RunLayout:
    return RunLayout(str(tmp_path / "cp"), str(tmp_path / "sink"), str(tmp_path / "dl"), "run-1")


def _source(spark, rows: int):
    from pyspark.sql import functions as F

    return spark.range(rows, numPartitions=3).select(
        F.format_string("t-%05d", F.col("id")).alias("tracking_id"), (F.col("id") * 2).alias("amount"))


def _plan_text(df) -> str:
    return df._jdf.queryExecution().executedPlan().toString()


def test_each_batch_is_one_file_per_part_and_reads_back_in_that_many_partitions(spark, tmp_path):
    layout, store = _layout(tmp_path), JsonStore()
    manifest = staging.stage_rows(_source(spark, 3000), store, layout, 0, 1000, 3000, "tracking_id", parts=3)

    assert manifest.batches == 3 and sum(manifest.batch_rows.values()) == 3000
    staged = Path(layout.staged(0))
    for batch in range(3):
        parts = sorted(p.name for p in (staged / f"batch_id={batch}").iterdir() if p.is_dir())
        assert parts == ["api_etl_part=0", "api_etl_part=1", "api_etl_part=2"], f"batch {batch}: {parts}"
        for part in parts:
            files = list((staged / f"batch_id={batch}" / part).glob("*.parquet"))
            assert len(files) == 1, f"batch {batch} {part}: {len(files)} files"
    assert manifest.parts_of(0) == [0, 1, 2]

    schema = staging.staged_schema(spark, layout, 0)
    assert schema.fieldNames() == ["tracking_id", "amount"]
    batch = staging.read_staged_batch(spark, layout, manifest, 1, 3, schema)
    assert batch.rdd.getNumPartitions() == 3
    assert "Exchange" not in _plan_text(batch)  # no shuffle before the sending stage
    assert batch.count() == manifest.rows_in(1)
    sizes = batch.rdd.glom().map(len).collect()
    assert max(sizes) - min(sizes) <= 1, f"a batch's tasks would not finish together: {sizes}"

    # The same rows always land in the same batch and part (a rerun stages them identically).
    again_layout = _layout(tmp_path / "again")
    again = staging.stage_rows(_source(spark, 3000), store, again_layout, 0, 1000, 3000, "tracking_id", parts=3)
    assert again.batch_rows == manifest.batch_rows
    for part in range(3):
        first = {r.tracking_id for r in spark.read.parquet(f"{layout.staged(0)}/batch_id=1/api_etl_part={part}").collect()}
        second = {r.tracking_id for r in spark.read.parquet(f"{again_layout.staged(0)}/batch_id=1/api_etl_part={part}").collect()}
        assert first == second


def test_a_batch_staged_in_fewer_parts_than_tasks_is_spread_over_the_tasks(spark, tmp_path):
    layout = _layout(tmp_path)
    manifest = staging.stage_rows(_source(spark, 500), JsonStore(), layout, 0, 1000, 500, "tracking_id", parts=1)
    batch = staging.read_staged_batch(spark, layout, manifest, 0, 2, staging.staged_schema(spark, layout, 0))
    assert batch.rdd.getNumPartitions() == 2
    assert sorted(r.tracking_id for r in batch.collect()) == [f"t-{i:05d}" for i in range(500)]


def test_a_round_staged_before_parts_existed_still_reads(spark, tmp_path):
    """Runs staged by an earlier version (no part folders, no batch_parts) resume as before."""
    from pyspark.sql import functions as F

    layout = _layout(tmp_path)
    df = _source(spark, 200).withColumn(staging.BATCH_COLUMN, F.pmod((F.col("amount") / 2).cast("long"), F.lit(2)).cast("int"))
    df.write.partitionBy(staging.BATCH_COLUMN).parquet(layout.staged(0))
    manifest = staging.RoundManifest(0, 200, 2, 100, staging.now_iso(), {"0": 100, "1": 100})
    old = staging.RoundManifest.from_json({k: v for k, v in dataclasses.asdict(manifest).items() if k != "batch_parts"})
    assert old.parts_of(0) is None
    batch = staging.read_staged_batch(spark, layout, old, 0, 2, staging.staged_schema(spark, layout, 0))
    assert batch.rdd.getNumPartitions() == 2
    assert batch.count() == 100 and batch.columns == ["tracking_id", "amount"]
