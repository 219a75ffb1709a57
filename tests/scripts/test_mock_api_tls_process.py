"""mTLS, the CLI config builder, and the subprocess mode (port file, PID stop)."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from mock_api import MockApi, start_mock_api_process
from mock_api.cli import build_parser, config_from_args

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


# ------------------------------------------------------------------ mTLS
def test_mtls_requires_a_client_cert_from_the_ca(pki):
    cfg = {"tls": {"certfile": pki["server"], "client_ca_file": pki["ca"]}}
    with MockApi(cfg) as api:
        assert api.url.startswith("https://127.0.0.1:")
        r = requests.get(api.url + "/v1/echo", verify=pki["ca"], cert=pki["client"])
        assert r.status_code == 200
        assert r.json()["client_cert"]["commonName"] == "etl-client"
        # With TLS 1.3 the server rejects the client cert after the client's side of the
        # handshake is done, so the client sees an SSL error or an aborted connection.
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(api.url + "/v1/echo", verify=pki["ca"])  # no client cert
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(api.url + "/v1/echo", verify=pki["ca"], cert=pki["stranger"])  # other CA
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(api.url.replace("https", "http") + "/v1/echo", timeout=2)
        assert api.stats()["api_requests"] == 1  # handshake failures never reach the app


def test_plain_tls_without_client_ca(pki):
    with MockApi({"tls": {"certfile": pki["server"]}}) as api:
        r = requests.get(api.url + "/v1/echo", verify=pki["ca"])
        assert r.status_code == 200 and r.json()["client_cert"] is None


def test_tls_with_aiohttp_client(pki):
    import asyncio

    import aiohttp

    ctx = ssl.create_default_context(cafile=pki["ca"])
    ctx.load_cert_chain(pki["client"])

    async def go(url):
        async with aiohttp.ClientSession() as s:
            async with s.get(url + "/v1/patients/x", ssl=ctx) as r:
                return r.status

    with MockApi({"tls": {"certfile": pki["server"], "client_ca_file": pki["ca"]}}) as api:
        assert asyncio.run(go(api.url)) == 200


# ------------------------------------------------------------------ CLI config
def test_cli_flags_build_the_config(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("rate_limit:\n  rps: 100\nfaults:\n  seed: 9\n  error_ratio: 0.5\n")
    ns = build_parser().parse_args([
        "--config", str(f), "--rate-limit", "250", "--auth", "oauth2", "--token-ttl", "30",
        "--client-auth-methods", "post", "--error-statuses", "502,503", "--latency", "lognormal:20:120",
        "--fail-first", "1", "--api-key", "a", "--api-key", "b", "--set", "faults.drop_ratio=0.1",
        "--set", "idempotency.header=X-Idem",
    ])
    c = config_from_args(ns)
    assert c.rate_limit.rps == 250 and c.faults.seed == 9 and c.faults.error_ratio == 0.5
    assert c.auth.mode == "oauth2" and c.auth.oauth2.token_ttl_seconds == 30
    assert c.auth.oauth2.client_auth_methods == ["client_secret_post"]
    assert c.faults.error_statuses == [502, 503] and c.faults.drop_ratio == 0.1
    assert c.faults.latency.distribution == "lognormal" and c.faults.latency.p99_ms == 120
    assert c.faults.fail_first == 1 and c.auth.api_keys == ["a", "b"]
    assert c.idempotency.header == "X-Idem"


def test_cli_refuses_non_loopback_host():
    r = subprocess.run(
        [sys.executable, "-m", "mock_api", "--host", "0.0.0.0"],
        env={**os.environ, "PYTHONPATH": str(SCRIPTS)}, capture_output=True, text=True, timeout=30,
    )
    assert r.returncode == 2 and "loopback" in r.stderr


# ------------------------------------------------------------------ subprocess mode
def test_process_mode_starts_serves_and_stops_by_pid(tmp_path):
    proc = start_mock_api_process(
        {"auth": {"mode": "api_key", "api_keys": ["k"]}}, args=["--rate-limit", "1000"], workdir=tmp_path
    )
    try:
        assert proc.alive() and proc.pid > 0
        assert proc.url == f"http://127.0.0.1:{proc.port}"
        assert (tmp_path / "mock_api.port").read_text().strip() == str(proc.port)
        assert requests.get(proc.url + "/v1/echo", headers={"X-API-Key": "k"}).status_code == 200
        assert requests.get(proc.url + "/v1/echo").status_code == 401
        st = proc.stats()
        assert st["api_requests"] == 2 and st["rate_limit_rps"] == 1000 and st["auth_mode"] == "api_key"
        proc.update_config({"faults": {"fail_first": 1}})
        assert requests.get(proc.url + "/v1/echo", headers={"X-API-Key": "k", "X-Request-Id": "r"}).status_code == 503
        proc.reset()
        assert proc.stats()["api_requests"] == 0
    finally:
        t0 = time.monotonic()
        rc = proc.stop(timeout=10)
    assert rc == 0  # clean exit on SIGTERM
    assert time.monotonic() - t0 < 5
    assert not proc.alive()
    assert not (tmp_path / "mock_api.port").exists()  # removed on clean exit
    assert "listening on" in proc.log()


def test_cli_process_pid_file_stats_file_and_sigterm(tmp_path):
    port_file, pid_file, stats_file = tmp_path / "p", tmp_path / "pid", tmp_path / "stats.json"
    port_file.write_text("stale\n")
    p = subprocess.Popen(
        [sys.executable, "-m", "mock_api", "--port", "0", "--port-file", str(port_file), "--pid-file", str(pid_file),
         "--stats-file", str(stats_file), "--loop", "asyncio"],
        env={**os.environ, "PYTHONPATH": str(SCRIPTS)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            txt = port_file.read_text().strip() if port_file.exists() else ""
            if txt.isdigit():
                break
            time.sleep(0.02)
        port = int(port_file.read_text())
        assert int(pid_file.read_text()) == p.pid
        assert requests.post(f"http://127.0.0.1:{port}/v1/patients", json={"tracking_id": "a"}).status_code == 201
        os.kill(p.pid, signal.SIGTERM)
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
        p.stderr.close()
    final = json.loads(stats_file.read_text())
    assert final["api_requests"] == 1 and final["status_counts"] == {"201": 1}


def test_process_start_failure_reports_the_log(tmp_path):
    with pytest.raises(RuntimeError, match="did not start"):
        start_mock_api_process(None, args=["--latency", "bogus"], workdir=tmp_path, startup_timeout=15)
