"""Write one batch's records into its slot of the bronze table, read its outcome back.

A batch's slot is the Hive-style directory ``run_id=R/retry_round=K/batch_id=N`` under the
sink; the batch is written straight into it (overwrite), with the three partition columns
left to the path as ``partitionBy`` would. A rerun replaces that slot only, and Spark moves
a job's files into place at commit, so a crash mid-write leaves the slot absent or
stale-and-unchecked, never half-counted.

Not ``partitionBy`` with dynamic overwrite: Spark sorts a partitioned write by its
partition columns first, which holds a task's every record until its last response (a
blocking sort whose values here are all equal) and only then writes the file. Written
straight, records stream into the file as they arrive.

Stats are read back from the written slot rather than from the mapInArrow output, because
re-evaluating that output would send every request of the batch a second time.
"""

from __future__ import annotations

import dataclasses
import logging

from api_etl.engine.rate_limiter import mean_wait_ms
from api_etl.pipeline.layout import RunLayout

log = logging.getLogger(__name__)

PARTITION_COLUMNS = ("run_id", "retry_round", "batch_id")

# Columns whose values differ on (nearly) every row are written without a parquet
# dictionary. Parquet starts each column with one and drops it after the first page (~1 MB)
# when it does not compress; until then every value costs the JVM a hash and an equality
# check for nothing, and the page is encoded twice. In a task's file of 10,000 rows that is
# the whole file: the write tasks' JVM CPU fell 15-22% (alternating 80,000-row runs; see
# docs/performance.md). Repeated columns (run id, method, status, hosts, header names and
# values, metadata keys) keep theirs.
PLAIN_ENCODED_COLUMNS = (
    "request_id", "row_id", "url", "request_body", "response_body",
    "latency_ms", "started_at", "finished_at", "metadata.key_value.value",
)
WRITE_OPTIONS = {f"parquet.enable.dictionary#{column}": "false" for column in PLAIN_ENCODED_COLUMNS}


@dataclasses.dataclass
class BatchStats:
    rows: int = 0
    succeeded: int = 0
    failed: int = 0
    requests: int = 0  # attempts, retries included
    retries: int = 0
    throttled: int = 0  # rows that met a 429 (on any round_no)
    status_histogram: dict[str, int] = dataclasses.field(default_factory=dict)
    error_histogram: dict[str, int] = dataclasses.field(default_factory=dict)
    latency_p50: float | None = None
    latency_p95: float | None = None
    latency_p99: float | None = None
    latency_max: float | None = None
    latency_min: float | None = None
    latency_sum: float = 0.0
    first_started_at: str | None = None
    last_finished_at: str | None = None
    # The rate limiter, as the workers counted it (all zero without a limit): requests that
    # took a slot, seconds they waited for it in total, and slots given up because a worker
    # woke too late to use them.
    rate_limited_requests: int = 0
    rate_limit_wait_seconds: float = 0.0
    rate_limit_late_slots: int = 0

    @property
    def failure_ratio(self) -> float:
        return self.failed / self.rows if self.rows else 0.0

    @property
    def rate_limit_mean_wait_ms(self) -> float | None:
        """How long a request waited for its slot, on average (None: no limit applied)."""
        return mean_wait_ms(self.rate_limit_wait_seconds, self.rate_limited_requests)

    def status_class(self, prefix: str) -> int:
        return sum(n for status, n in self.status_histogram.items() if status.startswith(prefix))

    def dominant_error(self) -> str:
        if not self.error_histogram:
            return "none"
        kind, count = max(self.error_histogram.items(), key=lambda kv: kv[1])
        return f"{kind} ({count} of {self.rows} rows)"


def write_batch(results_df, layout: RunLayout, round_no: int, batch_id: int) -> None:
    """Write the records of batch ``batch_id`` (whose ``run_id``/``batch_id`` columns hold
    this run's and this batch's values) into its slot."""
    results_df.drop(*PARTITION_COLUMNS).write.mode("overwrite").options(**WRITE_OPTIONS).parquet(
        layout.sink_slot(round_no, batch_id)
    )


def read_slot(spark, layout: RunLayout, round_no: int, batch_id: int):
    return spark.read.parquet(layout.sink_slot(round_no, batch_id))


def batch_stats(slot_df) -> BatchStats:
    from pyspark.sql import functions as F

    throttled = F.when(
        (F.col("status") == 429) | F.coalesce(F.col("metadata")["attempt_statuses"], F.lit("")).contains("429"), 1
    ).otherwise(0)
    row = slot_df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.when(F.col("ok"), 1).otherwise(0)).alias("succeeded"),
        F.sum(F.coalesce(F.col("attempts"), F.lit(0))).alias("requests"),
        F.sum(F.greatest(F.coalesce(F.col("attempts"), F.lit(1)) - 1, F.lit(0))).alias("retries"),
        F.sum(throttled).alias("throttled"),
        F.percentile_approx("latency_ms", [0.5, 0.95, 0.99], 1000).alias("pct"),
        F.max("latency_ms").alias("lat_max"),
        F.min("latency_ms").alias("lat_min"),
        F.sum("latency_ms").alias("lat_sum"),
        F.min("started_at").alias("first_started"),
        F.max("finished_at").alias("last_finished"),
    ).first()
    statuses = slot_df.groupBy(F.coalesce(F.col("status").cast("string"), F.lit("none")).alias("s")).count().collect()
    errors = slot_df.where(~F.col("ok")).groupBy(
        F.coalesce(F.col("error_type"), F.lit("unknown")).alias("e")
    ).count().collect()
    stats = BatchStats(
        rows=row["rows"],
        succeeded=row["succeeded"] or 0,
        requests=row["requests"] or 0,
        retries=row["retries"] or 0,
        throttled=row["throttled"] or 0,
        status_histogram={r["s"]: r["count"] for r in statuses},
        error_histogram={r["e"]: r["count"] for r in errors},
        latency_max=row["lat_max"],
        latency_min=row["lat_min"],
        latency_sum=row["lat_sum"] or 0.0,
        first_started_at=row["first_started"].isoformat() if row["first_started"] else None,
        last_finished_at=row["last_finished"].isoformat() if row["last_finished"] else None,
    )
    stats.failed = stats.rows - stats.succeeded
    if row["pct"]:
        stats.latency_p50, stats.latency_p95, stats.latency_p99 = row["pct"]
    return stats


def write_dead_letter(slot_df, staged_df, id_column: str, layout: RunLayout, round_no: int, batch_id: int) -> None:
    """Failed records joined with their original source row, for inspection or retry."""
    from pyspark.sql import functions as F

    failed = slot_df.where(~F.col("ok")).select(
        "row_id", "request_id", "status", "error_type", "error_message", "attempts", "finished_at"
    )
    # The source row travels as one struct so its columns never clash with the record's.
    source = staged_df.select(
        F.col(id_column).cast("string").alias("row_id"),
        F.struct(*[F.col(c) for c in staged_df.columns]).alias("source_row"),
    )
    (
        failed.join(source, on="row_id", how="left")
        .write.mode("overwrite")
        .parquet(layout.dead_letter_slot(round_no, batch_id))
    )
