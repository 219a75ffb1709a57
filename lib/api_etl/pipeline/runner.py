"""``run_pipeline``: a run a user can stop, crash or rerun without losing or duplicating rows.

Order of work for each batch not yet checkpointed: send its rows (``mapInArrow`` over the
staged batch, one task per staged part), write the records into the batch's slot, read the slot back for its stats,
write dead letters, then write the batch checkpoint, and only then publish its metrics.
A crash before the checkpoint means the batch is sent again on rerun and its slot replaced.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import time
import uuid

from api_etl.aws.cloudwatch import CloudWatchPublisher, batch_metric_data
from api_etl.config import LoadedConfig, PipelineConfig, load_config
from api_etl.engine.rate_limiter import per_task_rate
from api_etl.pipeline import sink as sink_io
from api_etl.pipeline import staging
from api_etl.pipeline.errors import InputError
from api_etl.pipeline.layout import RunLayout, batch_of_checkpoint
from api_etl.pipeline.outcomes import latest_outcomes, read_run_records
from api_etl.pipeline.progress import Progress
from api_etl.pipeline.source import check_source, read_source
from api_etl.pipeline.storage import JsonStore
from api_etl.pipeline.summary import RunSummary

log = logging.getLogger(__name__)

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

# Each task paces at 1% under its share of the limit. Evenly paced sends at exactly the
# limit put limit + 1 requests into a closed one-second window, and loopback or network
# jitter can pull one more in; 1% of slack keeps every window the API sees within its limit.
RATE_HEADROOM = 0.01


def new_run_id() -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"r{stamp}-{uuid.uuid4().hex[:6]}"


def _as_loaded(config) -> LoadedConfig:
    if isinstance(config, LoadedConfig):
        return config
    if isinstance(config, PipelineConfig):
        return LoadedConfig(config, "<object>", set())
    if isinstance(config, str):
        return load_config(config)
    raise TypeError("config must be a PipelineConfig, a LoadedConfig or a config URI")


def resolve_layout(config: PipelineConfig, run_id: str) -> RunLayout:
    sink_root = config.sink.path
    if sink_root is None:
        from api_etl.aws.glue_catalog import table_location

        sink_root = table_location(config.sink.table.database, config.sink.table.table)
    sink_root = sink_root.rstrip("/")
    checkpoint = (config.checkpoint.path or sink_root + "_checkpoints").rstrip("/")
    dead_letter = (config.sink.dead_letter or sink_root + "_dead_letter").rstrip("/")
    return RunLayout(checkpoint, sink_root, dead_letter, run_id)


@dataclasses.dataclass
class _Context:
    spark: object
    config: PipelineConfig
    loaded: LoadedConfig
    layout: RunLayout
    store: JsonStore
    job_name: str
    parallelism: int
    publisher: CloudWatchPublisher | None
    progress_stream: object = None


def _cluster_parallelism(spark_parallelism: int, cluster_slots: int | None) -> int:
    """The task slots a run plans with: Spark's count, or the deployment's when larger.

    Executors that register after the run starts (or that auto scaling adds) would otherwise
    run tasks whose rate share was computed for fewer slots, and together exceed the limit.
    """
    if cluster_slots is None:
        return spark_parallelism
    if isinstance(cluster_slots, bool) or not isinstance(cluster_slots, int) or cluster_slots < 1:
        raise InputError(f"cluster_slots must be a whole number >= 1, got {cluster_slots!r}")
    if cluster_slots > spark_parallelism:
        log.info("Spark reports %d task slot(s) so far; the deployment declares %d: batches are split"
                 " and the rate limit shared by %d", spark_parallelism, cluster_slots, cluster_slots)
    return max(spark_parallelism, cluster_slots)


def run_pipeline(
    spark,
    config,
    source_df=None,
    run_id: str | None = None,
    *,
    retry_failed: bool = False,
    job_name: str | None = None,
    force_config_change: bool = False,
    metrics_client=None,
    progress_stream=None,
    cluster_slots: int | None = None,
) -> RunSummary:
    """Run (or resume) a pipeline on ``spark``; the run's summary.

    ``cluster_slots`` is the most tasks the cluster can run at once as its deployment knows
    it (the Terraform module passes ``(workers - 1) x vCPUs per worker`` to the Glue job).
    Spark's own count only covers the executors registered when the run starts; batches are
    split, and the rate limit shared, by the larger of the two.
    """
    loaded = _as_loaded(config)
    cfg = loaded.config
    run_id = run_id or new_run_id()
    if not RUN_ID.match(run_id):
        raise InputError(f"run id {run_id!r} must be 1-128 letters, digits, '.', '_' or '-'")
    parallelism = _cluster_parallelism(spark.sparkContext.defaultParallelism, cluster_slots)
    try:
        cfg.execution.check_rate(parallelism)
    except ValueError as exc:
        raise InputError(f"execution: {exc}") from None
    publisher = None
    if cfg.metrics.enabled:
        publisher = CloudWatchPublisher(cfg.metrics.namespace, cfg.metrics.region, client=metrics_client)
    ctx = _Context(
        spark, cfg, loaded, resolve_layout(cfg, run_id), JsonStore(),
        cfg.metrics.job_name or job_name or "api-etl-local", parallelism, publisher, progress_stream,
    )
    started = time.monotonic()
    config_hash = cfg.config_hash()
    manifest = staging.check_run_manifest(
        ctx.store, ctx.layout, config_hash, force_config_change or cfg.checkpoint.force_config_change
    )
    round_no = None if manifest is None else staging.latest_round(ctx.store, ctx.layout)
    if round_no is None:
        round_manifest = _stage_first_round(ctx, source_df, config_hash)
    else:
        round_manifest = staging.read_round_manifest(ctx.store, ctx.layout, round_no)
        if source_df is not None:
            log.info("run %s is already staged; the DataFrame passed in is not read", run_id)
        if retry_failed and _round_complete(ctx, round_manifest):
            next_round = _stage_retry_round(ctx, round_manifest)
            if next_round is not None:
                round_manifest = next_round
    summary = RunSummary(
        run_id=run_id, attempt=round_manifest.retry_round, config_hash=config_hash,
        sink_path=ctx.layout.sink_root, dead_letter_path=ctx.layout.dead_letter_root,
        checkpoint_path=ctx.layout.run_dir,
    )
    _process_round(ctx, round_manifest, summary)
    _apply_failure_policy(ctx, round_manifest, summary)
    summary.duration_seconds = round(time.monotonic() - started, 3)
    if publisher is not None:
        summary.metrics_failures = publisher.failures
    return summary


def _stage_first_round(ctx: _Context, source_df, config_hash: str) -> staging.RoundManifest:
    df = read_source(ctx.spark, ctx.config, source_df)
    df, facts = check_source(df, ctx.config)
    rows = facts["rows_read"] - facts["duplicates_dropped"]
    if rows == 0:
        raise InputError(f"the source ({ctx.config.source.describe()}) has no rows")
    manifest = staging.stage_rows(
        df, ctx.store, ctx.layout, 0, _rows_per_batch(ctx), rows, ctx.config.source.id_column,
        _partitions(ctx),
    )
    staging.write_run_manifest(ctx.store, ctx.layout, config_hash, ctx.config.source.describe(), facts)
    return manifest


def _done_batches(ctx: _Context, round_no: int) -> dict[int, dict]:
    names = ctx.store.list_names(ctx.layout.checkpoints_dir(round_no))
    return {batch_of_checkpoint(n): ctx.store.read(ctx.layout.checkpoints_dir(round_no) + "/" + n) for n in names}


def _round_complete(ctx: _Context, manifest: staging.RoundManifest) -> bool:
    return len(_done_batches(ctx, manifest.retry_round)) >= manifest.batches


def _stage_retry_round(ctx: _Context, previous: staging.RoundManifest) -> staging.RoundManifest | None:
    from pyspark.sql import functions as F

    records = read_run_records(ctx.spark, ctx.layout.sink_run(), ctx.layout.sink_root)
    failed = latest_outcomes(records).where(~F.col("ok")).select("row_id").distinct()
    id_col = ctx.config.source.id_column
    source = ctx.spark.read.parquet(ctx.layout.staged(0)).drop(staging.BATCH_COLUMN, staging.PART_COLUMN)
    rows_df = source.join(failed, source[id_col].cast("string") == failed["row_id"], "left_semi")
    rows = rows_df.count()
    if rows == 0:
        log.info("run %s has no failed rows to retry", ctx.layout.run_id)
        return None
    round_no = previous.retry_round + 1
    log.info("retrying %d failed row(s) of run %s as round %d", rows, ctx.layout.run_id, round_no)
    return staging.stage_rows(rows_df, ctx.store, ctx.layout, round_no, _rows_per_batch(ctx), rows, id_col,
                              _partitions(ctx))


def _partitions(ctx: _Context) -> int:
    """Tasks per batch: ``execution.partitions``, else one per slot of the cluster."""
    return ctx.config.execution.tasks_per_batch(ctx.parallelism)


def _rows_per_batch(ctx: _Context) -> int:
    """``execution.batch_size`` resolved for this cluster (``auto`` may depend on its slots)."""
    return ctx.config.execution.rows_per_batch(ctx.parallelism)


@dataclasses.dataclass
class _BatchResult:
    batch_id: int
    stats: sink_io.BatchStats
    duration: float


def _run_batch(ctx: _Context, manifest: staging.RoundManifest, batch_id: int, partitions: int,
               rate_per_task: float | None, passthrough: list[str], schema) -> _BatchResult:
    """Send one batch, land it in its slot, then checkpoint it. Runs in a batch thread."""
    from api_etl.compile import build_worker_plan
    from api_etl.engine.arrow_io import ArrowPartitionFunction, arrow_schema
    from api_etl.engine.partition import make_partition_function
    from api_etl.engine.record import record_schema
    from api_etl.pipeline import batch_stats

    cfg, layout, round_no, spark = ctx.config, ctx.layout, manifest.retry_round, ctx.spark
    spark.sparkContext.setJobGroup(_job_group(layout, round_no, batch_id), f"api-etl batch {batch_id}", True)
    t0 = time.monotonic()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(max(time.monotonic() - t0 - sum(phases.values()), 0.0), 3)

    staged_df = staging.read_staged_batch(spark, layout, manifest, batch_id, partitions, schema)
    fields = {f.name: f for f in staged_df.schema.fields}
    plan = build_worker_plan(ctx.loaded, run_id=layout.run_id, batch_id=str(batch_id),
                             rate_per_task=rate_per_task, passthrough=passthrough)
    counter = spark.sparkContext.accumulator(batch_stats.empty(), batch_stats.StatsParam())
    out_schema = record_schema([fields[c] for c in passthrough])
    count = batch_stats.CountingPartitionFunction(make_partition_function(plan, loop_in_thread=True), counter)
    results = staged_df.mapInArrow(ArrowPartitionFunction(count, arrow_schema(out_schema)), out_schema)
    phase("plan")
    sink_io.write_batch(results, layout, round_no, batch_id)
    phase("send_and_write")
    stats = batch_stats.to_batch_stats(counter.value)
    slot = None
    expected = manifest.rows_in(batch_id)
    if expected is None or stats.rows != expected:
        # A re-run task counted twice (or an old manifest): count what the slot holds.
        log.info("batch %d: worker counts (%d rows) differ from the staged %s; reading the slot",
                 batch_id, stats.rows, expected)
        slot = sink_io.read_slot(spark, layout, round_no, batch_id)
        # The slot holds no limiter counts; the workers' are right even for a re-run task
        # (its requests did take slots).
        stats = dataclasses.replace(sink_io.batch_stats(slot), rate_limited_requests=stats.rate_limited_requests,
                                    rate_limit_wait_seconds=stats.rate_limit_wait_seconds,
                                    rate_limit_late_slots=stats.rate_limit_late_slots)
    phase("stats")
    if cfg.sink.table is not None or stats.failed:
        slot = slot if slot is not None else sink_io.read_slot(spark, layout, round_no, batch_id)
        if cfg.sink.table is not None:
            _register_partition(ctx, slot.schema, round_no, batch_id)
        if stats.failed:
            sink_io.write_dead_letter(slot, staged_df, cfg.source.id_column, layout, round_no, batch_id)
    phase("dead_letter_and_catalog")
    duration = time.monotonic() - t0
    ctx.store.write(layout.checkpoint(round_no, batch_id), {
        "batch_id": batch_id, "retry_round": round_no, "duration_seconds": round(duration, 3),
        "phase_seconds": phases, "completed_at": staging.now_iso(), **dataclasses.asdict(stats),
    })
    return _BatchResult(batch_id, stats, duration)


def _job_group(layout: RunLayout, round_no: int, batch_id: int) -> str:
    return f"api-etl:{layout.run_id}:{round_no}:{batch_id}"


def _process_round(ctx: _Context, manifest: staging.RoundManifest, summary: RunSummary) -> None:
    """Run every unfinished batch, ``batches_in_flight`` at a time, in batch order.

    Submitting the next batch while one runs lets its tasks take each slot the moment the
    previous batch's task there finishes: no slot idles while the driver writes
    checkpoints and metrics. Each batch is still checkpointed only after its own data.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    cfg, layout, round_no = ctx.config, ctx.layout, manifest.retry_round
    done = _done_batches(ctx, round_no)
    summary.batches_total = manifest.batches
    summary.rows_total = manifest.rows
    summary.batches_skipped = len(done)
    summary.rows_skipped = sum(c.get("rows", 0) for c in done.values())
    progress = Progress(manifest.batches, manifest.rows, stream=ctx.progress_stream)
    progress.skip(len(done), summary.rows_skipped)

    execution = cfg.execution
    partitions = _partitions(ctx)
    tasks_at_once = execution.tasks_at_once(ctx.parallelism)
    rate = execution.max_requests_per_second
    rate_per_task = per_task_rate(None if rate is None else rate * (1 - RATE_HEADROOM), tasks_at_once)
    passthrough = list(cfg.sink.passthrough_columns)
    todo = [b for b in range(manifest.batches) if b not in done]
    if todo:
        parts = manifest.batch_parts.get(str(todo[0]))
        staged = (manifest.batch_size, len(parts) if parts else partitions)
        log.info("run %s: %s", ctx.layout.run_id,
                 execution.describe_sizing(ctx.parallelism, rate_per_task, staged=staged))
        mismatch = execution.slots_mismatch(ctx.parallelism)
        if mismatch:
            log.warning("run %s: %s", ctx.layout.run_id, mismatch)
    schema = staging.staged_schema(ctx.spark, layout, round_no) if todo else None
    results: list[_BatchResult] = []
    started = time.monotonic()
    breaker = cfg.failure_policy.circuit_breaker
    with ThreadPoolExecutor(max_workers=execution.batches_in_flight, thread_name_prefix="api-etl-batch") as pool:
        pending: dict = {}
        queue = list(todo)
        failure: BaseException | None = None
        while (queue and summary.stop_reason is None and failure is None) or pending:
            while queue and len(pending) < execution.batches_in_flight and summary.stop_reason is None and failure is None:
                batch_id = queue.pop(0)
                pending[pool.submit(_run_batch, ctx, manifest, batch_id, partitions, rate_per_task, passthrough, schema)] = batch_id
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                batch_id = pending.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - cancel the rest, then re-raise
                    if summary.stop_reason is not None:
                        log.info("batch %d cancelled by the circuit breaker; it was not checkpointed", batch_id)
                        continue
                    failure = failure or exc
                    _cancel(ctx, layout, round_no, pending.values())
                    continue
                results.append(result)
                _record_batch(ctx, summary, progress, result)
                stats = result.stats
                if (summary.stop_reason is None and breaker.enabled and stats.rows >= breaker.min_rows
                        and stats.failure_ratio >= breaker.failure_ratio):
                    remaining = len(queue) + len(pending)
                    summary.stop_reason = (
                        f"circuit breaker: batch {batch_id} failed {stats.failure_ratio:.0%} of its rows"
                        f" (threshold {breaker.failure_ratio:.0%}); dominant error {stats.dominant_error()};"
                        f" {remaining} batch(es) not sent or cancelled. Fix the cause and rerun"
                        f" run id {layout.run_id} (add --retry-failed to re-send the failed rows)."
                    )
                    log.error(summary.stop_reason)
                    _cancel(ctx, layout, round_no, pending.values())
        if failure is not None:
            progress.close()
            raise failure
    progress.close()
    elapsed = time.monotonic() - started
    if results:
        summary.requests_per_second = round(summary.requests_sent / elapsed, 2) if elapsed > 0 else 0.0
    summary.inter_batch_idle_seconds = round(_idle_between(results), 3)


def _cancel(ctx: _Context, layout: RunLayout, round_no: int, batch_ids) -> None:
    for batch_id in batch_ids:
        ctx.spark.sparkContext.cancelJobGroup(_job_group(layout, round_no, batch_id))


def _record_batch(ctx: _Context, summary: RunSummary, progress: Progress, result: _BatchResult) -> None:
    stats = result.stats
    _accumulate(summary, stats)
    summary.batches_done += 1
    if ctx.publisher is not None:
        cfg = ctx.config
        data = batch_metric_data(stats, result.duration, ctx.job_name, ctx.layout.run_id,
                                 cfg.metrics.dimensions, cfg.metrics.per_run)
        summary.metrics_published += len(data) if ctx.publisher.publish(data) else 0
    progress.batch_done(result.batch_id, stats.rows, stats.failed, result.duration)


def _utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _idle_between(results: list[_BatchResult]) -> float:
    """Seconds in which no request of the round was in flight, between its first and last."""
    spans = sorted(
        (_utc(r.stats.first_started_at), _utc(r.stats.last_finished_at))
        for r in results if r.stats.first_started_at and r.stats.last_finished_at
    )
    idle, reach = 0.0, None
    for start, end in spans:
        if reach is not None and start > reach:
            idle += (start - reach).total_seconds()
        reach = end if reach is None else max(reach, end)
    return idle


def _register_partition(ctx: _Context, schema, round_no: int, batch_id: int) -> None:
    from api_etl.aws.glue_catalog import register_sink_partition

    table = ctx.config.sink.table
    partition = {"run_id": ctx.layout.run_id, "retry_round": str(round_no), "batch_id": str(batch_id)}
    try:
        register_sink_partition(table.database, table.table, ctx.layout.sink_root, schema, partition)
    except Exception as exc:  # noqa: BLE001 - the data is in place; a crawler can catch up
        log.warning("registering %s in the Glue catalog failed: %s: %s", partition, type(exc).__name__, exc)


def _accumulate(summary: RunSummary, stats: sink_io.BatchStats) -> None:
    summary.rows_succeeded += stats.succeeded
    summary.rows_failed += stats.failed
    summary.requests_sent += stats.requests
    summary.retries += stats.retries
    summary.throttled += stats.throttled
    summary.rate_limited_requests += stats.rate_limited_requests
    summary.rate_limit_wait_seconds = round(summary.rate_limit_wait_seconds + stats.rate_limit_wait_seconds, 3)
    summary.rate_limit_late_slots += stats.rate_limit_late_slots
    for key, value in stats.status_histogram.items():
        summary.status_histogram[key] = summary.status_histogram.get(key, 0) + value
    for key, value in stats.error_histogram.items():
        summary.error_histogram[key] = summary.error_histogram.get(key, 0) + value
    # Batch percentiles combine conservatively: the run's p-values are the worst batch's.
    for attr, src in (("latency_p50_ms", "latency_p50"), ("latency_p95_ms", "latency_p95"), ("latency_p99_ms", "latency_p99")):
        value = getattr(stats, src)
        if value is not None:
            current = getattr(summary, attr)
            setattr(summary, attr, value if current is None else max(current, value))


def _run_failed_rows(ctx: _Context, manifest: staging.RoundManifest) -> int:
    """Rows of the run whose latest outcome failed, from the checkpoints (no data read).

    Round K > 0 holds exactly the rows that had failed before it, so the run's failed rows
    are K's failures plus K's rows not yet sent; in round 0 rows not yet sent have no
    outcome. Reading the sink is the fallback for old manifests without batch row counts.
    """
    done = _done_batches(ctx, manifest.retry_round)
    failed = sum(c.get("failed", 0) for c in done.values())
    if manifest.retry_round == 0:
        return failed
    if manifest.batch_rows:
        return failed + sum(n for b, n in manifest.batch_rows.items() if int(b) not in done)
    from pyspark.sql import functions as F

    records = read_run_records(ctx.spark, ctx.layout.sink_run(), ctx.layout.sink_root)
    return latest_outcomes(records).where(~F.col("ok")).count()


def _apply_failure_policy(ctx: _Context, manifest: staging.RoundManifest, summary: RunSummary) -> None:
    """Judge the whole run (every batch, every round) on the latest outcome of each row."""
    first_round = staging.read_round_manifest(ctx.store, ctx.layout, 0)
    summary.run_rows = first_round.rows if first_round else summary.rows_total
    summary.run_failed_rows = _run_failed_rows(ctx, manifest)
    policy = ctx.config.failure_policy
    reasons = []
    if policy.max_failed_rows is not None and summary.run_failed_rows > policy.max_failed_rows:
        reasons.append(f"{summary.run_failed_rows} failed rows > max_failed_rows {policy.max_failed_rows}")
    ratio = summary.run_failed_rows / summary.run_rows if summary.run_rows else 0.0
    if policy.max_failure_ratio is not None and ratio > policy.max_failure_ratio:
        reasons.append(f"failure ratio {ratio:.2%} > max_failure_ratio {policy.max_failure_ratio:.2%}")
    unfinished = summary.batches_total - summary.batches_skipped - summary.batches_done
    if summary.stop_reason is not None or unfinished > 0:
        summary.policy_met = False
    if reasons:
        summary.policy_met = False
        summary.stop_reason = "; ".join(filter(None, [summary.stop_reason, *reasons]))
