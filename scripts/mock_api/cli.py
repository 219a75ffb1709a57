"""``python -m mock_api``: run the mock API as a process until SIGTERM/SIGINT.

Precedence: defaults < ``--config FILE`` (JSON or YAML) < individual flags < ``--set``.
Once listening, the chosen port is written (atomically, digits and a newline) to
``--port-file`` and the PID to ``--pid-file``; on SIGTERM/SIGINT the server stops, writes
the final ``/_stats`` JSON to ``--stats-file`` if given, removes the port file and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from .config import MockApiConfig, deep_merge, load_config_file
from .server import new_event_loop, start_server, stop_server


def _ratio(v: str) -> float:
    f = float(v)
    if not 0 <= f <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return f


def parse_latency(spec: str) -> dict[str, Any]:
    """``none`` | ``fixed:MS`` | ``uniform:MIN:MAX`` | ``lognormal:MEAN:P99`` (milliseconds)."""
    parts = spec.split(":")
    kind = parts[0]
    try:
        nums = [float(x) for x in parts[1:]]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad latency spec {spec!r}") from None
    if kind == "none" and not nums:
        return {"distribution": "none"}
    if kind == "fixed" and len(nums) == 1:
        return {"distribution": "fixed", "fixed_ms": nums[0]}
    if kind == "uniform" and len(nums) == 2:
        return {"distribution": "uniform", "min_ms": nums[0], "max_ms": nums[1]}
    if kind == "lognormal" and len(nums) == 2:
        return {"distribution": "lognormal", "mean_ms": nums[0], "p99_ms": nums[1]}
    raise argparse.ArgumentTypeError(
        f"bad latency spec {spec!r}: use none, fixed:MS, uniform:MIN:MAX or lognormal:MEAN:P99"
    )


def _set_path(d: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    cur = d
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mock_api", description="Mock REST API for api_etl tests and demos.")
    g = p.add_argument_group("process")
    g.add_argument("--host", default=None, help="loopback address to bind (default 127.0.0.1)")
    g.add_argument("--port", type=int, default=None, help="port (0 = any free port; default 0)")
    g.add_argument("--port-file", type=Path, help="write the listening port here once ready")
    g.add_argument("--pid-file", type=Path, help="write this process's PID here once ready")
    g.add_argument("--stats-file", type=Path, help="write the final /_stats JSON here on exit")
    g.add_argument("--loop", choices=["asyncio", "uvloop", "auto"], default="auto", help="event loop (default auto: uvloop if installed)")
    g.add_argument("--config", type=Path, help="JSON or YAML config file (MockApiConfig fields)")
    g.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help="override any field, VALUE parsed as JSON if it can be (repeatable)")
    g = p.add_argument_group("rate limit")
    g.add_argument("--rate-limit", type=float, help="max requests per second (0 = off)")
    g.add_argument("--rate-window", choices=["sliding", "fixed"])
    g = p.add_argument_group("auth")
    g.add_argument("--auth", choices=["none", "basic", "bearer", "api_key", "oauth2"])
    g.add_argument("--client-id")
    g.add_argument("--client-secret")
    g.add_argument("--token-ttl", type=float, help="token lifetime in seconds")
    g.add_argument("--client-auth-methods", help="comma list of client_secret_basic,client_secret_post (or basic,post)")
    g.add_argument("--oauth-user", action="append", default=[], metavar="USER:PASS", help="password-grant user (repeatable)")
    g.add_argument("--basic-user", action="append", default=[], metavar="USER:PASS", help="basic-auth user (repeatable)")
    g.add_argument("--bearer-token", action="append", default=[], help="static bearer token (repeatable)")
    g.add_argument("--api-key", action="append", default=[], help="accepted API key (repeatable)")
    g.add_argument("--api-key-in", choices=["header", "query", "either"])
    g.add_argument("--api-key-header")
    g = p.add_argument_group("faults")
    g.add_argument("--seed", type=int)
    g.add_argument("--error-ratio", type=_ratio)
    g.add_argument("--error-statuses", help="comma list, e.g. 500,502,503")
    g.add_argument("--timeout-ratio", type=_ratio)
    g.add_argument("--timeout-seconds", type=float)
    g.add_argument("--drop-ratio", type=_ratio)
    g.add_argument("--malformed-ratio", type=_ratio)
    g.add_argument("--latency", type=parse_latency, help="none | fixed:MS | uniform:MIN:MAX | lognormal:MEAN:P99")
    g.add_argument("--fail-first", type=int, help="fail the first K attempts of every request key")
    g.add_argument("--idempotency-header")
    g = p.add_argument_group("TLS")
    g.add_argument("--tls-cert", help="server certificate chain (PEM; may include the key)")
    g.add_argument("--tls-key", help="server private key (PEM)")
    g.add_argument("--tls-client-ca", help="CA bundle for client certificates: enables mTLS")
    return p


def _userpass(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for it in items:
        u, sep, pw = it.partition(":")
        if not sep:
            raise SystemExit(f"{flag}: expected USER:PASS, got {it!r}")
        out[u] = pw
    return out


def config_from_args(ns: argparse.Namespace) -> MockApiConfig:
    data: dict[str, Any] = load_config_file(ns.config) if ns.config else {}
    over: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        if value is not None:
            _set_path(over, path, value)

    put("host", ns.host)
    put("port", ns.port)
    if ns.rate_limit is not None:
        put("rate_limit.rps", ns.rate_limit or None)
    put("rate_limit.window", ns.rate_window)
    put("auth.mode", ns.auth)
    put("auth.oauth2.client_id", ns.client_id)
    put("auth.oauth2.client_secret", ns.client_secret)
    put("auth.oauth2.token_ttl_seconds", ns.token_ttl)
    if ns.client_auth_methods:
        alias = {"basic": "client_secret_basic", "post": "client_secret_post"}
        put("auth.oauth2.client_auth_methods", [alias.get(m.strip(), m.strip()) for m in ns.client_auth_methods.split(",") if m.strip()])
    if ns.oauth_user:
        put("auth.oauth2.users", _userpass(ns.oauth_user, "--oauth-user"))
    if ns.basic_user:
        put("auth.basic_users", _userpass(ns.basic_user, "--basic-user"))
    if ns.bearer_token:
        put("auth.bearer_tokens", ns.bearer_token)
    if ns.api_key:
        put("auth.api_keys", ns.api_key)
    put("auth.api_key_in", ns.api_key_in)
    put("auth.api_key_header", ns.api_key_header)
    put("faults.seed", ns.seed)
    put("faults.error_ratio", ns.error_ratio)
    if ns.error_statuses:
        put("faults.error_statuses", [int(x) for x in ns.error_statuses.split(",") if x.strip()])
    put("faults.timeout_ratio", ns.timeout_ratio)
    put("faults.timeout_seconds", ns.timeout_seconds)
    put("faults.drop_ratio", ns.drop_ratio)
    put("faults.malformed_ratio", ns.malformed_ratio)
    put("faults.latency", ns.latency)
    put("faults.fail_first", ns.fail_first)
    put("idempotency.header", ns.idempotency_header)
    if ns.tls_cert:
        put("tls", {"certfile": ns.tls_cert, "keyfile": ns.tls_key, "client_ca_file": ns.tls_client_ca})
    for item in ns.set:
        path, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--set: expected PATH=VALUE, got {item!r}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        _set_path(over, path.strip(), value)
    return MockApiConfig.model_validate(deep_merge(data, over))


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


async def serve(
    config: MockApiConfig,
    *,
    port_file: Path | None = None,
    pid_file: Path | None = None,
    stats_file: Path | None = None,
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    rs = await start_server(config)
    if pid_file:
        _write_atomic(pid_file, f"{os.getpid()}\n")
    if port_file:
        _write_atomic(port_file, f"{rs.port}\n")
    print(f"mock API listening on {rs.url} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        snap = rs.state.snapshot()
        await stop_server(rs)
        if stats_file:
            _write_atomic(stats_file, json.dumps(snap, indent=2) + "\n")
        for f in (port_file, pid_file):
            if f is not None:
                try:
                    f.unlink()
                except FileNotFoundError:
                    pass
    print("mock API stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        config = config_from_args(ns)
    except (ValueError, OSError) as e:
        print(f"mock_api: invalid configuration: {e}", file=sys.stderr)
        return 2
    for f in (ns.port_file, ns.pid_file):
        if f is not None:
            try:
                f.unlink()  # never leave a stale file that looks like a live server
            except FileNotFoundError:
                pass
    loop = new_event_loop(ns.loop)
    try:
        return loop.run_until_complete(
            serve(config, port_file=ns.port_file, pid_file=ns.pid_file, stats_file=ns.stats_file)
        )
    except OSError as e:
        print(f"mock_api: cannot listen on {config.host}:{config.port}: {e}", file=sys.stderr)
        return 1
    finally:
        loop.close()
