"""Start the mock API as a separate process (``python -m mock_api``) and stop it by PID."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .config import MockApiConfig, coerce_config

SCRIPTS_DIR = Path(__file__).resolve().parent.parent


class MockApiProcess:
    """Handle of a running ``python -m mock_api`` process."""

    def __init__(self, popen: subprocess.Popen[bytes], host: str, port: int, scheme: str, workdir: Path, log_path: Path):
        self.popen = popen
        self.pid = popen.pid
        self.host = host
        self.port = port
        self.scheme = scheme
        self.workdir = workdir
        self.log_path = log_path
        self.returncode: int | None = None
        self.ssl_context: ssl.SSLContext | None = None  # used by the helpers below for https

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # ----- control endpoints over HTTP (stdlib only) -----
    def _request(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=timeout, context=self.ssl_context) as r:
            return json.loads(r.read())

    def stats(self, include_ids: bool = False, include_timeline: bool = False) -> dict[str, Any]:
        q = []
        if include_ids:
            q.append("include_ids=1")
        if include_timeline:
            q.append("include_timeline=1")
        return self._request("GET", "/_stats" + ("?" + "&".join(q) if q else ""))

    def reset(self, *, tokens: bool = False, config: bool = False) -> None:
        q = "&".join(x for x, on in (("tokens=1", tokens), ("config=1", config)) if on)
        self._request("POST", "/_reset" + ("?" + q if q else ""))

    def update_config(self, patch: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/_config", patch)

    # ----- stop -----
    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the PID, wait up to ``timeout``, then SIGKILL. Returns the exit code."""
        if self.returncode is not None:
            return self.returncode
        if self.popen.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        self.returncode = self.popen.returncode
        return self.returncode

    def __enter__(self) -> MockApiProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_mock_api_process(
    config: MockApiConfig | dict[str, Any] | str | Path | None = None,
    *,
    args: Sequence[str] = (),
    port: int = 0,
    python: str | None = None,
    env: Mapping[str, str] | None = None,
    workdir: str | Path | None = None,
    startup_timeout: float = 20.0,
) -> MockApiProcess:
    """Start ``python -m mock_api`` with ``config`` (written to a JSON file) plus ``args``.

    Waits until the port file appears (the server is listening), then returns the handle.
    Raises ``RuntimeError`` with the process log if it exits or does not start in time.
    The process's stdout/stderr go to ``<workdir>/mock_api.log``.
    """
    cfg = coerce_config(config)
    wd = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="mock_api_"))
    wd.mkdir(parents=True, exist_ok=True)
    cfg_path = wd / "mock_api_config.json"
    cfg_path.write_text(cfg.model_dump_json(indent=2), encoding="utf-8")
    port_file = wd / "mock_api.port"
    log_path = wd / "mock_api.log"
    try:
        port_file.unlink()
    except FileNotFoundError:
        pass
    cmd = [
        python or sys.executable,
        "-m",
        "mock_api",
        "--config",
        str(cfg_path),
        "--port",
        str(port),
        "--port-file",
        str(port_file),
        *args,
    ]
    child_env = dict(os.environ if env is None else env)
    pp = child_env.get("PYTHONPATH")
    child_env["PYTHONPATH"] = str(SCRIPTS_DIR) + (os.pathsep + pp if pp else "")
    log = open(log_path, "wb")
    try:
        popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=child_env)
    finally:
        log.close()
    deadline = time.monotonic() + startup_timeout
    chosen: int | None = None
    while time.monotonic() < deadline:
        if port_file.exists():
            text = port_file.read_text().strip()
            if text.isdigit():
                chosen = int(text)
                break
        if popen.poll() is not None:
            break
        time.sleep(0.02)
    if chosen is None:
        if popen.poll() is None:
            popen.kill()
            popen.wait(5)
        out = log_path.read_text(errors="replace") if log_path.exists() else ""
        raise RuntimeError(f"mock API process did not start (exit {popen.returncode}):\n{out[-4000:]}")
    # Flags may override the config file: read back what the process actually uses.
    scheme = "https" if (cfg.tls is not None or "--tls-cert" in args) else "http"
    host = cfg.host
    if "--host" in args:
        host = args[list(args).index("--host") + 1]
    return MockApiProcess(popen, host, chosen, scheme, wd, log_path)
