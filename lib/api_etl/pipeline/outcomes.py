"""The latest outcome per request: the documented way to read the bronze table.

A row can have several records in a run: one per retry round (``--retry-failed``). The
latest is the one with the highest ``retry_round`` (then the latest ``finished_at``):

    SELECT * FROM (
      SELECT *, row_number() OVER (PARTITION BY run_id, request_id
                                   ORDER BY retry_round DESC, finished_at DESC) AS rn
      FROM bronze) WHERE rn = 1
"""

from __future__ import annotations


def latest_outcomes(records_df):
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("run_id", "request_id").orderBy(
        F.col("retry_round").desc(), F.col("finished_at").desc_nulls_last()
    )
    return records_df.withColumn("__rn", F.row_number().over(order)).where("__rn = 1").drop("__rn")


def read_run_records(spark, sink_run_path: str, sink_root: str):
    """All records of one run, with run_id/retry_round/batch_id as columns."""
    return spark.read.option("basePath", sink_root).parquet(sink_run_path)
