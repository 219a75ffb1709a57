"""The partition function on Spark's Arrow interface (``DataFrame.mapInArrow``).

``mapInArrow`` hands a partition to Python as Arrow record batches and takes Arrow record
batches back. Compared with ``rdd.mapPartitions`` over Rows, neither side pickles a row: the
JVM writes and reads columns, and Python builds plain dicts and column lists. Measured on
the bench's 50,000-row case this roughly halves the JVM's and the Python worker's CPU per
row outside the HTTP work itself (docs/performance.md).

:class:`ArrowPartitionFunction` adapts any record function (rows in, record tuples out, like
:class:`~api_etl.engine.partition.PartitionFunction`) to that interface. Output batches hold
at most ``rows_per_batch`` records, so memory stays bounded and records reach the JVM (and
the sink's file) while the partition is still sending.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from api_etl.engine.worker_startup import skip_unchanged_zip_rereads

DEFAULT_ROWS_PER_BATCH = 1000


def arrow_schema(spark_schema: Any) -> Any:
    """The ``pyarrow.Schema`` Spark uses for ``spark_schema`` (driver side)."""
    from pyspark.sql.pandas.types import to_arrow_schema  # noqa: PLC0415 - pyspark only on Spark

    return to_arrow_schema(spark_schema)


def rows_of(batches: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    """Each row of each record batch as a ``{column: value}`` dict, batch by batch."""
    for batch in batches:
        yield from batch.to_pylist()


def _map_entries(value: Any) -> Any:
    # pyarrow builds a map column from (key, value) pairs in every version; dicts only in
    # recent ones, and Glue ships its own pyarrow.
    if isinstance(value, Mapping):
        return list(value.items())
    return value


def _map_array(values: Sequence[Any], map_type: Any) -> Any:
    """A map column from dicts (or lists of pairs) as flat keys, items and offsets.

    pyarrow converting each row's pairs costs about twice as much (three map columns per
    record: headers both ways and metadata).
    """
    import pyarrow as pa  # noqa: PLC0415

    offsets = [0]
    keys: list[Any] = []
    items: list[Any] = []
    nulls: list[bool] | None = None
    count = 0
    for i, value in enumerate(values):
        if value is None:
            if nulls is None:
                nulls = [False] * len(values)
            nulls[i] = True
        elif isinstance(value, Mapping):
            keys.extend(value.keys())
            items.extend(value.values())
            count += len(value)
        else:
            for key, item in value:
                keys.append(key)
                items.append(item)
                count += 1
        offsets.append(count)
    arrays = (
        pa.array(offsets, type=pa.int32()),
        pa.array(keys, type=map_type.key_type),
        pa.array(items, type=map_type.item_type),
    )
    if nulls is None:
        return _map_from_arrays(*arrays)
    # ``mask`` is pyarrow >= 17; with an older one (Glue ships its own) this raises
    # TypeError and the caller converts the column the general way.
    return _map_from_arrays(*arrays, mask=pa.array(nulls, type=pa.bool_()))


def _map_from_arrays(offsets: Any, keys: Any, items: Any, **mask: Any) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    return pa.MapArray.from_arrays(offsets, keys, items, **mask)


def _column(values: Sequence[Any], field: Any) -> Any:
    import pyarrow as pa  # noqa: PLC0415

    if pa.types.is_map(field.type):
        try:
            return _map_array(values, field.type)
        except (pa.ArrowException, TypeError, ValueError):
            # A null key, a value of the wrong type, or an older pyarrow: the general
            # conversion below either manages or names the problem.
            values = [_map_entries(v) for v in values]
    return pa.array(values, type=field.type)


def records_to_batch(records: Sequence[tuple[Any, ...]], schema: Any) -> Any:
    """Record tuples (in ``schema``'s column order) as one ``pyarrow.RecordBatch``."""
    import pyarrow as pa  # noqa: PLC0415 - worker side, lazily

    columns = list(zip(*records)) if records else [() for _ in schema]
    arrays = []
    for field, values in zip(schema, columns):
        try:
            arrays.append(_column(values, field))
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise TypeError(f"record column '{field.name}' cannot be written as {field.type}: {exc}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


@dataclasses.dataclass(frozen=True)
class ArrowPartitionFunction:
    """The picklable function given to ``DataFrame.mapInArrow``.

    ``inner`` takes an iterator of row mappings and yields record tuples in the order of
    ``schema`` (a ``pyarrow.Schema``, see :func:`arrow_schema`).
    """

    inner: Callable[[Iterable[Mapping[str, Any]]], Iterator[tuple[Any, ...]]]
    schema: Any
    rows_per_batch: int = DEFAULT_ROWS_PER_BATCH

    def __call__(self, batches: Iterable[Any]) -> Iterator[Any]:
        # Runs in the worker: from this process's next task on, the task starts sooner.
        skip_unchanged_zip_rereads()
        chunk: list[tuple[Any, ...]] = []
        size = self.rows_per_batch
        for record in self.inner(rows_of(batches)):
            chunk.append(record)
            if len(chunk) >= size:
                yield records_to_batch(chunk, self.schema)
                chunk = []
        if chunk:
            yield records_to_batch(chunk, self.schema)
