"""Client loops that run without Spark, one per process: the ceiling (1), the partition
engine alone (2) and sequential ``requests`` (5).

Each function is the body of one child process (``multiprocessing`` spawn): it sends rows
``[start, stop)`` and returns what it measured about itself -- requests, non-2xx count,
the wall-clock span of its sending loop (epoch seconds) and its own CPU seconds in that
loop (``os.times``, user + system), plus its peak RSS.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import time
from typing import Any

import common  # noqa: F401 - sets sys.path
from common import row_id, row_url, self_cpu, vm_hwm_bytes


def _result(requests: int, bad: int, t0: float, t1: float, cpu0: float, cpu1: float, **extra: Any) -> dict[str, Any]:
    return {"requests": requests, "non_2xx": bad, "started": t0, "finished": t1,
            "cpu_seconds": cpu1 - cpu0, "peak_rss": vm_hwm_bytes(os.getpid()), "pid": os.getpid(), **extra}


# -- (1) the ceiling: a bare aiohttp loop -------------------------------------------------

async def _ceiling(base: str, start: int, stop: int, in_flight: int, rate: float | None = None) -> tuple[int, int]:
    import aiohttp

    next_i = start
    bad = 0
    done = 0
    # Paced (``rate``): the smallest limiter that holds every window, written inline so that
    # no code of ours is measured. Each request takes the next slot, 1 / rate apart; a
    # schedule more than 10 ms behind restarts from now (no burst), as the engine's does.
    interval = 1.0 / rate if rate else 0.0
    next_slot: float | None = None
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal next_i, bad, done, next_slot
            while next_i < stop:
                i = next_i
                next_i += 1
                if interval:
                    now = time.monotonic()
                    slot = now if next_slot is None or next_slot < now - 0.010 else next_slot
                    next_slot = slot + interval
                    if slot > now:
                        await asyncio.sleep(slot - now)
                async with session.get(row_url(base, i)) as resp:
                    await resp.read()
                    if not 200 <= resp.status < 300:
                        bad += 1
                done += 1

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return done, bad


def ceiling(base: str, start: int, stop: int, in_flight: int, rate: float | None = None) -> dict[str, Any]:
    import uvloop

    loop = uvloop.new_event_loop()
    cpu0, t0 = self_cpu(), time.time()
    done, bad = loop.run_until_complete(_ceiling(base, start, stop, in_flight, rate))
    t1, cpu1 = time.time(), self_cpu()
    loop.close()
    return _result(done, bad, t0, t1, cpu0, cpu1)


# -- (2) the partition engine alone ------------------------------------------------------

def engine_plan(base: str, workdir: str, in_flight: int, middleware: list | None = None) -> Any:
    """The worker plan case 3 would build (``middleware`` replaces the bench's chain if given)."""
    from api_etl.compile import build_worker_plan
    from api_etl.config import validate_document

    from common import pipeline_config

    doc = pipeline_config(base, workdir, concurrency=in_flight)
    if middleware is not None:
        doc["middleware"] = middleware
    return build_worker_plan(validate_document(doc, "bench-engine", resolve_secrets=False),
                             run_id="bench", batch_id="0")


def engine(base: str, start: int, stop: int, in_flight: int, workdir: str) -> dict[str, Any]:
    from api_etl.engine.partition import PartitionEngine
    from api_etl.engine.record import FIELD_INDEX

    plan = engine_plan(base, workdir, in_flight)
    ok_i = FIELD_INDEX["ok"]
    rows = ({"tracking_id": row_id(i)} for i in range(start, stop))
    cpu0, t0 = self_cpu(), time.time()
    done = bad = 0
    for record in PartitionEngine(plan).run(rows):
        done += 1
        if not record[ok_i]:
            bad += 1
    t1, cpu1 = time.time(), self_cpu()
    return _result(done, bad, t0, t1, cpu0, cpu1)


# -- (5) sequential requests --------------------------------------------------------------

def sequential(base: str, start: int, stop: int, in_flight: int = 1) -> dict[str, Any]:
    import requests

    cpu0, t0 = self_cpu(), time.time()
    done = bad = 0
    with requests.Session() as session:
        for i in range(start, stop):
            resp = session.get(row_url(base, i), timeout=30)
            _ = resp.content
            if not resp.ok:
                bad += 1
            done += 1
    t1, cpu1 = time.time(), self_cpu()
    return _result(done, bad, t0, t1, cpu0, cpu1)


# -- running them ----------------------------------------------------------------------------

def _child(fn_name: str, args: tuple, queue) -> None:
    try:
        queue.put(("ok", globals()[fn_name](*args)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def run_processes(fn_name: str, base: str, rows: int, processes: int, in_flight: int,
                  timeout: float, extra: tuple = ()) -> dict[str, Any]:
    """Split ``rows`` over ``processes`` child processes of ``fn_name``; bounded by ``timeout``.

    Returns the totals: requests, wall span (first start to last finish), CPU seconds of all
    processes in their loops, peak RSS of the largest, and each process's own result.
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    per = rows // processes
    bounds = [(k * per, rows if k == processes - 1 else (k + 1) * per) for k in range(processes)]
    procs = [ctx.Process(target=_child, args=(fn_name, (base, a, b, in_flight, *extra), queue), daemon=True)
             for a, b in bounds]
    for p in procs:
        p.start()
    results, errors = [], []
    deadline = time.monotonic() + timeout
    try:
        for _ in procs:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{fn_name}: not finished within {timeout:.0f} s")
            status, value = queue.get(timeout=remaining)
            (results if status == "ok" else errors).append(value)
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()  # our own child, by handle
                p.join(timeout=5)
    if errors:
        raise RuntimeError(f"{fn_name}: {errors[0]}")
    started = min(r["started"] for r in results)
    finished = max(r["finished"] for r in results)
    requests = sum(r["requests"] for r in results)
    cpu = sum(r["cpu_seconds"] for r in results)
    seconds = finished - started
    return {
        "requests": requests, "non_2xx": sum(r["non_2xx"] for r in results),
        "seconds": round(seconds, 3), "rps": round(requests / seconds, 1) if seconds > 0 else None,
        "cpu_seconds": round(cpu, 3), "cpu_s_per_1k": round(1000 * cpu / requests, 4) if requests else None,
        "peak_rss_mb": round(max(r["peak_rss"] or 0 for r in results) / 2**20, 1),
        "processes": processes, "in_flight_total": in_flight * processes if fn_name != "sequential" else processes,
        "started": started, "finished": finished,
    }
