"""``make demo``: the whole pipeline on this machine, no AWS account, no Docker.

1. start moto's server and the mock API (both processes on 127.0.0.1);
2. provision the stack with the Terraform root's names (KMS key, encrypted buckets, the
   credentials secret, Glue database, log groups), upload the demo config, generate the rows;
3. run the real Glue entry script (glue_job/job.py) locally on Spark local[2]: OAuth2 client
   credentials from Secrets Manager, retries, a job-wide rate limit, injected 5xx faults,
   dropped connections and latency, and a few rows the API always rejects (dead letters);
4. print the run summary, the API's own view, metrics read back from CloudWatch and where
   the sink and dead-letter files are; then rerun the same run id to show nothing is resent;
5. stop everything it started, by PID.

Outputs (logs, summaries, report.json) go to demo-output/<timestamp>/ (git-ignored).
Exit 0 when every check passed, 1 when one did not (listed at the end), 2 on a setup error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import signal
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
for _path in (REPO_ROOT, REPO_ROOT / "scripts"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from localstack import emulator  # noqa: E402
from localstack.job_runner import run_glue_job  # noqa: E402
from localstack.naming import DEFAULT_NAME  # noqa: E402
from localstack.provision import DEMO_CONFIG_TEMPLATE, DEMO_CREDENTIALS, provision  # noqa: E402

ROWS = 20_000
API_RATE_LIMIT = 500  # the mock API's own limit; the job's (400/s) is in localstack/configs/demo.yaml.tmpl
# Rows the API rejects on every attempt (503 more times than the retry middleware's
# max_attempts): they end in the dead-letter prefix.
DEAD_LETTER_ROWS = (7, 1234, 4999, 5000, 9876, 12345, 15000, 19999)
ALWAYS_FAIL_ATTEMPTS = 99

MOCK_API_CONFIG = {
    "auth": {
        "mode": "oauth2",
        "oauth2": {
            "client_id": DEMO_CREDENTIALS["client_id"],
            "client_secret": DEMO_CREDENTIALS["client_secret"],
            "users": {DEMO_CREDENTIALS["username"]: DEMO_CREDENTIALS["password"]},
            "token_ttl_seconds": 3600,
        },
    },
    "rate_limit": {"rps": API_RATE_LIMIT},
    "faults": {
        "seed": 7,
        "error_ratio": 0.02,
        "error_statuses": [500, 502, 503],
        "drop_ratio": 0.001,
        "latency": {"distribution": "lognormal", "mean_ms": 15, "p99_ms": 120},
        "fail_first_status": 503,
    },
    "row_ids": {"enabled": False},
}

METRICS_SHOWN = (
    ("RowsProcessed", "Sum"), ("RowsSucceeded", "Sum"), ("RowsFailed", "Sum"), ("Retries", "Sum"),
    ("Throttled", "Sum"), ("Status5xx", "Sum"), ("BatchesCompleted", "Sum"), ("RequestLatencyP95", "Maximum"),
    ("RateLimitWait", "Maximum"), ("RateLimitLateSlots", "Sum"),
)


class Timings:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.phases: list[tuple[str, float]] = []

    def phase(self, name: str):
        timings = self

        class _Phase:
            def __enter__(self):
                print(f"\n== {name}", flush=True)
                self.t0 = time.monotonic()
                return self

            def __exit__(self, *exc):
                seconds = time.monotonic() - self.t0
                timings.phases.append((name, seconds))
                if exc[0] is None:
                    print(f"   ({seconds:.1f} s)", flush=True)
                return False

        return _Phase()

    @property
    def total(self) -> float:
        return time.monotonic() - self.started


def _sigterm_to_interrupt(*_):
    raise KeyboardInterrupt("SIGTERM")


# -- steps --------------------------------------------------------------------------------------

def dead_letter_fault_ids(config) -> dict[str, str]:
    """request_id (the Idempotency-Key the job will send) -> tracking_id, for DEAD_LETTER_ROWS.

    The request id hashes the row id, method, URL and body, so it is computed with the
    library's own request template from the uploaded config and datagen's rows.
    """
    from api_etl.compile import build_template
    from datagen import iter_rows

    template = build_template(config)
    wanted = set(DEAD_LETTER_ROWS)
    out = {}
    for i, row in enumerate(iter_rows(max(wanted) + 1)):
        if i in wanted:
            out[template.build(row).request_id] = row["tracking_id"]
    return out


def list_prefix(s3, bucket: str, prefix: str) -> list[dict]:
    objects, token = [], None
    for _ in range(10_000):  # bounded: 10,000 pages of 1,000 keys
        kw = {"Bucket": bucket, "Prefix": prefix, **({"ContinuationToken": token} if token else {})}
        page = s3.list_objects_v2(**kw)
        objects.extend(page.get("Contents", []))
        token = page.get("NextContinuationToken")
        if not token:
            break
    return objects


def parquet_rows(s3, bucket: str, objects: list[dict], columns: list[str] | None = None):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for obj in objects:
        if obj["Key"].endswith(".parquet"):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            tables.append(pq.read_table(io.BytesIO(body), columns=columns))
    return pa.concat_tables(tables) if tables else None


def read_metrics(cloudwatch, namespace: str, job: str, run_id: str, since: dt.datetime) -> dict[str, float | None]:
    """Per-run metric values (dimensions JobName + RunId) from the emulated CloudWatch."""
    dims = [{"Name": "JobName", "Value": job}, {"Name": "RunId", "Value": run_id}]
    now = dt.datetime.now(dt.timezone.utc)
    out = {}
    for name, stat in METRICS_SHOWN:
        points = cloudwatch.get_metric_statistics(
            Namespace=namespace, MetricName=name, Dimensions=dims, StartTime=since - dt.timedelta(minutes=5),
            EndTime=now + dt.timedelta(minutes=5), Period=3600, Statistics=[stat],
        )["Datapoints"]
        values = [p[stat] for p in points]
        out[f"{name} ({stat})"] = None if not values else (max(values) if stat == "Maximum" else sum(values))
    return out


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def show_progress(line: str) -> None:
    if "api_etl.progress" in line or " ERROR " in line or "WARNING api_etl" in line or "Traceback" in line:
        print("   | " + line.split(": ", 1)[-1] if "api_etl.progress" in line else "   | " + line, flush=True)


# -- main -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_demo.py", description="Run the api-etl demo on the local stack.")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--name", default=DEFAULT_NAME, help="stack name (as the Terraform root's `name`)")
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "demo-output")
    parser.add_argument("--job-timeout", type=float, default=240.0, help="seconds each job run may take")
    ns = parser.parse_args(argv)
    if ns.rows <= max(DEAD_LETTER_ROWS):
        parser.error(f"--rows must be more than {max(DEAD_LETTER_ROWS)} (the dead-letter rows are fixed)")
    signal.signal(signal.SIGTERM, _sigterm_to_interrupt)

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = ns.output_dir / stamp
    out.mkdir(parents=True, exist_ok=True)
    run_id = f"demo-{stamp}"
    timings = Timings()
    report: dict = {"run_id": run_id, "output_dir": str(out), "checks": {}}
    moto = api = None
    print(f"api-etl demo: {ns.rows:,} rows, run id {run_id}; logs in {out}")
    try:
        with timings.phase("start the AWS emulator (moto) and the mock API"):
            moto = emulator.start(out / "emulator")
            os.environ.update(moto.env())
            from mock_api import start_mock_api_process

            api = start_mock_api_process(MOCK_API_CONFIG, workdir=out / "mock_api")
            os.environ["MOCK_API_URL"] = api.url
            print(f"   moto     {moto.url} (pid {moto.pid})")
            print(f"   mock API {api.url} (pid {api.pid}), OAuth2, limit {API_RATE_LIMIT}/s, 2% 5xx, 0.1% dropped connections, lognormal latency")

        with timings.phase("provision the stack (same names and settings as terraform/examples/complete)"):
            result = provision(ns.name, config_template=DEMO_CONFIG_TEMPLATE, rows=ns.rows)
            names = result.names
            for line in result.created:
                print(f"   created {line}")
            for line in result.skipped:
                print(f"   skipped {line}")
            print(f"   input   {ns.rows:,} rows -> {', '.join(result.source['files'])}")
            print(f"   config  {result.config_uri}")
            from api_etl.config import load_config

            config = load_config(names.config_uri).config  # as the job will: from S3, secrets resolved
            job_limit = config.execution.max_requests_per_second
            retry = next((m for m in config.middleware if m.type == "retry"), None)
            if job_limit is None or job_limit >= API_RATE_LIMIT or retry is None or retry.max_attempts >= ALWAYS_FAIL_ATTEMPTS:
                raise SystemExit("the demo config must set a job-wide rate limit below the mock API's and a retry middleware")
            failing = dead_letter_fault_ids(config)
            api.update_config({"faults": {"fail_first_ids": {rid: ALWAYS_FAIL_ATTEMPTS for rid in failing}}})
            print(f"   the API will reject {len(failing)} rows on every attempt: {sorted(failing.values())}")

        import boto3

        s3, cloudwatch = boto3.client("s3"), boto3.client("cloudwatch")
        job_env = {**moto.env(), "MOCK_API_URL": api.url}
        since = dt.datetime.now(dt.timezone.utc)

        with timings.phase(f"run the Glue entry script locally (glue_job/job.py, local[2]), run id {run_id}"):
            first = run_glue_job(names.config_uri, job_name=names.job, run_id=run_id, env=job_env,
                                 workdir=out, label="job-run1", timeout=ns.job_timeout, on_log_line=show_progress)
            if first.summary is None:
                raise SystemExit(
                    f"the job run produced no summary (exit {first.returncode}, timed out: {first.timed_out});"
                    f" log {first.log_path}:\n{first.log_tail()}"
                )
        summary = first.summary
        stats = api.stats(include_timeline=True)
        report.update(first_run={"exit_code": first.returncode, "seconds": first.seconds, "summary": summary}, api_stats=stats)

        print("\n== run summary (what the job printed)")
        print(f"   exit code {first.returncode}; failure policy {'MET' if summary['policy_met'] else 'NOT MET'}"
              + (f": {summary['stop_reason']}" if summary.get("stop_reason") else ""))
        print(f"   rows      {summary['rows_total']:,} total, {summary['rows_succeeded']:,} succeeded, {summary['rows_failed']} failed")
        print(f"   batches   {summary['batches_done']} done of {summary['batches_total']}")
        print(f"   requests  {summary['requests_sent']:,} sent ({summary['retries']} retries, {summary['throttled']} throttled)"
              f" at {summary['requests_per_second']:.0f}/s")
        print("   latency   " + ", ".join(f"{p} {_ms(summary[f'latency_{p}_ms'])}" for p in ("p50", "p95", "p99")))
        from api_etl.engine.rate_limiter import mean_wait_ms

        wait_ms = mean_wait_ms(summary.get("rate_limit_wait_seconds", 0.0), summary.get("rate_limited_requests", 0))
        if wait_ms is not None:
            print(f"   limiter   mean wait {wait_ms:.1f} ms per request for a slot;"
                  f" {summary['rate_limit_late_slots']} slots given up by workers too busy to send on time")
        print(f"   statuses  {summary['status_histogram']}")
        if summary.get("error_histogram"):
            print(f"   errors    {summary['error_histogram']}")
        print(f"   metrics   {summary['metrics_published']} data points published, {summary['metrics_failures']} failures")

        print("\n== the API's own view (mock API /_stats)")
        idem = stats["idempotency"]
        print(f"   requests received   {stats['api_requests']:,} (the job counted {summary['requests_sent']:,});"
              f" token requests {stats['token_requests']} ({stats['token_grants']})")
        print(f"   highest 1-s window  {stats['max_1s_window']} requests ({stats['max_1s_window'] / job_limit:.0%} of the job's"
              f" limit {job_limit:g}/s, {stats['max_1s_window'] / API_RATE_LIMIT:.0%} of the API's {API_RATE_LIMIT}/s);"
              f" rejected with 429: {stats['rate_limited']}")
        print(f"   mean rate           {stats['api_mean_rps']:.0f}/s over {stats['api_span_seconds']:.0f} s from first to last request"
              f" (the job idled {summary['inter_batch_idle_seconds']:.0f} s between batches)")
        print(f"   status counts       {stats['api_status_counts']}")
        print(f"   injected faults     {stats['faults']}")
        print(f"   idempotency keys    {idem['keys_seen']:,} seen, {idem['retries']} retried, {idem['duplicates']} duplicates")

        print(f"\n== metrics read back from the emulated CloudWatch (namespace {names.metrics_namespace}, JobName={names.job}, RunId={run_id})")
        metrics = read_metrics(cloudwatch, names.metrics_namespace, names.job, run_id, since)
        for key, value in metrics.items():
            print(f"   {key:28} {'n/a' if value is None else f'{value:,.1f}'}")
        listed = cloudwatch.list_metrics(Namespace=names.metrics_namespace)["Metrics"]
        print(f"   {len(listed)} metric series in {names.metrics_namespace} (job-level and per-run copies)")
        report["metrics"] = metrics

        print("\n== where the results are")
        bucket = names.data_bucket
        sink_objs = list_prefix(s3, bucket, f"sink/run_id={run_id}/")
        dead_objs = list_prefix(s3, bucket, f"dead-letter/run_id={run_id}/")
        ckpt_objs = list_prefix(s3, bucket, f"checkpoints/run_id={run_id}/")
        sink = parquet_rows(s3, bucket, sink_objs, ["row_id", "ok"])
        dead = parquet_rows(s3, bucket, dead_objs, ["row_id"])
        sink_rows = 0 if sink is None else sink.num_rows
        sink_distinct = 0 if sink is None else len(set(sink.column("row_id").to_pylist()))
        dead_ids = sorted(dead.column("row_id").to_pylist()) if dead is not None else []
        parquet = lambda objs: sum(o["Key"].endswith(".parquet") for o in objs)  # noqa: E731
        print(f"   sink         {summary['sink_path'].rstrip('/')}/run_id={run_id}/  {parquet(sink_objs)} parquet files, {sink_rows:,} records ({sink_distinct:,} distinct rows)")
        print(f"   dead letter  {summary['dead_letter_path'].rstrip('/')}/run_id={run_id}/  {parquet(dead_objs)} parquet files, {len(dead_ids)} rows: {dead_ids}")
        print(f"   checkpoints  {summary['checkpoint_path'].rstrip('/')}/  {sum('/batches/' in o['Key'] for o in ckpt_objs)} batch checkpoints")
        table = config.sink.table
        try:
            parts = boto3.client("glue").get_partitions(DatabaseName=table.database, TableName=table.table)["Partitions"]
            mine = [p for p in parts if p["Values"][:1] == [run_id]]
            print(f"   Glue catalog {table.identifier}: {len(mine)} partitions for this run (run_id/retry_round/batch_id)")
        except Exception as exc:  # noqa: BLE001 - informational only
            print(f"   Glue catalog {table.identifier}: not readable ({type(exc).__name__}: {exc})")
        report["results"] = {"sink_records": sink_rows, "sink_distinct_rows": sink_distinct, "dead_letter_rows": dead_ids}

        with timings.phase(f"rerun the same run id {run_id}: checkpointed batches are skipped, nothing is resent"):
            before = stats["api_requests"]
            second = run_glue_job(names.config_uri, job_name=names.job, run_id=run_id, env=job_env,
                                  workdir=out, label="job-run2", timeout=ns.job_timeout, on_log_line=show_progress)
            again = second.summary or {}
            after = api.stats()["api_requests"]
            print(f"   exit code {second.returncode}; batches skipped {again.get('batches_skipped')} of {again.get('batches_total')},"
                  f" done now {again.get('batches_done')}; requests sent {again.get('requests_sent')}")
            print(f"   the API received {before:,} requests before the rerun and {after:,} after")
        report["second_run"] = {"exit_code": second.returncode, "seconds": second.seconds, "summary": again,
                                "api_requests_before": before, "api_requests_after": after}

        expected_dead = len(DEAD_LETTER_ROWS)
        checks = {
            "first run exit code 0": first.returncode == 0,
            "failure policy met": bool(summary["policy_met"]),
            f"sink holds every row once ({ns.rows:,})": sink_rows == sink_distinct == summary["rows_total"] == ns.rows,
            f"dead letter holds the {expected_dead} rejected rows": len(dead_ids) == summary["rows_failed"] == expected_dead,
            "API saw as many requests as the job sent": stats["api_requests"] == summary["requests_sent"],
            "API saw OAuth2 tokens": stats["tokens_issued"] >= 1,
            "no duplicate idempotency keys": idem["duplicates"] == 0,
            f"highest 1-s window within the API limit ({API_RATE_LIMIT}/s)": stats["max_1s_window"] <= API_RATE_LIMIT,
            "no request throttled (429)": stats["rate_limited"] == 0,
            "metrics read back (RowsProcessed)": metrics.get("RowsProcessed (Sum)") == ns.rows,
            "rate-limit metrics read back (RateLimitWait)": (metrics.get("RateLimitWait (Maximum)") or 0) > 0,
            "rerun exit code 0": second.returncode == 0,
            "rerun skipped every batch": again.get("batches_skipped") == again.get("batches_total") and again.get("batches_done") == 0,
            "rerun sent no request": after == before and again.get("requests_sent") == 0,
        }
        report["checks"] = checks
    except KeyboardInterrupt:
        print("\ninterrupted; stopping what the demo started", file=sys.stderr)
        return 130
    except (SystemExit, RuntimeError) as exc:  # setup errors name what is wrong
        print(f"\ndemo failed: {type(exc).__name__}: {exc}" if isinstance(exc, RuntimeError) else f"\ndemo failed: {exc}", file=sys.stderr)
        return 2
    finally:
        stopped = []
        if api is not None:
            code = api.stop(timeout=10)
            stopped.append(f"mock API (pid {api.pid}, exit {code})")
        if moto is not None:
            moto.stop(timeout=10)
            stopped.append(f"moto (pid {moto.pid})")
        if stopped:
            print(f"\n== stopped {', '.join(stopped)}")

    timings.phases.append(("total", timings.total))
    report["timings_seconds"] = {name: round(sec, 1) for name, sec in timings.phases}
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print("\n== checks")
    for name, ok in checks.items():
        print(f"   [{'ok' if ok else 'FAILED'}] {name}")
    print("\n== timings")
    for name, seconds in timings.phases:
        print(f"   {seconds:6.1f} s  {name}")
    print(f"\nreport: {out / 'report.json'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
