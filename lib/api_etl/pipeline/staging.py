"""Stage a run's rows once, cut into deterministic batches, and record the manifests.

Batch assignment hashes the id (``xxhash64``, fixed seed) into ``ceil(rows / batch_size)``
buckets: it needs no global sort, runs in the JVM, and gives the same row the same batch
for the same set of rows. Once staged, a run never reads its source again, so a rerun of
the run id sends the same rows in the same batches even if the source changed since.
The round manifest is written last: without it, staging did not finish and is redone.

Each batch is further dealt into ``parts`` (one per Spark task that will send it, equal to
within one row) and every part is one file, ``staged/batch_id=N/api_etl_part=P/``. Reading a batch
is then a union of one-file scans: one task per part with no shuffle, so a batch's sending
tasks start the moment a slot frees instead of waiting for a repartition stage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math

from api_etl.pipeline.errors import ConfigChangedError
from api_etl.pipeline.layout import RunLayout
from api_etl.pipeline.storage import JsonStore, join

log = logging.getLogger(__name__)

BATCH_COLUMN = "batch_id"
# Folder names under staged/; a source column of either name would be overwritten by
# staging, so check_source refuses such a source before anything is written or sent.
PART_COLUMN = "api_etl_part"
STAGING_COLUMNS = (BATCH_COLUMN, PART_COLUMN)


@dataclasses.dataclass(frozen=True)
class RoundManifest:
    retry_round: int
    rows: int
    batches: int
    batch_size: int
    created_at: str
    # Rows staged in each batch ("0" -> 9871): the driver checks the worker-side counts
    # of a finished batch against it. Empty for manifests written before it existed.
    batch_rows: dict[str, int] = dataclasses.field(default_factory=dict)
    # The parts each batch was staged in ("0" -> [0, 1]); empty for manifests written before
    # parts existed, whose batches are one folder each and are repartitioned when read.
    batch_parts: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> RoundManifest:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})

    def rows_in(self, batch_id: int) -> int | None:
        return self.batch_rows.get(str(batch_id))

    def parts_of(self, batch_id: int) -> list[int] | None:
        return self.batch_parts.get(str(batch_id)) if self.batch_parts else None


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def check_run_manifest(store: JsonStore, layout: RunLayout, config_hash: str, force: bool) -> dict | None:
    """The run's manifest if the run exists; refuse a resume under a different config."""
    manifest = store.read(layout.run_manifest)
    if manifest is None:
        return None
    if manifest["config_hash"] != config_hash:
        if not force:
            raise ConfigChangedError(
                f"run {layout.run_id} was started with config hash {manifest['config_hash']}"
                f" and this config hashes to {config_hash}: the requests would differ from the"
                " batches already sent. Start a new run id, restore the old config, or pass"
                " --force-config-change (checkpoint.force_config_change) to resume anyway."
            )
        log.warning("resuming run %s under a changed config (forced)", layout.run_id)
    return manifest


def write_run_manifest(store: JsonStore, layout: RunLayout, config_hash: str, source: str, facts: dict) -> dict:
    manifest = {
        "run_id": layout.run_id,
        "config_hash": config_hash,
        "source": source,
        "created_at": now_iso(),
        **facts,
    }
    store.write(layout.run_manifest, manifest)
    return manifest


def stage_rows(df, store: JsonStore, layout: RunLayout, round_no: int, batch_size: int, rows: int,
               id_column: str, parts: int = 1) -> RoundManifest:
    """Write ``df`` under the round's staged prefix, one file per batch and part, then its manifest."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    batches = max(1, math.ceil(rows / batch_size))
    id_text = F.col(id_column).cast("string")
    bucket = F.pmod(F.xxhash64(id_text), F.lit(batches)).cast("int")
    # A batch's rows are dealt round-robin over its parts in a fixed order (a second hash of
    # the id): parts differ by at most one row, so a batch's tasks finish together and no
    # slot sends alone at half the job's rate at the end of a run.
    dealing = Window.partitionBy(BATCH_COLUMN).orderBy(F.xxhash64(F.lit("part"), id_text), id_text)
    part = F.pmod(F.row_number().over(dealing) - 1, F.lit(max(1, parts))).cast("int")
    staged = df.withColumn(BATCH_COLUMN, bucket).withColumn(PART_COLUMN, part)
    (
        # The window put each batch in one task, which writes one file per (batch, part).
        staged.write.mode("overwrite")
        .partitionBy(BATCH_COLUMN, PART_COLUMN)
        .parquet(layout.staged(round_no))
    )
    counts = (
        df.sparkSession.read.parquet(layout.staged(round_no))
        .groupBy(BATCH_COLUMN, PART_COLUMN).count().collect()
    )
    batch_rows: dict[str, int] = {}
    batch_parts: dict[str, list[int]] = {}
    for r in counts:
        key = str(r[BATCH_COLUMN])
        batch_rows[key] = batch_rows.get(key, 0) + r["count"]
        batch_parts.setdefault(key, []).append(int(r[PART_COLUMN]))
    batch_parts = {k: sorted(v) for k, v in batch_parts.items()}
    manifest = RoundManifest(round_no, rows, batches, batch_size, now_iso(), batch_rows, batch_parts)
    store.write(layout.round_manifest(round_no), dataclasses.asdict(manifest))
    log.info("staged %d rows of round %d in %d batches of up to %d parts", rows, round_no, batches, parts)
    return manifest


def read_round_manifest(store: JsonStore, layout: RunLayout, round_no: int) -> RoundManifest | None:
    data = store.read(layout.round_manifest(round_no))
    return None if data is None else RoundManifest.from_json(data)


def latest_round(store: JsonStore, layout: RunLayout) -> int | None:
    round_no, found = 0, None
    while store.read(layout.round_manifest(round_no)) is not None:
        found, round_no = round_no, round_no + 1
    return found


def staged_schema(spark, layout: RunLayout, round_no: int):
    """The staged rows' schema (without the batch and part columns), read once per round."""
    df = spark.read.parquet(layout.staged(round_no)).drop(BATCH_COLUMN)
    return (df.drop(PART_COLUMN) if PART_COLUMN in df.columns else df).schema


def read_staged_batch(spark, layout: RunLayout, manifest: RoundManifest, batch_id: int, partitions: int, schema=None):
    """The staged rows of one batch (without the batch and part columns), in ``partitions`` partitions.

    With ``schema`` given, Spark reads no parquet footer up front: inferring it would be a
    small Spark job queued behind the batch already sending, which would keep the next
    batch from being ready the moment a slot frees.
    """
    from functools import reduce

    reader = spark.read if schema is None else spark.read.schema(schema)
    # Reading the batch's own folders skips listing every other batch (slow on S3).
    folder = join(layout.staged(manifest.retry_round), f"{BATCH_COLUMN}={batch_id}")
    parts = manifest.parts_of(batch_id)
    if not parts:  # staged before parts existed: one folder, spread by a shuffle
        df = reader.parquet(folder)
        return (df.drop(PART_COLUMN) if PART_COLUMN in df.columns else df).repartition(partitions)
    # Each part is one file and so one scan partition; their union has no shuffle.
    df = reduce(lambda a, b: a.unionAll(b), [reader.parquet(join(folder, f"{PART_COLUMN}={p}")) for p in parts])
    return df if len(parts) == partitions else df.repartition(partitions)
