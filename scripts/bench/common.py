"""Shared pieces of ``make bench``: paths, the target server, the workload, CPU/RSS sampling.

Every case sends the same request for row ``i``: ``GET {target}/v1/patients/row-{i:010d}``
to the same target process on 127.0.0.1 (the lean Node server by default, or the mock API
with row-id tracking off; no auth, no faults, no server rate limit), so the server's work
per request is identical across cases.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
for _p in (REPO_ROOT / "lib", REPO_ROOT / "scripts", REPO_ROOT / "scripts" / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

PATH_TEMPLATE = "/v1/patients/{tracking_id}"
ID_COLUMN = "tracking_id"
# Mock API config for every case: nothing tracked per row, so its memory and CPU per
# request stay flat from the first request to the millionth.
TARGET_CONFIG: dict[str, Any] = {"row_ids": {"enabled": False}}
# The middleware chain used by the engine (2) and the pipeline (3): what a typical config lists.
MIDDLEWARE = [
    {"type": "retry", "max_attempts": 3, "retry_status_codes": [429, 500, 502, 503, 504],
     "base_delay": 0.1, "max_delay": 2.0},
    {"type": "json_body"},
    {"type": "timing"},
]


def row_id(i: int) -> str:
    return f"row-{i:010d}"


def row_url(base: str, i: int) -> str:
    return f"{base}/v1/patients/{row_id(i)}"


# execution.batch_size's default; the bench's pipeline runs use it unless they sweep it.
DEFAULT_BATCH_SIZE = "auto"
# What it stages without a rate limit (the unlimited cases 3 and the sweep's default point):
# local[2] x 20 in flight x 500 round trips.
DEFAULT_ROWS_WITHOUT_RATE = 20_000


def pipeline_config(target_url: str, workdir: str, *, batch_size: int | str = DEFAULT_BATCH_SIZE, concurrency: int = 20,
                    rate: float | None = None, partitions: int | None = None, name: str = "pipeline",
                    source: str | None = None) -> dict[str, Any]:
    execution: dict[str, Any] = {"batch_size": batch_size, "concurrency": concurrency}
    if rate is not None:
        execution["max_requests_per_second"] = rate
    if partitions is not None:
        execution["partitions"] = partitions
    return {
        "source": {"path": source or f"{workdir}/source", "format": "parquet", "id_column": ID_COLUMN},
        "sink": {"path": f"{workdir}/{name}/sink"},
        "endpoint": {"method": "GET", "base_url": target_url, "path": PATH_TEMPLATE},
        "middleware": MIDDLEWARE,
        "execution": execution,
        "failure_policy": {"max_failure_ratio": 0.0},
        "metrics": {"enabled": False},
    }


# "Close to the ceiling" in the rate section: this share of what the pipeline reaches with no
# limit, measured over the same rows right before the limited run (the machine's speed
# drifts by a third between phases, so a rate measured minutes earlier is no reference).
NEAR_MAX_SHARE = 0.9


def server_achieved_rps(stats: dict[str, Any]) -> float | None:
    """Requests per second as the target saw them: (n - 1) / (last receipt - first receipt)."""
    n, span = stats.get("api_requests") or 0, stats.get("api_span_seconds")
    return (n - 1) / span if n > 1 and span else None


def per_second_counts(stats: dict[str, Any]) -> list[int]:
    """The target's per-second request counts, in order (its timeline is [second, count] pairs)."""
    return [count for _, count in stats.get("per_second", [])]


def whole_seconds(per_second: list[int]) -> list[int]:
    """Per-second counts without the first and last seconds, which a run fills only in part."""
    return per_second[1:-1]


def window_bound(unlimited_per_second: list[int], limit: float) -> float | None:
    """The most of ``limit`` any limiter that keeps each one-second window under it could
    have achieved, had the machine's capacity been what the pipeline sent unlimited.

    ``unlimited_per_second``: the target's per-second counts of an unlimited run (the first
    and last seconds, partial, are dropped). A second in which the machine sent fewer than
    the limit unlimited could not send more paced, and a faster second may not send more
    than the limit, so a run can reach at most the mean of ``min(count, limit)``. It is an
    upper bound: pacing costs CPU of its own, so the paced run's seconds are slower still.
    None when the run has fewer than 3 whole seconds.
    """
    whole = whole_seconds(unlimited_per_second)
    if len(whole) < 3 or not limit > 0:
        return None
    return sum(min(count, limit) for count in whole) / len(whole) / limit


def steadiness(per_second: list[int], share: float = NEAR_MAX_SHARE) -> dict[str, Any] | None:
    """How steady a run's per-second counts were (whole seconds only): their mean, range and
    coefficient of variation, and :func:`window_bound` at ``share`` of their mean, i.e. what
    a limit set at that share of the run's rate could be held at on those seconds."""
    whole = whole_seconds(per_second)
    if len(whole) < 3:
        return None
    mean = statistics.fmean(whole)
    return {"seconds": len(whole), "mean": round(mean, 1), "min": min(whole), "max": max(whole),
            "cv": round(statistics.pstdev(whole) / mean, 3) if mean else None, "share": share,
            "window_bound": round(window_bound(per_second, share * mean), 4) if mean else None}


def near_max_limit(unlimited_rps: float, *, share: float = NEAR_MAX_SHARE, cap: float | None = None,
                   floor: float = 0.0, step: float = 50.0) -> float:
    """The near-max limit: ``share`` of the unlimited rate, at most ``cap``, at least
    ``floor``, rounded to ``step`` (a limit in round numbers reads better in the report)."""
    if not unlimited_rps > 0:
        raise ValueError(f"the unlimited run reached no rate ({unlimited_rps!r}): nothing to take a share of")
    high = share * unlimited_rps
    if cap:
        high = min(high, cap)
    return max(floor, round(high / step) * step)


def stop_child(popen: subprocess.Popen, timeout: float = 10.0) -> int | None:
    """SIGTERM a server we started, by its PID; SIGKILL after ``timeout``. Its exit code."""
    if popen.poll() is None:
        os.kill(popen.pid, signal.SIGTERM)
        try:
            return popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(popen.pid, signal.SIGKILL)
            return popen.wait(5)
    return popen.returncode


# The targets the bench can call: kind -> (short name, what the report's header says).
TARGETS = {
    "lean": ("lean target (Node)", "the lean target (Node's http server, `scripts/bench/lean_target.js`)"),
    "mock": ("mock API", "the mock API (row-id tracking off)"),
    "bare": ("bare aiohttp handler", "a bare aiohttp handler"),
}
TARGET_KINDS = tuple(TARGETS)


def start_target(workdir: Path, kind: str = "lean", latency_ms: float = 0.0):
    """The target server as a separate process on 127.0.0.1 (``kind``: lean | mock | bare).

    All three answer ``GET /v1/patients/{id}``; lean and mock also count what they received
    (``stats()``, ``reset()``) and can answer after a fixed ``latency_ms``.
    """
    if kind == "lean":
        from lean_target import start_lean_target

        return start_lean_target(workdir / "lean_target", latency_ms=latency_ms)
    if kind == "mock":
        from mock_api import start_mock_api_process

        config = dict(TARGET_CONFIG)
        if latency_ms:
            config["faults"] = {"latency": {"distribution": "fixed", "fixed_ms": latency_ms}}
        return start_mock_api_process(config, workdir=str(workdir / "mock_api"))
    if kind != "bare" or latency_ms:
        raise ValueError(f"unknown target {kind!r} (with latency {latency_ms} ms)")
    from bare_server import start_bare_server

    return start_bare_server(workdir / "bare_server")


def write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def vm_hwm_bytes(pid: int) -> int | None:
    """Peak resident set size of a process (``VmHWM``), exact, from /proc."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def classify(proc) -> str:
    try:
        cmd = " ".join(proc.cmdline())
    except Exception:  # noqa: BLE001 - the process went away
        return "gone"
    if "java" in proc.name() or "org.apache.spark" in cmd:
        return "jvm"
    if "pyspark.daemon" in cmd or "pyspark/daemon" in cmd:
        return "pyspark_daemon"
    if "pyspark.worker" in cmd or "pyspark/worker" in cmd:
        return "python_worker"
    return "driver"


class TreeSampler:
    """Samples the CPU seconds and memory of a process tree every ``interval`` seconds.

    CPU of a process that exits between samples is kept at its last sampled value (at most
    ``interval`` of its CPU is lost). PySpark's Python workers are forked from the daemon
    and are reported as ``python_worker``. ``cpu_between(t0, t1)`` interpolates the total.
    """

    def __init__(self, root_pid: int, interval: float = 0.25) -> None:
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(root_pid)
        self.interval = interval
        self.samples: list[tuple[float, float, dict[str, float]]] = []
        self.last_cpu: dict[int, tuple[str, float]] = {}
        self.peak_rss: dict[str, int] = {}
        self.peak_tree_rss = 0
        self.worker_hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)
        self._kinds: dict[int, str] = {}

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _procs(self):
        try:
            return [self.root, *self.root.children(recursive=True)]
        except self._psutil.Error:
            return []

    def _sample(self) -> None:
        now = time.time()
        tree_rss = 0
        rss_by_kind: dict[str, int] = {}
        for proc in self._procs():
            try:
                kind = self._kinds.get(proc.pid)
                if kind is None:
                    kind = classify(proc)
                    # A forked worker starts as a copy of the daemon; re-check until it execs.
                    if kind not in ("pyspark_daemon", "driver"):
                        self._kinds[proc.pid] = kind
                t = proc.cpu_times()
                rss = proc.memory_info().rss
            except self._psutil.Error:
                continue
            if kind == "pyspark_daemon" and proc.pid != self.root.pid:
                # pyspark's forked workers keep the daemon's command line: a child of the
                # daemon is a worker.
                try:
                    parent = proc.parent()
                    if parent is not None and "pyspark.daemon" in " ".join(parent.cmdline()):
                        kind = "python_worker"
                        self._kinds[proc.pid] = kind
                except self._psutil.Error:
                    pass
            self.last_cpu[proc.pid] = (kind, t.user + t.system)
            tree_rss += rss
            rss_by_kind[kind] = rss_by_kind.get(kind, 0) + rss
            if kind == "python_worker":
                hwm = vm_hwm_bytes(proc.pid)
                if hwm is not None:
                    self.worker_hwm[proc.pid] = max(self.worker_hwm.get(proc.pid, 0), hwm)
        by_kind: dict[str, float] = {}
        for kind, cpu in self.last_cpu.values():
            by_kind[kind] = by_kind.get(kind, 0.0) + cpu
        self.samples.append((now, sum(by_kind.values()), by_kind))
        self.peak_tree_rss = max(self.peak_tree_rss, tree_rss)
        for kind, rss in rss_by_kind.items():
            self.peak_rss[kind] = max(self.peak_rss.get(kind, 0), rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)
        self._sample()

    def _at(self, t: float) -> tuple[float, dict[str, float]]:
        samples = self.samples
        if not samples:
            return 0.0, {}
        if t <= samples[0][0]:
            return samples[0][1], samples[0][2]
        for (t0, c0, k0), (t1, c1, k1) in zip(samples, samples[1:]):
            if t0 <= t <= t1:
                f = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
                kinds = {k: k0.get(k, 0.0) + f * (k1.get(k, 0.0) - k0.get(k, 0.0)) for k in set(k0) | set(k1)}
                return c0 + f * (c1 - c0), kinds
        return samples[-1][1], samples[-1][2]

    def cpu_between(self, t0: float, t1: float) -> tuple[float, dict[str, float]]:
        c0, k0 = self._at(t0)
        c1, k1 = self._at(t1)
        return c1 - c0, {k: round(k1.get(k, 0.0) - k0.get(k, 0.0), 3) for k in set(k0) | set(k1)}
