"""Deterministic synthetic input rows for api_etl (``python -m datagen --help``)."""

from .core import BLOCK_ROWS, COLUMNS, BadRows, generate_block, iter_chunks, iter_rows, tracking_id
from .writers import WriteResult, normalize_format, parquet_schema, target_paths, write_dataset

__all__ = [
    "BLOCK_ROWS",
    "COLUMNS",
    "BadRows",
    "WriteResult",
    "generate_block",
    "iter_chunks",
    "iter_rows",
    "normalize_format",
    "parquet_schema",
    "target_paths",
    "tracking_id",
    "write_dataset",
]
