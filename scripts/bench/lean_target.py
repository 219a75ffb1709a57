"""Start, query and stop the bench's lean target (``lean_target.js``, Node's http server).

It answers what the bench sends (``GET /v1/patients/{id}``) and keeps the counters the
bench reads from the mock API (``/_stats``: requests, the busiest 1-second window, the
per-second timeline; ``/_reset``), at about a third of the mock API's CPU per request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from common import stop_child

SCRIPT = Path(__file__).with_name("lean_target.js")


class LeanTarget:
    def __init__(self, popen: subprocess.Popen, port: int, log_path: Path) -> None:
        self.popen, self.pid, self.port, self.log_path = popen, popen.pid, port, log_path
        self.url = f"http://127.0.0.1:{port}"

    def _request(self, method: str, path: str, timeout: float = 10.0) -> Any:
        req = urllib.request.Request(self.url + path, data=b"" if method == "POST" else None, method=method)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def stats(self, include_timeline: bool = False) -> dict[str, Any]:
        return self._request("GET", "/_stats" + ("?include_timeline=1" if include_timeline else ""))

    def reset(self) -> None:
        self._request("POST", "/_reset")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM our child by PID, SIGKILL after ``timeout``; returns its exit code."""
        return stop_child(self.popen, timeout)


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the bench's lean target needs Node.js (`node` on PATH); "
                           "or run the bench with --target mock")
    return node


def start_lean_target(workdir: Path, latency_ms: float = 0.0, timeout: float = 20.0) -> LeanTarget:
    """Start the server on 127.0.0.1 (a free port) and wait, bounded, until it listens."""
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / "port"
    port_file.unlink(missing_ok=True)
    log_path = workdir / "server.log"
    cmd = [node_binary(), str(SCRIPT), str(port_file)]
    if latency_ms:
        cmd += ["--latency-ms", f"{latency_ms:g}"]
    with open(log_path, "wb") as log:
        popen = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.exists():
            return LeanTarget(popen, int(port_file.read_text().strip()), log_path)
        if popen.poll() is not None:
            break
        time.sleep(0.05)
    if popen.poll() is None:
        popen.kill()  # our own child, by handle
        popen.wait(5)
    raise RuntimeError(f"lean target did not start: {log_path.read_text(errors='replace')[-2000:]}")
