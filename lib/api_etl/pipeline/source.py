"""Read the source rows and check them before any request is sent."""

from __future__ import annotations

import logging

from api_etl.config.pipeline import PipelineConfig
from api_etl.pipeline.errors import InputError

log = logging.getLogger(__name__)

_READERS = {"parquet": "parquet", "jsonl": "json", "csv": "csv"}


def read_source(spark, config: PipelineConfig, source_df=None):
    """Return the source DataFrame: files, a catalog table, or the DataFrame passed in."""
    src = config.source
    configured = [name for name, value in (("source.path", src.path), ("source.table", src.table)) if value]
    if source_df is not None and configured:
        raise InputError(f"a DataFrame was passed to run_pipeline and {configured[0]} is configured; give exactly one")
    if source_df is not None:
        return source_df
    if not configured:
        raise InputError("no source: set source.path or source.table, or pass a DataFrame")
    try:
        if src.table is not None:
            return _read_table(spark, src)
        return _read_files(spark, src.path, src.format, src.options)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - Spark raises AnalysisException & Py4J errors
        message = str(exc).splitlines()[0][:300]
        raise InputError(f"cannot read the source ({src.describe()}): {message}") from None


def _read_files(spark, path: str, fmt: str, options: dict):
    reader = spark.read.format(_READERS[fmt])
    options = dict(options)
    if fmt == "csv":
        options.setdefault("header", True)
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load(path)  # s3:// is mapped to S3A by the session


def _read_table(spark, src):
    """The table through Spark's catalog (Glue's, on Glue); else its files via the Glue API.

    The fallback lets a local Spark without a Hive/Glue metastore read a catalog table the
    same way the job will: by the location and format the Data Catalog records.
    """
    if spark.catalog.tableExists(src.table.identifier):
        return spark.table(src.table.identifier)
    from api_etl.aws.glue_catalog import table_storage

    location, fmt = table_storage(src.table.database, src.table.table)
    log.info("reading catalog table %s from %s (%s)", src.table.identifier, location, fmt)
    return _read_files(spark, location, fmt, src.options)


def check_source(df, config: PipelineConfig) -> tuple[object, dict]:
    """Check required columns, null and duplicate ids; return the frame to stage and facts.

    Every missing column is listed at once. Null ids are an error. Duplicate ids fail the
    run or are dropped (keeping the first by the id's sort order) as configured, with a count.
    """
    from pyspark.sql import functions as F

    columns = set(df.columns)
    missing = [c for c in config.required_source_columns() if c not in columns]
    if missing:
        raise InputError(
            f"the source ({config.source.describe()}) lacks required column(s) {missing};"
            f" it has {sorted(columns)}"
        )
    from api_etl.pipeline.staging import STAGING_COLUMNS

    reserved = [c for c in df.columns if c.lower() in STAGING_COLUMNS]
    if reserved:
        raise InputError(
            f"the source ({config.source.describe()}) has column(s) {reserved}, whose names the"
            f" staging step uses for its own columns ({list(STAGING_COLUMNS)}); rename them in"
            " the source (e.g. a view with SELECT batch_id AS source_batch_id, ...)"
        )
    id_col = config.source.id_column
    stats = df.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.when(F.col(id_col).isNull(), 1).otherwise(0)).alias("null_ids"),
        F.countDistinct(F.col(id_col)).alias("distinct_ids"),
    ).first()
    rows, null_ids, distinct = stats["rows"], stats["null_ids"] or 0, stats["distinct_ids"]
    if null_ids:
        raise InputError(f"{null_ids} row(s) of the source have a null id in column '{id_col}'")
    duplicates = rows - distinct
    facts = {"rows_read": rows, "duplicate_ids": duplicates, "duplicates_dropped": 0}
    if duplicates:
        if config.source.duplicate_ids == "fail":
            examples = [
                r[id_col]
                for r in df.groupBy(id_col).count().where("count > 1").limit(5).collect()
            ]
            raise InputError(
                f"{duplicates} duplicate id(s) in column '{id_col}' (e.g. {examples});"
                " set source.duplicate_ids: keep_first to drop them"
            )
        from pyspark.sql import Window

        # "First" = first as read (file order), which is what a user means by it.
        order = Window.partitionBy(id_col).orderBy(F.col("__read_order"))
        df = (
            df.withColumn("__read_order", F.monotonically_increasing_id())
            .withColumn("__dup_rank", F.row_number().over(order))
            .where(F.col("__dup_rank") == 1)
            .drop("__read_order", "__dup_rank")
        )
        facts["duplicates_dropped"] = duplicates
        log.warning("dropped %d row(s) with duplicate ids in column '%s'", duplicates, id_col)
    return df, facts
