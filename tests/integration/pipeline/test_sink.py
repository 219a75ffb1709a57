"""The sink: a batch's records land in their Hive-style slot; a rewrite replaces that slot only."""

from __future__ import annotations

from pathlib import Path

import pytest

from api_etl.pipeline import sink
from api_etl.pipeline.layout import RunLayout

pytestmark = pytest.mark.spark


def _records(spark, run_id: str, batch_id: int, rows: int):
    return spark.createDataFrame(
        [(run_id, str(batch_id), f"req-{batch_id}-{i}", 200) for i in range(rows)],
        "run_id string, batch_id string, request_id string, status int",
    )


def test_a_batch_lands_in_its_slot_and_a_rewrite_replaces_only_that_slot(spark, tmp_path):
    layout = RunLayout(str(tmp_path / "cp"), str(tmp_path / "sink"), str(tmp_path / "dl"), "run-1")
    sink.write_batch(_records(spark, "run-1", 3, 5), layout, 0, 3)
    sink.write_batch(_records(spark, "run-1", 4, 4), layout, 0, 4)

    slot = Path(layout.sink_slot(0, 3))
    assert slot == tmp_path / "sink" / "run_id=run-1" / "retry_round=0" / "batch_id=3"
    files = list(slot.glob("*.parquet"))
    assert files, f"no parquet in {slot}"
    # As with partitionBy, the partition values live in the path, not in the files.
    assert spark.read.parquet(str(files[0])).columns == ["request_id", "status"]

    table = spark.read.parquet(layout.sink_root)
    assert sorted(table.columns) == ["batch_id", "request_id", "retry_round", "run_id", "status"]
    counts = {(r.run_id, r.retry_round, r.batch_id): r["count"] for r in table.groupBy("run_id", "retry_round", "batch_id").count().collect()}
    assert counts == {("run-1", 0, 3): 5, ("run-1", 0, 4): 4}

    # A rerun of batch 3 (say after a crash before its checkpoint) replaces its slot only.
    sink.write_batch(_records(spark, "run-1", 3, 2), layout, 0, 3)
    table = spark.read.parquet(layout.sink_root)
    counts = {(r.batch_id): r["count"] for r in table.groupBy("batch_id").count().collect()}
    assert counts == {3: 2, 4: 4}
    assert sink.read_slot(spark, layout, 0, 3).count() == 2


def test_unique_per_row_columns_are_written_without_a_dictionary_and_repeated_ones_with_one(spark, tmp_path):
    """Request ids, URLs, bodies, latencies and times differ on every row in a real batch: a
    parquet dictionary of them only costs the writer CPU, so they are written without one.
    Here they repeat, so a dictionary would pay and parquet would keep it, unless told not
    to; the repeated record columns (method, status, metadata keys) keep theirs."""
    import pyarrow.parquet as pq

    layout = RunLayout(str(tmp_path / "cp"), str(tmp_path / "sink"), str(tmp_path / "dl"), "run-1")
    rows = [("run-1", "0", f"req-{i % 3}", "GET", f"https://api/x/{i % 3}", 200, '{"id":1}', 12.5,
             {"elapsed_ms": "1.5"}) for i in range(3000)]
    df = spark.createDataFrame(
        rows, "run_id string, batch_id string, request_id string, method string, url string, status int,"
              " response_body string, latency_ms double, metadata map<string,string>").coalesce(1)
    sink.write_batch(df, layout, 0, 0)
    encodings: dict[str, set[str]] = {}
    for f in Path(layout.sink_slot(0, 0)).glob("*.parquet"):
        meta = pq.ParquetFile(f).metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                column = meta.row_group(g).column(c)
                encodings.setdefault(column.path_in_schema, set()).update(column.encodings)

    def dictionary(column: str) -> bool:
        return bool(encodings[column] & {"PLAIN_DICTIONARY", "RLE_DICTIONARY"})

    plain = ("request_id", "url", "response_body", "latency_ms", "metadata.key_value.value")
    assert [c for c in plain if dictionary(c)] == []
    assert dictionary("method") and dictionary("status") and dictionary("metadata.key_value.key")
    assert sink.read_slot(spark, layout, 0, 0).count() == 3000  # the slot reads back whole


def test_plain_encoded_columns_are_record_columns():
    """A renamed record field would leave its write option naming nothing, silently."""
    from api_etl.engine.record import RECORD_FIELD_NAMES

    assert {c.split(".")[0] for c in sink.PLAIN_ENCODED_COLUMNS} <= set(RECORD_FIELD_NAMES)
