"""One local Spark session running a list of bench jobs, in its own process.

    python scripts/bench/spark_job.py SPEC.json OUT.json

SPEC: ``{"master": "local[2]", "target": URL, "jobs": [...]}``; each job is a dict with
``kind``:

- ``stage``: write ``rows`` rows (``tracking_id`` = ``row-%010d``) as parquet to ``path``.
- ``pipeline``: ``run_pipeline`` with ``config`` (a config document) and ``run_id``; the
  target's stats are reset before and read after (with its per-second timeline). With
  ``rate_from`` (``{"job": NAME, "share": 0.9, "cap": C, "floor": F}``) its rate limit is
  :func:`common.near_max_limit` of the rate the target saw in the earlier job NAME of this
  list: a limit set from the machine's speed a minute before, not a section before.
- ``floor``: Spark's own cost for the pipeline's records, with no HTTP: one real record is
  fetched from the target on the driver, then ``mapInArrow`` (the pipeline's Arrow function)
  emits a copy of it per source row (its row and request ids changed) and the result is
  written as parquet, as a batch is. Run ``repeat`` times in this JVM; each is timed.
- ``threads``: case 4, ``requests`` + a ``threads``-thread pool inside ``mapPartitions``
  over ``source`` (``partitions`` partitions), results written as parquet to ``sink``.
- ``handwritten``: the best a user could hand-write through Spark with no framework: a bare
  aiohttp loop (uvloop, ``in_flight`` requests in flight) inside ``mapInArrow``, one Spark
  job for all rows, (id, status, body, times) written as parquet to ``sink``. The bound on
  any aiohttp pipeline through Spark on this machine.

Each job's result has ``started``/``finished`` (epoch seconds) so the parent, which samples
this process tree, can attribute CPU to it. OUT is rewritten after every job.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import common  # noqa: F401 - sets sys.path
from common import near_max_limit, row_url, server_achieved_rps

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def _http(url: str, method: str = "GET") -> dict:
    req = urllib.request.Request(url, data=b"" if method == "POST" else None, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def stage(spark, job: dict) -> dict:
    from pyspark.sql import functions as F

    df = spark.range(job["rows"], numPartitions=2).select(
        F.format_string("row-%010d", F.col("id")).alias("tracking_id"))
    df.write.mode("overwrite").parquet(job["path"])
    return {"rows": job["rows"]}


def limit_from(job: dict, earlier: list[dict]) -> float:
    """The rate limit a ``rate_from`` job runs at, from the earlier job it names."""
    spec = job["rate_from"]
    ref = next((r for r in earlier if r.get("name") == spec["job"]), None)
    if ref is None:
        raise ValueError(f"job {job.get('name')!r}: rate_from names {spec['job']!r}, which did not run before it")
    return near_max_limit(server_achieved_rps(ref["server"]) or 0.0, share=spec.get("share", 0.9),
                          cap=spec.get("cap"), floor=spec.get("floor", 0.0))


def pipeline(spark, job: dict, target: str, earlier: list[dict] = ()) -> dict:
    from api_etl.config import validate_document
    from api_etl.pipeline.runner import run_pipeline

    config = job["config"]
    if "rate_from" in job:
        config = {**config, "execution": {**config["execution"], "max_requests_per_second": limit_from(job, earlier)}}
    loaded = validate_document(config, job.get("name", "bench"), resolve_secrets=False)
    _http(target + "/_reset", "POST")
    started = time.time()
    summary = run_pipeline(spark, loaded, run_id=job["run_id"])
    finished = time.time()
    stats = _http(target + "/_stats?include_timeline=1")
    checkpoints = [json.loads(Path(p).read_text()) for p in sorted(glob.glob(
        f"{summary.checkpoint_path}/retry_round=0/batches/*.json"))]
    return {"summary": summary.as_dict(), "server": stats, "checkpoints": checkpoints,
            "limit": config["execution"].get("max_requests_per_second"), "started": started, "finished": finished}


class CannedRecords:
    """Floor job's record function: the same record for every row, ids changed."""

    def __init__(self, record: tuple) -> None:
        from api_etl.engine.record import FIELD_INDEX

        self.record = record
        self.row_i, self.request_i = FIELD_INDEX["row_id"], FIELD_INDEX["request_id"]

    def __call__(self, rows):
        record, row_i, request_i = list(self.record), self.row_i, self.request_i
        for row in rows:
            record[row_i] = record[request_i] = row["tracking_id"]
            yield tuple(record)


def _one_file_per_task(spark, job: dict):
    """``source`` rewritten as one file per task and read back: read without a shuffle, as
    the pipeline reads a staged batch (the rewrite is not part of any timed job)."""
    staged = f"{job['sink']}-staged"
    spark.read.parquet(job["source"]).repartition(job["partitions"]).write.mode("overwrite").parquet(staged)
    return spark.read.parquet(staged)


def floor(spark, job: dict, target: str) -> dict:
    from api_etl.compile import build_worker_plan
    from api_etl.config import validate_document
    from api_etl.engine.arrow_io import ArrowPartitionFunction, arrow_schema
    from api_etl.engine.partition import PartitionEngine
    from api_etl.engine.record import record_schema
    from api_etl.pipeline.sink import PARTITION_COLUMNS

    loaded = validate_document(job["config"], "bench-floor", resolve_secrets=False)
    plan = build_worker_plan(loaded, run_id="floor", batch_id="0")
    record = next(iter(PartitionEngine(plan).run([{"tracking_id": "row-0000000000"}])))
    schema = record_schema()
    src = _one_file_per_task(spark, job)
    rows = src.count()
    runs = []
    for k in range(job.get("repeat", 2)):
        started = time.time()
        out = src.mapInArrow(ArrowPartitionFunction(CannedRecords(record), arrow_schema(schema)), schema)
        out.drop(*PARTITION_COLUMNS).write.mode("overwrite").parquet(f"{job['sink']}/run={k}")
        runs.append({"started": started, "finished": time.time()})
    return {"records": rows, "runs": runs, "started": runs[0]["started"], "finished": runs[-1]["finished"]}


class ThreadedRequests:
    """Case 4: the usual ``requests`` + thread pool partition function."""

    def __init__(self, base: str, threads: int) -> None:
        self.base, self.threads = base, threads

    def __call__(self, rows):
        from concurrent.futures import ThreadPoolExecutor

        import requests

        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=self.threads)
        session.mount("http://", adapter)

        def call(row):
            url = f"{self.base}/v1/patients/{row.tracking_id}"
            t0 = time.time()
            try:
                resp = session.get(url, timeout=30)
                return (row.tracking_id, resp.status_code, resp.text, None, t0, time.time())
            except Exception as exc:  # noqa: BLE001
                return (row.tracking_id, None, None, repr(exc), t0, time.time())

        with ThreadPoolExecutor(self.threads) as pool:
            # map() keeps at most the partition's futures; chunk it so memory stays bounded.
            chunk = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= 1000:
                    yield from pool.map(call, chunk)
                    chunk = []
            if chunk:
                yield from pool.map(call, chunk)


class HandWrittenAiohttp:
    """The hand-written baseline: a bare aiohttp loop per partition inside ``mapInArrow``.

    Written as a user who wants the last request per second would: the partition's ids read
    up front (no memory bound), ``in_flight`` workers on one uvloop session, results yielded
    as Arrow batches of ``OUT_BATCH`` rows. No retries, no records beyond the response.
    """

    OUT_BATCH = 10_000

    def __init__(self, base: str, in_flight: int, schema) -> None:
        # schema: the pyarrow schema of result_schema(), built on the driver
        self.base, self.in_flight, self.schema = base, in_flight, schema

    def __call__(self, batches):
        import asyncio

        import aiohttp
        import uvloop

        from api_etl.engine.arrow_io import records_to_batch

        ids = [i for b in batches for i in b.column("tracking_id").to_pylist()]
        out: list[tuple] = []

        async def main() -> None:
            next_i = 0
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.in_flight)) as session:
                async def worker() -> None:
                    nonlocal next_i
                    while next_i < len(ids):
                        row_id = ids[next_i]
                        next_i += 1
                        t0 = time.time()
                        try:
                            async with session.get(f"{self.base}/v1/patients/{row_id}") as resp:
                                body = await resp.text()
                                out.append((row_id, resp.status, body, None, t0, time.time()))
                        except Exception as exc:  # noqa: BLE001
                            out.append((row_id, None, None, repr(exc), t0, time.time()))

                await asyncio.gather(*(worker() for _ in range(self.in_flight)))

        loop = uvloop.new_event_loop()
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
        for start in range(0, len(out), self.OUT_BATCH):
            yield records_to_batch(out[start:start + self.OUT_BATCH], self.schema)


def result_schema():
    """Cases 4 and the hand-written loop: one row per request."""
    from pyspark.sql import types as T

    return T.StructType([T.StructField("tracking_id", T.StringType()), T.StructField("status", T.IntegerType()),
                         T.StructField("body", T.StringType()), T.StructField("error", T.StringType()),
                         T.StructField("sent_at", T.DoubleType()), T.StructField("answered_at", T.DoubleType())])


def threads(spark, job: dict, target: str) -> dict:
    src = spark.read.parquet(job["source"]).repartition(job["partitions"])
    src.count()
    started = time.time()
    rdd = src.rdd.mapPartitions(ThreadedRequests(target, job["threads"]))
    spark.createDataFrame(rdd, result_schema()).write.mode("overwrite").parquet(job["sink"])
    return _sent_results(spark, job, started)


def handwritten(spark, job: dict, target: str) -> dict:
    from api_etl.engine.arrow_io import arrow_schema

    src = _one_file_per_task(spark, job)
    src.count()
    started = time.time()
    schema = result_schema()
    out = src.mapInArrow(HandWrittenAiohttp(target, job["in_flight"], arrow_schema(schema)), schema)
    out.write.mode("overwrite").parquet(job["sink"])
    return _sent_results(spark, job, started)


def _sent_results(spark, job: dict, started: float) -> dict:
    """What the sink of case 4 or the hand-written loop holds, and its send window."""
    finished = time.time()
    result = spark.read.parquet(job["sink"])
    rows = result.count()
    bad = result.where("status is null or status < 200 or status >= 300").count()
    # The send window (first request to last response), as for the other cases.
    first, last = result.selectExpr("min(sent_at)", "max(answered_at)").first()
    return {"requests": rows, "non_2xx": bad, "started": started, "finished": finished,
            "first_sent": first, "last_answered": last}


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2])
    from api_etl.pipeline.spark_session import build_local_spark

    spark = build_local_spark(spec.get("master", "local[2]"), "api-etl-bench")
    spark.sparkContext.setLogLevel("WARN")
    results = []
    try:
        for job in spec["jobs"]:
            kind = job["kind"]
            t0 = time.time()
            if kind == "stage":
                res = stage(spark, job)
            elif kind == "pipeline":
                res = pipeline(spark, job, spec["target"], results)
            elif kind == "threads":
                res = threads(spark, job, spec["target"])
            elif kind == "floor":
                res = floor(spark, job, spec["target"])
            elif kind == "handwritten":
                res = handwritten(spark, job, spec["target"])
            else:
                raise ValueError(f"unknown job kind {kind!r}")
            res.setdefault("started", t0)
            res.setdefault("finished", time.time())
            results.append({"kind": kind, "name": job.get("name", kind), **res})
            out_path.write_text(json.dumps(results, default=str))
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    _ = row_url  # the same URL scheme as the other cases (documented in common)
    sys.exit(main())
