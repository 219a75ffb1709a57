"""Where the partition engine's CPU per request goes, layer by layer (no Spark).

Run: ``.venv/bin/python scripts/bench/engine_layers.py [--rows 20000] [--repeats 5]``
(``make bench-layers``, ~2 min). Not part of ``make bench``: it answers "which layer costs what",
the question the main bench's case 2 vs case 1 raises.

Against the bench's mock API on 127.0.0.1, alternating, in one process, 20 in flight:

1. ``ceiling``: the bare aiohttp loop of case 1;
2. ``transport``: the same loop through our :class:`AiohttpTransport` (its headers,
   timeouts, response copy);
3. ``engine, no middleware``: ``PartitionEngine`` with an empty chain (request building,
   request id, the bronze record, the bounded queue);
4. ``engine``: with the bench's chain (retry, json_body, timing), as case 2;
5. ``pipeline worker``: what case 3's Python worker runs per task, without Spark: Arrow
   batches in, the engine on its own loop thread, the batch counting, Arrow batches out.
   Spark's JVM and its sockets are left out, so it shows a change to the worker's Python
   within ~2% where a pipeline run moves 10% with the machine.

Then the engine again with an in-memory transport (canned response, no network): what our
own Python costs per row, apart from aiohttp and the socket.

It prints the median and the minimum CPU ms per request of each, and their ratios to the
ceiling's measured in this run (CPU of this process, user + system, around each loop).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import clients
import common
from common import row_id, row_url, self_cpu, start_target

IN_FLIGHT = 20

# A response like the mock API's, for the in-memory runs.
_CANNED_BODY = b'{"id":"row-0000000001","status":"active","score":0.5,"tags":["a","b"]}'
_CANNED_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(_CANNED_BODY)),
                   "Date": "Mon, 23 Nov 2026 18:00:00 GMT", "Server": "Python/3.11 aiohttp"}


class CannedTransport:
    """A transport that answers every request at once with the same 200 (no network)."""

    async def send(self, request: Any) -> Any:
        from api_etl.engine.exchange import HttpResponse

        return HttpResponse(200, dict(_CANNED_HEADERS), _CANNED_BODY, "OK", "1.1")

    async def close(self) -> None:
        return None


def _canned_transport() -> CannedTransport:
    return CannedTransport()


def _run_on_uvloop(coro_factory: Callable[[], Any]) -> float:
    import uvloop

    loop = uvloop.new_event_loop()
    try:
        cpu0 = self_cpu()
        loop.run_until_complete(coro_factory())
        return self_cpu() - cpu0
    finally:
        loop.close()


def transport_loop(base: str, rows: int) -> float:
    """CPU seconds to send ``rows`` requests through our transport, ``IN_FLIGHT`` at a time."""
    from api_etl.engine.exchange import HttpRequest
    from api_etl.transport.aiohttp_transport import AiohttpTransport

    async def main() -> None:
        transport = AiohttpTransport()
        await transport.start()
        next_i = 0

        async def worker() -> None:
            nonlocal next_i
            while next_i < rows:
                i = next_i
                next_i += 1
                await transport.send(HttpRequest("GET", row_url(base, i)))

        try:
            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        finally:
            await transport.close()

    return _run_on_uvloop(main)


def engine_loop(base: str, rows: int, workdir: str, *, middleware: list | None, canned: bool = False) -> float:
    """CPU seconds for ``PartitionEngine`` to turn ``rows`` rows into records."""
    from api_etl.engine.partition import PartitionEngine
    from api_etl.engine.record import FIELD_INDEX
    from api_etl.transport.process_scope import ProcessScope

    plan = clients.engine_plan(base, workdir, IN_FLIGHT, middleware)
    if canned:
        plan = dataclasses.replace(plan, transport_factory=_canned_transport)
    scope = ProcessScope()  # a fresh loop and transport per run, closed below
    source = ({common.ID_COLUMN: row_id(i)} for i in range(rows))
    ok_i = FIELD_INDEX["ok"]
    emitted = failed = 0
    try:
        cpu0 = self_cpu()
        for record in PartitionEngine(plan, scope=scope).run(source):
            emitted += 1
            failed += not record[ok_i]
        cpu = self_cpu() - cpu0
    finally:
        scope.close()
    if emitted != rows or failed:
        raise RuntimeError(f"engine: {emitted} records for {rows} rows, {failed} failed")
    return cpu


class _Accumulator:
    """Stands in for the Spark accumulator the batch counts are added to."""

    def __init__(self) -> None:
        from api_etl.pipeline import batch_stats

        self.value = batch_stats.empty()

    def add(self, counted: dict) -> None:
        from api_etl.pipeline import batch_stats

        self.value = batch_stats.merge(self.value, counted)


def worker_loop(base: str, rows: int, workdir: str, *, canned: bool = False) -> float:
    """CPU seconds for the pipeline's ``mapInArrow`` function to turn ``rows`` rows into batches."""
    import pyarrow as pa

    from api_etl.engine.arrow_io import ArrowPartitionFunction, arrow_schema
    from api_etl.engine.partition import PartitionEngine
    from api_etl.engine.record import record_schema
    from api_etl.pipeline.batch_stats import CountingPartitionFunction
    from api_etl.transport.process_scope import ProcessScope

    plan = clients.engine_plan(base, workdir, IN_FLIGHT)
    if canned:
        plan = dataclasses.replace(plan, transport_factory=_canned_transport)
    scope = ProcessScope()

    def engine(source: Any) -> Any:  # as make_partition_function(plan, loop_in_thread=True)
        return PartitionEngine(plan, scope=scope, loop_in_thread=True).run(source)

    counts = _Accumulator()
    function = ArrowPartitionFunction(CountingPartitionFunction(engine, counts), arrow_schema(record_schema()))
    step = 10_000  # the size of the Arrow batches Spark hands a task
    source = [pa.RecordBatch.from_pydict({common.ID_COLUMN: [row_id(i) for i in range(start, min(start + step, rows))]})
              for start in range(0, rows, step)]
    try:
        cpu0 = self_cpu()
        out = sum(batch.num_rows for batch in function(iter(source)))
        cpu = self_cpu() - cpu0
    finally:
        scope.close()
    if out != rows or counts.value["succeeded"] != rows:
        raise RuntimeError(f"worker: {out} records for {rows} rows, {counts.value['succeeded']} succeeded")
    return cpu


def measure(base: str, rows: int, repeats: int, workdir: str) -> dict[str, list[float]]:
    """CPU ms per request of each layer, ``repeats`` times, the layers alternating."""
    layers: dict[str, Callable[[], float]] = {
        "ceiling: bare aiohttp loop": lambda: clients.ceiling(base, 0, rows, IN_FLIGHT)["cpu_seconds"],
        "our aiohttp transport": lambda: transport_loop(base, rows),
        "engine, no middleware": lambda: engine_loop(base, rows, workdir, middleware=[]),
        "engine (retry, json_body, timing)": lambda: engine_loop(base, rows, workdir, middleware=None),
        "pipeline worker (Arrow in, loop thread, counts, Arrow out)": lambda: worker_loop(base, rows, workdir),
        "in memory: engine, no middleware": lambda: engine_loop(base, rows, workdir, middleware=[], canned=True),
        "in memory: engine (retry, json_body, timing)": lambda: engine_loop(base, rows, workdir, middleware=None,
                                                                            canned=True),
    }
    out: dict[str, list[float]] = {name: [] for name in layers}
    for _ in range(repeats):
        for name, run in layers.items():
            out[name].append(1000.0 * run() / rows)
    return out


def render(results: dict[str, list[float]], rows: int, repeats: int) -> str:
    """A Markdown table: median and minimum of each layer, each against the ceiling's.

    On a shared machine other work inflates some runs; the minimum is the least disturbed.
    """
    ceiling = results["ceiling: bare aiohttp loop"]
    ceil_med, ceil_min = statistics.median(ceiling), min(ceiling)
    lines = [f"{rows:,} requests per run, {IN_FLIGHT} in flight, {repeats} runs of each, alternating;"
             " CPU of this process", "",
             "| layer | CPU ms / request, median | x ceiling | minimum | x ceiling | runs |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name, values in results.items():
        med, low = statistics.median(values), min(values)
        runs = ", ".join(f"{v:.4f}" for v in values)
        lines.append(f"| {name} | {med:.4f} | {med / ceil_med:.2f} | {low:.4f} | {low / ceil_min:.2f} | {runs} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="requests per run (default 20,000)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each layer, alternating (default 5)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeats < 1:
        parser.error("--rows and --repeats must be >= 1")
    with tempfile.TemporaryDirectory(prefix="api-etl-layers-") as tmp:
        target = start_target(Path(tmp))
        try:
            results = measure(target.url, args.rows, args.repeats, tmp)
        finally:
            target.stop()
    print(render(results, args.rows, args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
