"""Glue Data Catalog: a catalog table as the source, and the sink registered with partitions."""

from __future__ import annotations

import boto3
import pytest

from api_etl.pipeline.runner import run_pipeline

from .conftest import SOURCE_COLUMNS, base_doc, load, source_rows

pytestmark = pytest.mark.spark


def test_source_table_and_sink_registration(spark, aws, api, tmp_path):
    glue = boto3.client("glue")
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_database(DatabaseInput={"Name": "bronze"})
    location = str(tmp_path / "raw_patients")
    spark.createDataFrame(source_rows(120), SOURCE_COLUMNS).write.parquet(location)
    glue.create_table(DatabaseName="raw", TableInput={
        "Name": "patients",
        "StorageDescriptor": {
            "Location": location,
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
            "Columns": [{"Name": c, "Type": "string"} for c in SOURCE_COLUMNS],
        },
    })
    doc = base_doc(api.url, str(tmp_path), metrics={"enabled": False}, execution={"batch_size": 50})
    doc["source"] = {"table": {"database": "raw", "table": "patients"}, "id_column": "tracking_id",
                     "required_columns": ["patient_id", "amount"]}
    doc["sink"]["table"] = {"database": "bronze", "table": "patient_calls"}
    doc["auth"] = {"type": "none"}
    api.update_config({"auth": {"mode": "none"}})

    summary = run_pipeline(spark, load(doc), run_id="cat")

    assert summary.rows_succeeded == 120 and summary.batches_total == 3
    table = glue.get_table(DatabaseName="bronze", Name="patient_calls")["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["run_id", "retry_round", "batch_id"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns["status"] == "int" and columns["metadata"] == "map<string,string>"
    assert columns["amount"] == "double" and "run_id" not in columns
    partitions = glue.get_partitions(DatabaseName="bronze", TableName="patient_calls")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [["cat", "0", "0"], ["cat", "0", "1"], ["cat", "0", "2"]]
    assert partitions[0]["StorageDescriptor"]["Location"].startswith(str(tmp_path / "sink") + "/run_id=cat/retry_round=0/")
