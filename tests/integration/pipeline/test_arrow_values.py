"""Source values through the Arrow path: how they fill requests, and pass through unchanged."""

from __future__ import annotations

import datetime as dt
import decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from pyspark.sql import types as T

from api_etl.pipeline.runner import run_pipeline

from .conftest import base_doc, load

pytestmark = pytest.mark.spark

SCHEMA = T.StructType([
    T.StructField("tracking_id", T.StringType()),
    T.StructField("seen_at", T.TimestampType()),
    T.StructField("day", T.DateType()),
    T.StructField("amount", T.DecimalType(10, 2)),
    T.StructField("active", T.BooleanType()),
    T.StructField("tags", T.ArrayType(T.StringType())),
    T.StructField("owner", T.StructType([T.StructField("name", T.StringType()), T.StructField("age", T.IntegerType())])),
])
ROWS = [
    ("t-1", dt.datetime(2026, 1, 31, 8, 0, 0), dt.date(2026, 1, 31), decimal.Decimal("12.50"), True, ["a", "b"], ("Ann", 40)),
    ("t-2", None, None, None, None, None, None),
]


def _doc(spark, api, tmp_path, rows, query: dict, passthrough: list[str]) -> dict:
    """No auth, no metrics: a GET per row with ``query``, ``rows`` written as the source."""
    doc = base_doc(api.url, str(tmp_path), metrics={"enabled": False})
    doc["auth"] = {"type": "none"}
    api.update_config({"auth": {"mode": "none"}})
    doc["source"]["required_columns"] = passthrough
    doc["endpoint"] = {"method": "GET", "base_url": api.url, "path": "/v1/patients/{tracking_id}", "query": query}
    doc["sink"]["passthrough_columns"] = passthrough
    spark.createDataFrame(rows, SCHEMA).write.mode("overwrite").parquet(doc["source"]["path"])
    return doc


def test_values_fill_the_request_as_text_and_pass_through_with_their_types(spark, api, tmp_path):
    doc = _doc(spark, api, tmp_path, [ROWS[0]],
               {"at": "{seen_at}", "day": "{day}", "amount": "{amount}", "active": "{active}"},
               ["seen_at", "day", "amount", "active", "tags", "owner"])

    summary = run_pipeline(spark, load(doc), run_id="values")
    assert summary.rows_succeeded == 1

    record = spark.read.parquet(doc["sink"]["path"]).where("run_id = 'values'").first()
    query = parse_qs(urlsplit(record.url).query)
    # The session runs in UTC (as Glue does): the timestamp carries its offset.
    assert query == {"at": ["2026-01-31T08:00:00+00:00"], "day": ["2026-01-31"], "amount": ["12.50"],
                     "active": ["true"]}
    assert record.seen_at == dt.datetime(2026, 1, 31, 8, 0, 0)
    assert record.day == dt.date(2026, 1, 31) and record.amount == decimal.Decimal("12.50")
    assert record.active is True and record.tags == ["a", "b"]
    assert record.owner.name == "Ann" and record.owner.age == 40


def test_a_null_drops_its_query_parameter_and_passes_through_as_null(spark, api, tmp_path):
    doc = _doc(spark, api, tmp_path, ROWS, {"at": "{seen_at}"}, ["seen_at", "owner"])

    summary = run_pipeline(spark, load(doc), run_id="nulls")
    assert summary.rows_total == 2 and summary.rows_succeeded == 2
    records = {r.row_id: r for r in spark.read.parquet(doc["sink"]["path"]).where("run_id = 'nulls'").collect()}
    assert parse_qs(urlsplit(records["t-1"].url).query) == {"at": ["2026-01-31T08:00:00+00:00"]}
    assert urlsplit(records["t-2"].url).query == ""
    assert records["t-2"].seen_at is None and records["t-2"].owner is None
    assert api.stats()["api_requests"] == 2
