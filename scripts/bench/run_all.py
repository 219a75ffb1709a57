"""``make bench``: throughput against the raw-aiohttp ceiling, rate-limit accuracy, flat
memory, batch overhead and a 1,000,000-row run, against one local target server.

    .venv/bin/python scripts/bench/run_all.py [--rows 50000] [--quick] [--only throughput,rate]

Writes ``bench/results/<date>.json`` and ``bench/results/<date>.md`` (the table and every
target, met or not, with the reason) and ``bench/plots/*.png``. Scratch data (sources,
sinks, checkpoints, logs) goes to a temporary directory that is removed at the end unless
``--keep``. Every case runs under a time bound; every process started here is stopped by
its PID. Exit 0 when every target was met, 1 when one was not, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from api_etl.engine.rate_limiter import mean_wait_ms
from api_etl.pipeline.runner import RATE_HEADROOM
from common import REPO_ROOT, TreeSampler, pipeline_config, write_json

SECTIONS = ("server", "throughput", "latency", "batches", "rate", "memory", "scale")
EXTRA_SECTIONS: tuple[str, ...] = ()  # sections run only when named in --only
PY = sys.executable
CORES = os.cpu_count() or 2


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def per_1k(cpu: float, requests: int) -> float | None:
    return round(1000.0 * cpu / requests, 4) if requests else None


def _utc_ts(text: str) -> float:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


def warm_window(checkpoints: list[dict]) -> tuple[float, float, int] | None:
    """From the second batch's first request to the last response, and its requests.

    The first batch of a fresh JVM pays the JIT compiler (C1 alone in local sessions; with
    C2 its threads burned ~15 CPU s in the first ~20 s of a run); this window is the steady
    state a long Glue run lives in.
    """
    timed = sorted((c for c in checkpoints if c.get("first_started_at") and c.get("last_finished_at")),
                   key=lambda c: c["first_started_at"])
    if len(timed) < 2:
        return None
    start = _utc_ts(timed[1]["first_started_at"])
    end = max(_utc_ts(c["last_finished_at"]) for c in timed)
    return start, end, sum(c.get("requests", 0) for c in timed[1:])


def send_window(checkpoints: list[dict]) -> tuple[float, float] | None:
    starts = [_utc_ts(c["first_started_at"]) for c in checkpoints if c.get("first_started_at")]
    ends = [_utc_ts(c["last_finished_at"]) for c in checkpoints if c.get("last_finished_at")]
    return (min(starts), max(ends)) if starts and ends else None


def recorded_params(args: argparse.Namespace) -> dict[str, Any]:
    """The run's arguments as saved in its results, without paths of this machine (the
    results are committed): ``out`` relative to the repository, or just marked outside it."""
    params = {k: v for k, v in vars(args).items() if k != "scratch"}
    out = Path(params["out"]).resolve()
    try:
        params["out"] = str(out.relative_to(REPO_ROOT.resolve()))
    except ValueError:
        params["out"] = "(outside the repository)"
    return params


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="api-etl-bench-", dir=args.scratch))
        self.results: dict[str, Any] = {
            "date": dt.datetime.now().strftime("%Y-%m-%d"),
            "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cores": CORES, "python": sys.version.split()[0], "load_at_start": load()},
            "params": recorded_params(args),
            "cases": {}, "targets": [],
        }
        self.target = None
        self.target_pid: int | None = None

    # -- infrastructure ------------------------------------------------------------------

    def server_cpu(self, pid: int | None = None) -> float:
        import psutil

        t = psutil.Process(pid or self.target_pid).cpu_times()
        return t.user + t.system

    def spark_jobs(self, name: str, jobs: list[dict], timeout: float, master: str = "local[2]") -> tuple[list[dict], TreeSampler]:
        """Run jobs in one ``spark_job.py`` process, sampling its tree; bounded by ``timeout``."""
        spec = self.work / f"{name}.spec.json"
        out = self.work / f"{name}.out.json"
        write_json(spec, {"master": master, "target": self.target.url, "jobs": jobs})
        code, sampler = self._run_sampled(name, [PY, str(Path(__file__).with_name("spark_job.py")), str(spec), str(out)], timeout)
        if code != 0:
            raise RuntimeError(f"{name}: spark_job exited {code}\n{self._log_tail(name)}")
        return json.loads(out.read_text()), sampler

    def _run_sampled(self, name: str, cmd: list[str], timeout: float) -> tuple[int, TreeSampler]:
        """Run ``cmd`` (output to ``<name>.log``), sampling its process tree; bounded by ``timeout``."""
        logf = open(self.work / f"{name}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT))
        try:
            with TreeSampler(proc.pid, self.args.sample_interval) as sampler:
                try:
                    code = proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._kill_tree(proc)
                    raise TimeoutError(f"{name}: not finished within {timeout:.0f} s") from None
        finally:
            logf.close()
        return code, sampler

    def _log_tail(self, name: str) -> str:
        return (self.work / f"{name}.log").read_text(errors="replace")[-3000:]

    def _kill_tree(self, proc: subprocess.Popen) -> None:
        import psutil

        try:
            kids = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            kids = []
        proc.kill()
        for kid in kids:  # the JVM and Python workers this bench started, by PID
            try:
                kid.kill()
            except psutil.Error:
                pass
        proc.wait(10)

    def stage(self, rows: int, path: Path, timeout: float = 300) -> None:
        if (path / "_SUCCESS").exists():
            return
        self.spark_jobs(f"stage-{rows}", [{"kind": "stage", "rows": rows, "path": str(path)}], timeout)

    def stage_all(self, sections) -> None:
        """Write every source the sections need in one Spark session (a session costs ~10 s)."""
        a = self.args
        sizes = set()
        if "throughput" in sections or "batches" in sections:
            sizes.add(a.rows)
        if "latency" in sections:
            sizes.add(a.latency_rows)
        if "rate" in sections:
            sizes.update(int(limit * a.rate_seconds) for limit in (a.rate_low, a.rate_medium))
        if "memory" in sections:
            sizes.update(a.memory_rows)
        if "scale" in sections:
            sizes.add(a.scale_rows)
        jobs = [{"kind": "stage", "rows": n, "path": str(self.work / f"source-{n}")} for n in sorted(sizes)]
        if jobs:
            log(f"staging sources of {sorted(sizes)} rows")
            self.spark_jobs("stage", jobs, 600)

    def api_etl_run(self, name: str, config: dict, timeout: float) -> dict:
        """Case 3 exactly as a user runs it: ``api-etl run`` in its own process."""
        cfg_path = self.work / f"{name}.yaml"
        write_json(cfg_path, config)  # JSON is YAML
        summary_path = self.work / f"{name}.summary.json"
        cmd = [str(Path(PY).with_name("api-etl")), "run", "--config", str(cfg_path), "--run-id", name,
               "--master", "local[2]", "--summary-json", str(summary_path)]
        self.target.reset()
        server0 = self.server_cpu()
        t0 = time.time()
        code, sampler = self._run_sampled(name, cmd, timeout)
        wall = time.time() - t0
        if not summary_path.exists():
            raise RuntimeError(f"{name}: api-etl run exited {code} without a summary\n{self._log_tail(name)}")
        summary = json.loads(summary_path.read_text())
        checkpoints = [json.loads(p.read_text()) for p in sorted(Path(summary["checkpoint_path"]).glob("retry_round=0/batches/*.json"))]
        server = self.target.stats()
        out = self._pipeline_facts(summary, checkpoints, sampler, server)
        out.update(exit_code=code, wall_seconds=round(wall, 2), server_cpu_per_1k=per_1k(self.server_cpu() - server0, summary["requests_sent"]))
        return out

    def _pipeline_facts(self, summary: dict, checkpoints: list[dict], sampler: TreeSampler, server: dict) -> dict:
        window = send_window(checkpoints)
        requests = summary["requests_sent"]
        cpu, by_kind = sampler.cpu_between(*window) if window else (0.0, {})
        warm = warm_window(checkpoints)
        warm_cpu, warm_kinds = sampler.cpu_between(warm[0], warm[1]) if warm else (None, {})
        round_seconds = requests / summary["requests_per_second"] if summary["requests_per_second"] else None
        phases: dict[str, float] = {}
        for c in checkpoints:
            for k, v in (c.get("phase_seconds") or {}).items():
                phases[k] = round(phases.get(k, 0.0) + v, 3)
        return {
            "requests": requests, "rows_succeeded": summary["rows_succeeded"], "rows_failed": summary["rows_failed"],
            # First request to last response, as the ceiling is measured; the whole round
            # (Spark jobs submitted to the last checkpoint) is round_rps.
            "rps": round(requests / (window[1] - window[0]), 1) if window else summary["requests_per_second"],
            "round_rps": summary["requests_per_second"],
            "send_window_seconds": round(window[1] - window[0], 3) if window else None,
            "round_seconds": round(round_seconds, 3) if round_seconds else None,
            "duration_seconds": summary["duration_seconds"],
            "inter_batch_idle_seconds": summary["inter_batch_idle_seconds"],
            "idle_fraction": round(summary["inter_batch_idle_seconds"] / round_seconds, 4) if round_seconds else None,
            "batches": summary["batches_done"],
            "cpu_seconds": round(cpu, 3), "cpu_s_per_1k": per_1k(cpu, requests),
            "cpu_by_process_kind_s": by_kind,
            "python_worker_cpu_s_per_1k": per_1k(by_kind.get("python_worker", 0.0), requests),
            "warm_rps": round(warm[2] / (warm[1] - warm[0]), 1) if warm and warm[1] > warm[0] else None,
            "warm_cpu_s_per_1k": per_1k(warm_cpu, warm[2]) if warm else None,
            "warm_cpu_by_process_kind_s_per_1k": {k: per_1k(v, warm[2]) for k, v in warm_kinds.items()} if warm else {},
            "peak_rss_mb": {k: round(v / 2**20, 1) for k, v in sampler.peak_rss.items()},
            "peak_tree_rss_mb": round(sampler.peak_tree_rss / 2**20, 1),
            "python_worker_peak_rss_mb": round(max(sampler.worker_hwm.values(), default=0) / 2**20, 1),
            "server_requests": server.get("api_requests"), "server_max_1s_window": server.get("max_1s_window"),
            "batch_phase_seconds_total": phases,
            "latency_p50_ms": summary.get("latency_p50_ms"), "latency_p99_ms": summary.get("latency_p99_ms"),
        }

    def client_case(self, fn: str, rows: int, processes: int, timeout: float, extra: tuple = ()) -> dict:
        from clients import run_processes

        self.target.reset()
        s0 = self.server_cpu()
        extra = (str(self.work),) if fn == "engine" else extra
        res = run_processes(fn, self.target.url, rows, processes, self.args.in_flight, timeout, extra)
        res["server_cpu_per_1k"] = per_1k(self.server_cpu() - s0, res["requests"])
        res["server_requests"] = self.target.stats().get("api_requests")
        return res

    # -- sections -------------------------------------------------------------------------

    def warm_up_target(self, server=None, rows: int = 5_000) -> None:
        """A few thousand requests before a server is measured: Node compiles its hot path
        in the first ones (the first server check ran ~25% slower than the second without
        this), and a real API is warm when a job starts."""
        from clients import run_processes

        server = server or self.target
        rows = min(rows, self.args.rows)
        res = run_processes("ceiling", server.url, rows, CORES, self.args.in_flight, self.args.case_timeout)
        log(f"target warmed up: {res['requests']} requests, {res['rps']} req/s")

    def section_server(self) -> None:
        """What the server costs: the ceiling client against each kind of target, with the
        target's CPU per request, the run's own target first and again last."""
        from clients import run_processes

        rows = max(self.args.rows // 2, 2000)
        kind = self.args.target

        def ceiling_against(server, label: str) -> dict:
            cpu0 = self.server_cpu(server.pid)
            res = run_processes("ceiling", server.url, rows, CORES, self.args.in_flight, self.args.case_timeout)
            res["server_cpu_per_1k"] = per_1k(self.server_cpu(server.pid) - cpu0, res["requests"])
            log(f"server check: ceiling vs {label}: {res['rps']} req/s, server {res['server_cpu_per_1k']} CPU s/1k")
            return res

        out: dict[str, Any] = {"target": kind, kind: ceiling_against(self.target, kind)}
        for other in (k for k in common.TARGET_KINDS if k != kind):
            server = common.start_target(self.work / f"server-check-{other}", other)
            try:
                self.warm_up_target(server)
                out[other] = ceiling_against(server, other)
            finally:
                server.stop()
        out[f"{kind}_again"] = ceiling_against(self.target, kind)
        own_rps = (out[kind]["rps"] + out[f"{kind}_again"]["rps"]) / 2
        out["target_over_bare_rps"] = round(own_rps / out["bare"]["rps"], 3)
        self.results["cases"]["server_check"] = out

    def section_throughput(self) -> None:
        rows, a = self.args.rows, self.args
        source = self.work / f"source-{rows}"
        self.stage(rows, source)
        cases = self.results["cases"]
        log(f"case 1 ceiling: {rows} rows, {CORES} processes x {a.in_flight} in flight")
        cases["1_ceiling"] = self.client_case("ceiling", rows, CORES, a.case_timeout)
        log(f"  {cases['1_ceiling']['rps']} req/s, {cases['1_ceiling']['cpu_s_per_1k']} CPU s/1k")
        log("case 2 partition engine alone")
        cases["2_engine"] = self.client_case("engine", rows, CORES, a.case_timeout)
        log(f"  {cases['2_engine']['rps']} req/s, {cases['2_engine']['cpu_s_per_1k']} CPU s/1k")
        log("case 3 full pipeline (api-etl run, local[2], default batch size)")
        cfg = pipeline_config(self.target.url, str(self.work), concurrency=a.in_flight, name="case3", source=str(source))
        cases["3_pipeline"] = self.api_etl_run("case3", cfg, a.case_timeout + 120)
        log(f"  {cases['3_pipeline']['rps']} req/s, {cases['3_pipeline']['cpu_s_per_1k']} CPU s/1k")
        log("case 1 ceiling again (drift check)")
        cases["1_ceiling_again"] = self.client_case("ceiling", rows, CORES, a.case_timeout)
        log(f"  {cases['1_ceiling_again']['rps']} req/s")
        log("case 4 requests + 20 threads in mapPartitions")
        cases["4_requests_threads"] = self.threads_case("case4", source, a.case_timeout * 3 + 120)
        log(f"  {cases['4_requests_threads']['rps']} req/s")
        log("hand-written aiohttp loop in mapInArrow (the bound for any aiohttp pipeline through Spark)")
        cases["3_handwritten_spark"] = self.handwritten_case("handwritten", source, a.case_timeout * 2 + 120)
        log(f"  {cases['3_handwritten_spark']['rps']} req/s, {cases['3_handwritten_spark']['cpu_s_per_1k']} CPU s/1k")
        log("Spark floor: the pipeline's records through mapInArrow and parquet, no HTTP")
        cases["3_spark_floor"] = self.floor_case("floor", source, a.case_timeout * 2 + 120)
        log(f"  {cases['3_spark_floor']['cpu_s_per_1k']} CPU s/1k records (warm), {cases['3_spark_floor']['records_per_second']} records/s")
        log("case 5 sequential requests")
        cases["5_sequential"] = self.client_case("sequential", rows, 1, a.case_timeout * 4)
        log(f"  {cases['5_sequential']['rps']} req/s")

    def threads_case(self, name: str, source: Path, timeout: float) -> dict:
        """Case 4: ``requests`` + a 20-thread pool in ``mapPartitions``, in its own Spark process."""
        return self._sent_case(name, {"kind": "threads", "threads": 20}, source, timeout, in_flight_total=20 * CORES)

    def handwritten_case(self, name: str, source: Path, timeout: float) -> dict:
        """A bare aiohttp loop in ``mapInArrow`` (see ``spark_job.HandWrittenAiohttp``), same in flight as (3)."""
        in_flight = self.args.in_flight
        return self._sent_case(name, {"kind": "handwritten", "in_flight": in_flight}, source, timeout,
                               in_flight_total=in_flight * CORES)

    def _sent_case(self, name: str, job: dict, source: Path, timeout: float, *, in_flight_total: int) -> dict:
        """One Spark job that sends every row of ``source`` and writes what came back (4 and 3h)."""
        self.target.reset()
        s0 = self.server_cpu()
        spec = {**job, "source": str(source), "sink": str(self.work / f"{name}-sink"), "partitions": CORES}
        jobs, sampler = self.spark_jobs(name, [spec], timeout)
        job = jobs[0]
        cpu, kinds = sampler.cpu_between(job["first_sent"], job["last_answered"])
        job_cpu, _ = sampler.cpu_between(job["started"], job["finished"])
        seconds = job["finished"] - job["started"]
        window = job["last_answered"] - job["first_sent"]
        return {
            "requests": job["requests"], "non_2xx": job["non_2xx"], "seconds": round(seconds, 3),
            # The whole Spark job (read, send, write), as case 3's round_rps.
            "job_rps": round(job["requests"] / seconds, 1), "job_cpu_s_per_1k": per_1k(job_cpu, job["requests"]),
            # First request to last response, as the ceiling and the pipeline are measured.
            "rps": round(job["requests"] / window, 1), "send_window_seconds": round(window, 3),
            "cpu_seconds": round(cpu, 3), "cpu_s_per_1k": per_1k(cpu, job["requests"]),
            "cpu_by_process_kind_s": kinds, "in_flight_total": in_flight_total,
            "server_cpu_per_1k": per_1k(self.server_cpu() - s0, job["requests"]),
        }

    def floor_case(self, name: str, source: Path, timeout: float) -> dict:
        """What Spark alone costs per record of the pipeline (see ``spark_job.floor``).

        The JVM and Python-worker CPU of writing the same records the pipeline writes, with
        no request sent: the part of case 3's CPU that no HTTP client can save. The last of
        the runs (JIT warm) is reported; the first is kept as ``cold``.
        """
        cfg = pipeline_config(self.target.url, str(self.work), concurrency=self.args.in_flight, name=name)
        jobs, sampler = self.spark_jobs(name, [{"kind": "floor", "source": str(source), "sink": str(self.work / f"{name}-sink"),
                                                "partitions": CORES, "config": cfg, "repeat": 3}], timeout)
        job = jobs[0]
        runs = []
        for run in job["runs"]:
            cpu, kinds = sampler.cpu_between(run["started"], run["finished"])
            seconds = run["finished"] - run["started"]
            runs.append({"seconds": round(seconds, 3), "records_per_second": round(job["records"] / seconds, 1),
                         "cpu_s_per_1k": per_1k(cpu, job["records"]),
                         "cpu_by_process_kind_s_per_1k": {k: per_1k(v, job["records"]) for k, v in kinds.items()}})
        return {"records": job["records"], **runs[-1], "cold": runs[0], "runs": len(runs)}

    def section_latency(self) -> None:
        """Cases 1, 3 and 4 against an API that takes ``--latency-ms`` per request.

        On loopback with no latency every case is CPU-bound on a machine it shares with the
        server; a real API answers in tens of milliseconds, and then throughput is in-flight
        requests / latency (Little's law) for any client that keeps its requests in flight.
        """
        a = self.args
        rows = a.latency_rows
        source = self.work / f"source-{rows}"
        self.stage(rows, source)
        saved = self.target, self.target_pid
        self.target = common.start_target(self.work / "latency", a.target, latency_ms=a.latency_ms)
        self.target_pid = self.target.pid
        out: dict[str, Any] = {"latency_ms": a.latency_ms, "rows": rows,
                               "littles_law_rps": round(CORES * a.in_flight / (a.latency_ms / 1000.0), 1)}
        try:
            log(f"latency {a.latency_ms:g} ms: case 1 ceiling, {rows} rows")
            out["1_ceiling"] = self.client_case("ceiling", rows, CORES, a.case_timeout)
            log(f"  {out['1_ceiling']['rps']} req/s")
            log("latency: case 3 pipeline")
            cfg = pipeline_config(self.target.url, str(self.work), concurrency=a.in_flight, name="latency-case3", source=str(source))
            out["3_pipeline"] = self.api_etl_run("latency-case3", cfg, a.case_timeout + 120)
            log(f"  {out['3_pipeline']['rps']} req/s")
            log("latency: case 4 requests + 20 threads")
            out["4_requests_threads"] = self.threads_case("latency-case4", source, a.case_timeout * 2 + 120)
            log(f"  {out['4_requests_threads']['rps']} req/s")
        finally:
            self.target.stop()
            self.target, self.target_pid = saved
        self.results["cases"]["latency_bound"] = out

    def section_batches(self) -> None:
        a = self.args
        rows = a.rows
        source = self.work / f"source-{rows}"
        self.stage(rows, source)
        jobs = []
        for size in a.batch_sizes:
            cfg = pipeline_config(self.target.url, str(self.work), batch_size=size, concurrency=a.in_flight,
                                  name=f"batch-{size}", source=str(source))
            jobs.append({"kind": "pipeline", "name": f"batch_{size}", "run_id": f"batch-{size}", "config": cfg})
        log(f"batch sweep {a.batch_sizes} rows per batch, {rows} rows each")
        results, sampler = self.spark_jobs("batches", jobs, a.case_timeout * len(jobs) + 180)
        sweep = {}
        for size, res in zip(a.batch_sizes, results):
            facts = self._pipeline_facts(res["summary"], res["checkpoints"], sampler, res["server"])
            sweep[str(size)] = facts
            log(f"  batch {size}: {facts['rps']} req/s, idle {facts['idle_fraction']}")
        self.results["cases"]["batch_sweep"] = sweep

    def section_rate(self) -> None:
        """Low and medium limits as set; the near-max limit from the pipeline's unlimited
        rate over the same rows just before it, in the same JVM (``--rate-high`` fixes it
        instead). A second unlimited run after it shows whether the machine's speed moved.
        Before the Spark jobs, the machine's own steadiness (:meth:`measure_steadiness`)."""
        a = self.args
        low, medium, high = rate_limits(a, self.results["cases"])
        cap = near_max_cap(self.results["cases"])
        jobs: list[dict] = []

        def run(name: str, rows: int, rate: float | None = None, **extra: Any) -> None:
            source = self.work / f"source-{rows}"
            staged = {j["path"] for j in jobs if j["kind"] == "stage"}
            if not (source / "_SUCCESS").exists() and str(source) not in staged:  # in the same Spark session, first
                jobs.insert(0, {"kind": "stage", "rows": rows, "path": str(source)})
            cfg = pipeline_config(self.target.url, str(self.work), rate=rate, concurrency=a.in_flight,
                                  name=name, source=str(source))
            jobs.append({"kind": "pipeline", "name": name, "run_id": name, "config": cfg, **extra})

        for limit in (low, medium):
            run(f"rate-{limit:g}", int(limit * a.rate_seconds), limit)
        rows_high = int(high * a.rate_seconds)
        if a.rate_high is None:
            run("rate-unlimited-before", rows_high)
            run("rate-near-max", rows_high, rate_from={"job": "rate-unlimited-before", "share": a.near_max_share,
                                                       "cap": cap, "floor": medium + 100})
            run("rate-unlimited-after", rows_high)
            log(f"rate limits {low:g}, {medium:g} req/s and {a.near_max_share:g} x the pipeline's unlimited rate"
                f" over {rows_high:,} rows just before" + (f" (at most {cap:.0f}, 0.8 of the ceiling)" if cap else ""))
        else:
            run(f"rate-{high:g}", rows_high, high)
            log(f"rate limits {[low, medium, high]} req/s, ~{a.rate_seconds:.0f} s each (job-wide, through the pipeline)")
        if a.rate_high is None and a.steadiness_rows:
            try:
                self.measure_steadiness()
            except Exception as exc:  # noqa: BLE001 - context for the near-max run; the limits still run
                log(f"  machine steadiness failed: {type(exc).__name__}: {exc}")
                self.results.setdefault("errors", {})["rate: machine steadiness"] = f"{type(exc).__name__}: {exc}"[:4000]
        results, sampler = self.spark_jobs("rate", jobs, len(jobs) * (a.rate_seconds * 2 + 60) + 120)
        runs = {r["name"]: r for r in results if r["kind"] == "pipeline"}
        unlimited = {k: round(rps, 1) for k in ("before", "after")
                     if (r := runs.get(f"rate-unlimited-{k}")) and (rps := common.server_achieved_rps(r["server"]))}
        unlimited_seconds = {k: common.per_second_counts(r["server"]) for k in ("before", "after")
                             if (r := runs.get(f"rate-unlimited-{k}"))}
        if unlimited:
            log(f"  unlimited over {rows_high:,} rows: {unlimited} req/s")
        out = {}
        for name, res in runs.items():
            if res.get("limit") is None:
                continue
            limit, server = res["limit"], res["server"]
            achieved = common.server_achieved_rps(server)
            entry = out[f"{limit:g}"] = {
                "limit": limit, "requests": server["api_requests"], "server_span_seconds": server["api_span_seconds"],
                "achieved_rps": round(achieved, 2) if achieved else None,
                "achieved_ratio": round(achieved / limit, 4) if achieved else None,
                "max_1s_window": server["max_1s_window"],
                "max_1s_window_ratio": round(server["max_1s_window"] / limit, 4),
                "pipeline_rps": res["summary"]["requests_per_second"],
                "batches": res["summary"]["batches_total"],
                # The limiter's own account (run summary): the mean wait for a slot, and
                # slots given up by a worker that woke too late to use them.
                "limiter_requests": res["summary"].get("rate_limited_requests"),
                "limiter_mean_wait_ms": round(wait, 2) if (wait := mean_wait_ms(
                    res["summary"].get("rate_limit_wait_seconds", 0.0), res["summary"].get("rate_limited_requests", 0))) is not None else None,
                "limiter_late_slots": res["summary"].get("rate_limit_late_slots"),
                "per_second": common.per_second_counts(server),
            }
            if name == "rate-near-max":
                entry["near_max"] = {"share": a.near_max_share, "cap": round(cap, 1) if cap else None,
                                     "unlimited_before_rps": unlimited.get("before"),
                                     "unlimited_after_rps": unlimited.get("after"), "rows": rows_high,
                                     # What a limiter holding every window could have reached on
                                     # the machine's seconds unlimited (common.window_bound).
                                     "window_bound_before": _round4(common.window_bound(unlimited_seconds.get("before", []), limit)),
                                     "window_bound_after": _round4(common.window_bound(unlimited_seconds.get("after", []), limit)),
                                     "unlimited_per_second_before": unlimited_seconds.get("before"),
                                     "unlimited_per_second_after": unlimited_seconds.get("after")}
            log(f"  limit {limit:g}: achieved {entry['achieved_ratio']}, max 1-s window {server['max_1s_window']}")
        self.results["cases"]["rate_limit"] = out

    def measure_steadiness(self) -> None:
        """The bare aiohttp loop (case 1's client) for ``--steadiness-rows`` rows, with the
        target's per-second counts: how much the machine's own speed swings from one second
        to the next, with no Spark and no code of ours. A limiter that keeps every one-second
        window under its limit cannot send more in a second than the machine can, nor make a
        slow second up in a fast one, so these swings bound what any such limiter can hold
        near the maximum (:func:`common.steadiness`)."""
        a = self.args
        log(f"machine steadiness: the bare aiohttp loop, {a.steadiness_rows:,} rows, {CORES} processes")
        res = self.client_case("ceiling", a.steadiness_rows, CORES, a.case_timeout)
        steady = common.steadiness(common.per_second_counts(self.target.stats(include_timeline=True)), a.near_max_share)
        if steady is None:
            log("  too short to judge (fewer than 3 whole seconds)")
            return
        out = self.results["cases"]["machine_steadiness"] = {**steady, "rps": res["rps"], "requests": res["requests"],
                                                             "processes": CORES}
        log(f"  seconds of {steady['min']}-{steady['max']} req/s, mean {steady['mean']:.0f}, cv {steady['cv']};"
            f" window bound at {steady['share']:g} of the mean: {steady['window_bound']}")
        # The same loop paced at the near-max share of that mean, with the pipeline's 1%
        # headroom: what a hand-written paced client holds on this machine, in this phase.
        limit = common.near_max_limit(steady["mean"], share=a.near_max_share)
        rows = max(CORES, int(limit * a.steadiness_paced_seconds))
        res = self.client_case("ceiling", rows, CORES, a.case_timeout, extra=(limit * (1 - RATE_HEADROOM) / CORES,))
        server = self.target.stats()
        achieved = common.server_achieved_rps(server)
        out["paced"] = {"limit": limit, "requests": res["requests"], "achieved_rps": _round4(achieved),
                        "achieved_ratio": _round4(achieved / limit) if achieved else None,
                        "max_1s_window_ratio": round(server["max_1s_window"] / limit, 4)}
        log(f"  paced at {limit:g}/s: achieved {out['paced']['achieved_ratio']}, busiest window"
            f" {out['paced']['max_1s_window_ratio']}x")

    def section_memory(self) -> None:
        a = self.args
        out = {}
        for rows in a.memory_rows:
            source = self.work / f"source-{rows}"
            self.stage(rows, source)
            cfg = pipeline_config(self.target.url, str(self.work), batch_size=rows, partitions=1,
                                  concurrency=a.in_flight, name=f"memory-{rows}", source=str(source))
            log(f"memory: {rows} rows in one partition (fresh Spark, fresh Python worker)")
            results, sampler = self.spark_jobs(f"memory-{rows}", [{"kind": "pipeline", "name": f"memory_{rows}",
                                                                 "run_id": f"memory-{rows}", "config": cfg}],
                                               rows / 300 + 180)
            res = results[0]
            facts = self._pipeline_facts(res["summary"], res["checkpoints"], sampler, res["server"])
            facts["python_worker_peak_rss_by_pid_mb"] = {str(p): round(v / 2**20, 1) for p, v in sampler.worker_hwm.items()}
            out[str(rows)] = facts
            log(f"  worker peak RSS {facts['python_worker_peak_rss_mb']} MB, {facts['rps']} req/s")
        self.results["cases"]["memory"] = out

    def section_scale(self) -> None:
        a = self.args
        rows = a.scale_rows
        source = self.work / f"source-{rows}"
        self.stage(rows, source)
        cfg = pipeline_config(self.target.url, str(self.work), concurrency=a.in_flight, name="scale", source=str(source))
        log(f"scale: {rows} rows end to end (api-etl run, local[2], default batch size)")
        facts = self.api_etl_run("scale", cfg, rows / 300 + 300)
        log(f"  wall {facts['wall_seconds']} s, {facts['rps']} req/s, worker peak RSS {facts['python_worker_peak_rss_mb']} MB")
        self.results["cases"]["scale"] = facts

    # -- targets, report ------------------------------------------------------------------------

    def judge(self) -> None:
        from report import judge_targets

        self.results["targets"] = judge_targets(self.results["cases"], self.args)

    def run(self) -> int:
        sections = self.args.only or SECTIONS
        self.target = common.start_target(self.work, self.args.target)
        self.target_pid = self.target.pid
        log(f"target: {self.args.target} pid {self.target.pid} at {self.target.url}; load {load()}; scratch {self.work}")
        try:
            self.stage_all(sections)
            self.warm_up_target()
            for name in SECTIONS + EXTRA_SECTIONS:
                if name not in sections:
                    continue
                t0 = time.monotonic()
                l0 = load()
                try:
                    getattr(self, f"section_{name}")()
                except Exception as exc:  # noqa: BLE001 - record it, go on with the next section
                    log(f"section {name} failed: {type(exc).__name__}: {exc}")
                    self.results.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"[:4000]
                self.results.setdefault("section_seconds", {})[name] = round(time.monotonic() - t0, 1)
                self.results.setdefault("section_load", {})[name] = {"before": l0, "after": load()}
        finally:
            code = self.target.stop()
            log(f"target stopped (exit {code})")
        self.results["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.judge()
        from report import write_outputs

        paths = write_outputs(self.results, Path(self.args.out))
        for p in paths:
            log(f"wrote {p}")
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"scratch kept in {self.work}")
        return exit_status(self.results)


def exit_status(results: dict) -> int:
    """1 when a section failed or a target missed for a reason the run does not show to be
    outside our code; the machine's misses are in the report, with their evidence. Logs the
    verdicts' one-line summary."""
    from report import misses_of_ours, verdict_summary

    log(verdict_summary(results["targets"]))
    return 1 if misses_of_ours(results["targets"]) or results.get("errors") else 0


def _round4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def rate_limits(args: argparse.Namespace, cases: dict) -> list[float]:
    """The low and medium limits, and the near-max limit or its estimate.

    The estimate sizes the near-max runs (``--rate-seconds`` of sending at it): 80% of the
    ceiling (1), but no more than ``--near-max-share`` (90%) of what the pipeline reached unlimited earlier in this
    run at the default batch size, since it cannot hold a rate it cannot reach. The run
    itself sets the limit from an unlimited run just before it (see ``section_rate``).
    ``--rate-high`` fixes the limit instead, to rerun the rate section at an earlier run's.
    """
    high = args.rate_high
    if high is None:
        default_batch = cases.get("batch_sweep", {}).get(str(common.DEFAULT_ROWS_WITHOUT_RATE), {})
        reached = [cases.get("3_pipeline", {}).get("rps"), default_batch.get("rps")]
        best = max((r for r in reached if r), default=args.rate_high_default)
        cap = near_max_cap(cases)
        high = common.near_max_limit(best, share=args.near_max_share, cap=cap, floor=args.rate_medium + 100)
    return [args.rate_low, args.rate_medium, high]


def near_max_cap(cases: dict) -> float | None:
    """No near-max limit above 80% of the ceiling (1), when it ran: close to it, not at it."""
    from report import ceiling_rps

    ceil = ceiling_rps(cases)
    return 0.8 * ceil if ceil else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=50_000, help="rows for cases 1-5 and the batch sweep")
    p.add_argument("--target", choices=common.TARGET_KINDS[:2], default="lean",
                   help="the API every case calls: lean (Node's http server, the cheapest on the shared cores)"
                        " or mock (the project's mock API)")
    p.add_argument("--in-flight", type=int, default=20, help="requests in flight per process / task")
    p.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1_000, 10_000, 20_000, 50_000])
    p.add_argument("--latency-ms", type=float, default=50.0, help="the API's latency in the latency-bound section")
    p.add_argument("--latency-rows", type=int, default=20_000, help="rows per case in the latency-bound section")
    p.add_argument("--rate-low", type=float, default=200)
    p.add_argument("--rate-medium", type=float, default=1000)
    p.add_argument("--rate-high-default", type=float, default=2000,
                   help="the pipeline's unlimited req/s to assume when case 3 and the sweep did not run:"
                        " it sizes the near-max runs (0.9 of it x --rate-seconds rows)")
    p.add_argument("--rate-high", type=float, default=None, help="the near-max limit (default: derived from cases 1 and 3)")
    p.add_argument("--near-max-share", type=float, default=common.NEAR_MAX_SHARE,
                   help="the near-max limit as a share of the pipeline's unlimited rate just before it")
    p.add_argument("--steadiness-rows", type=int, default=300_000,
                   help="rows of the bare aiohttp loop run before the rate section, to measure how steady the"
                        " machine's speed is from second to second (0: skip)")
    p.add_argument("--steadiness-paced-seconds", type=float, default=45.0,
                   help="seconds of sending for the bare loop paced at the near-max share of its own mean")
    p.add_argument("--rate-seconds", type=float, default=75.0,
                   help="seconds of sending per limit: more than one batch at the default batch size (auto: 60 s)")
    p.add_argument("--memory-rows", type=lambda s: [int(x) for x in s.split(",")], default=[100_000, 1_000_000])
    p.add_argument("--scale-rows", type=int, default=1_000_000)
    p.add_argument("--case-timeout", type=float, default=240.0)
    p.add_argument("--sample-interval", type=float, default=0.25)
    p.add_argument("--only", type=lambda s: [x for x in s.split(",") if x], default=None,
                   help=f"comma-separated sections of {','.join(SECTIONS + EXTRA_SECTIONS)}")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run of the bench itself")
    p.add_argument("--out", default=str(REPO_ROOT / "bench"))
    p.add_argument("--scratch", default=None, help="parent of the scratch directory (default: TMPDIR)")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = p.parse_args(argv)
    if args.only:
        unknown = set(args.only) - set(SECTIONS) - set(EXTRA_SECTIONS)
        if unknown:
            p.error(f"unknown sections {sorted(unknown)}")
    if not 0 < args.rate_low < args.rate_medium:
        # Each limit's run is named after it: an equal pair would be one run id, and the
        # second run would find it done (an idempotent restart) and send nothing.
        p.error(f"--rate-low ({args.rate_low:g}) must be above 0 and below --rate-medium ({args.rate_medium:g})")
    if not 0 < args.near_max_share <= 1:
        p.error(f"--near-max-share ({args.near_max_share:g}) must be above 0 and at most 1")
    if args.quick:
        args.rows, args.scale_rows = min(args.rows, 6000), min(args.scale_rows, 20_000)
        args.latency_rows = min(args.latency_rows, 4000)
        args.memory_rows = [2000, 10_000]
        args.batch_sizes = [1000, 3000]
        args.rate_seconds = min(args.rate_seconds, 4)
        args.steadiness_rows = min(args.steadiness_rows, 6000)
        args.steadiness_paced_seconds = min(args.steadiness_paced_seconds, 2)
    return args


def stop_on_sigterm() -> None:
    """Make ``kill <pid>`` stop the bench as Ctrl-C does: every ``finally`` runs, so the
    target server, client processes and Spark JVMs it started are stopped by their PIDs."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    try:
        return Bench(args).run()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
