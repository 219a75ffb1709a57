"""The partition function on Spark's Arrow interface: rows in, bounded record batches out."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from api_etl.engine.arrow_io import ArrowPartitionFunction, records_to_batch, rows_of

SCHEMA = pa.schema([
    ("row_id", pa.string()),
    ("status", pa.int32()),
    ("ok", pa.bool_()),
    ("latency_ms", pa.float64()),
    ("started_at", pa.timestamp("us", tz="UTC")),
    ("headers", pa.map_(pa.string(), pa.string())),
    ("amount", pa.decimal128(10, 2)),
])
UTC = dt.timezone.utc


def record(i: int) -> tuple:
    return (f"row-{i}", 200, True, 1.5 + i, dt.datetime(2026, 1, 1, 0, 0, i % 60, tzinfo=UTC),
            {"Content-Type": "application/json", "X-I": str(i)}, decimal.Decimal(f"{i}.25"))


def test_records_round_trip_through_arrow_with_maps_timestamps_and_nulls():
    rows = [record(1), ("row-2", None, False, None, None, None, None)]
    batch = records_to_batch(rows, SCHEMA)
    assert batch.schema == SCHEMA
    back = batch.to_pylist()
    assert back[0]["headers"] == [("Content-Type", "application/json"), ("X-I", "1")]
    assert back[0]["started_at"] == dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert back[0]["amount"] == decimal.Decimal("1.25")
    assert back[1] == {"row_id": "row-2", "status": None, "ok": False, "latency_ms": None,
                       "started_at": None, "headers": None, "amount": None}


def test_a_value_of_the_wrong_type_names_the_column():
    bad = ("row-1", "not a status", True, 1.0, None, None, None)
    with pytest.raises(TypeError, match="record column 'status' cannot be written as int32"):
        records_to_batch([bad], SCHEMA)


def test_rows_arrive_as_dicts_and_output_batches_are_bounded_in_order():
    seen: list[dict] = []

    def inner(rows):
        for row in rows:
            seen.append(row)
            yield record(row["i"])

    source = [pa.RecordBatch.from_pydict({"i": list(range(start, start + 400))}) for start in (0, 400, 800)]
    fn = ArrowPartitionFunction(inner, SCHEMA, rows_per_batch=250)
    out = list(fn(iter(source)))
    assert [b.num_rows for b in out] == [250, 250, 250, 250, 200]
    assert pa.Table.from_batches(out).column("row_id").to_pylist() == [f"row-{i}" for i in range(1200)]
    assert seen[:2] == [{"i": 0}, {"i": 1}]


def test_output_streams_before_the_input_is_exhausted():
    """A partition's records reach the JVM while it is still sending, not all at the end."""
    pulled = []

    def batches():
        for start in range(0, 1000, 100):
            pulled.append(start)
            yield pa.RecordBatch.from_pydict({"i": list(range(start, start + 100))})

    fn = ArrowPartitionFunction(lambda rows: (record(r["i"]) for r in rows), SCHEMA, rows_per_batch=100)
    first = next(fn(batches()))
    assert first.num_rows == 100
    assert pulled == [0]  # one input batch read for one output batch


def test_an_empty_partition_yields_nothing():
    fn = ArrowPartitionFunction(lambda rows: (record(0) for _ in rows), SCHEMA)
    assert list(fn(iter([]))) == []
    assert list(rows_of([pa.RecordBatch.from_pydict({"i": []})])) == []


def test_map_columns_keep_pairs_empty_maps_nulls_and_null_items():
    headers = [{"a": "1", "b": None}, {}, None, [("k", "v")], {"z": "26"}]
    rows = [("row", 200, True, 1.0, None, h, None) for h in headers]
    back = records_to_batch(rows, SCHEMA).column("headers").to_pylist()
    assert back == [[("a", "1"), ("b", None)], [], None, [("k", "v")], [("z", "26")]]


@pytest.mark.parametrize("bad_map", [{"a": 1}, {None: "x"}, [("a",)]])
def test_a_bad_map_value_or_key_names_the_column(bad_map):
    rows = [("row", 200, True, 1.0, None, {"ok": "yes"}, None), ("row", 200, True, 1.0, None, bad_map, None)]
    with pytest.raises(TypeError, match="record column 'headers' cannot be written as map<string, string>"):
        records_to_batch(rows, SCHEMA)


def test_maps_convert_with_a_pyarrow_whose_from_arrays_takes_no_mask(monkeypatch):
    # Glue ships its own pyarrow; MapArray.from_arrays has taken mask= only since 17.
    from api_etl.engine import arrow_io

    calls = []

    def from_arrays_without_mask(offsets, keys, items, **kwargs):
        calls.append(sorted(kwargs))
        if "mask" in kwargs:
            raise TypeError("from_arrays() got an unexpected keyword argument 'mask'")
        return pa.MapArray.from_arrays(offsets, keys, items)

    monkeypatch.setattr(arrow_io, "_map_from_arrays", from_arrays_without_mask)
    with_maps = [("row", 200, True, 1.0, None, {"a": "1"}, None), ("row", 200, True, 1.0, None, {}, None)]
    assert records_to_batch(with_maps, SCHEMA).column("headers").to_pylist() == [[("a", "1")], []]
    assert calls == [[]]  # no null map: the fast path, without mask
    with_null = [*with_maps, ("row", None, False, None, None, None, None)]
    assert records_to_batch(with_null, SCHEMA).column("headers").to_pylist() == [[("a", "1")], [], None]
    assert calls == [[], ["mask"]]  # refused, then converted the general way
