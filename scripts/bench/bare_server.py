"""A bare aiohttp handler server (uvloop, access log off) answering ``GET /v1/patients/{id}``
with a fixed JSON record of about the mock API's size. Used once per bench to check that
the mock API is not what limits the ceiling. ``python bare_server.py PORT_FILE``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import stop_child

BODY = json.dumps({
    "id": "pat_0000000000", "object": "patient", "first_name": "Olivia", "last_name": "Smith",
    "country": "US", "risk_score": 0.42, "segment": "standard", "lifetime_value": 1234.5,
    "updated_at": "2026-01-01T00:00:00Z",
}).encode()


def serve(port_file: str) -> None:
    import asyncio

    import uvloop
    from aiohttp import web

    async def patient(request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/v1/patients/{id}", patient)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        tmp = port_file + ".tmp"
        Path(tmp).write_text(f"{port}\n")
        os.replace(tmp, port_file)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()

    uvloop.run(main())


class BareServer:
    def __init__(self, popen: subprocess.Popen, port: int) -> None:
        self.popen, self.pid, self.port = popen, popen.pid, port
        self.url = f"http://127.0.0.1:{port}"

    def stop(self, timeout: float = 10.0) -> int | None:
        return stop_child(self.popen, timeout)


def start_bare_server(workdir: Path, timeout: float = 20.0) -> BareServer:
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / "port"
    port_file.unlink(missing_ok=True)
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - kept open for the child
    popen = subprocess.Popen([sys.executable, __file__, str(port_file)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.exists():
            return BareServer(popen, int(port_file.read_text().strip()))
        if popen.poll() is not None:
            break
        time.sleep(0.05)
    if popen.poll() is None:
        popen.kill()
        popen.wait(5)
    raise RuntimeError(f"bare server did not start; see {workdir / 'server.log'}")


if __name__ == "__main__":
    serve(sys.argv[1])
