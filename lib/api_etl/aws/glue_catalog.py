"""Glue Data Catalog: where a sink table lives, and registering the sink and its partitions."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def _glue():
    import boto3

    return boto3.client("glue")


def _storage_descriptor(database: str, table: str) -> dict:
    try:
        desc = _glue().get_table(DatabaseName=database, Name=table)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"cannot find catalog table {database}.{table}: {type(exc).__name__}") from None
    storage = desc["Table"].get("StorageDescriptor", {})
    if not storage.get("Location"):
        raise ValueError(f"catalog table {database}.{table} has no storage location")
    return storage


def table_location(database: str, table: str) -> str:
    return _storage_descriptor(database, table)["Location"]


def table_storage(database: str, table: str) -> tuple[str, str]:
    """(location, format) of a catalog table: format is parquet, jsonl or csv."""
    storage = _storage_descriptor(database, table)
    hints = " ".join([
        storage.get("InputFormat", ""),
        storage.get("SerdeInfo", {}).get("SerializationLibrary", ""),
    ]).lower()
    if "parquet" in hints:
        fmt = "parquet"
    elif "json" in hints:
        fmt = "jsonl"
    elif "csv" in hints or "lazysimpleserde" in hints or "opencsvserde" in hints:
        fmt = "csv"
    else:
        raise ValueError(f"catalog table {database}.{table}: unsupported storage format ({hints.strip()})")
    return storage["Location"], fmt


def _columns(schema, skip: set[str]) -> list[dict]:
    return [{"Name": f.name, "Type": f.dataType.simpleString()} for f in schema.fields if f.name not in skip]


def register_sink_partition(database: str, table: str, location_root: str, schema, partition: dict[str, str]) -> None:
    """Create the sink table once, then add (or update) one run/round/batch partition."""
    glue = _glue()
    keys = list(partition)
    storage = {
        "Columns": _columns(schema, set(keys)),
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
    }
    table_input = {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": k, "Type": "int" if k != "run_id" else "string"} for k in keys],
        "StorageDescriptor": {**storage, "Location": location_root},
    }
    try:
        glue.get_table(DatabaseName=database, Name=table)
    except glue.exceptions.EntityNotFoundException:
        glue.create_table(DatabaseName=database, TableInput=table_input)
    location = location_root.rstrip("/") + "/" + "/".join(f"{k}={v}" for k, v in partition.items())
    part_input = {"Values": [str(v) for v in partition.values()], "StorageDescriptor": {**storage, "Location": location}}
    try:
        glue.create_partition(DatabaseName=database, TableName=table, PartitionInput=part_input)
    except glue.exceptions.AlreadyExistsException:
        glue.update_partition(
            DatabaseName=database, TableName=table,
            PartitionValueList=part_input["Values"], PartitionInput=part_input,
        )
