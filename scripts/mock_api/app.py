"""The aiohttp application: control endpoints, token endpoint, API resources, middleware.

Per API request (path under ``config.api_prefixes``), in this order:

1. receipt time recorded (window stats, in-flight), request key and row id recorded
2. the server's own rate limit (429 + Retry-After)
3. authentication (401 + WWW-Authenticate)
4. fault injection: latency, then fail-first-K or one random fault
5. the resource handler

Control endpoints (``/_*``) are never counted, limited, authenticated or faulted; the
token endpoint is counted (``token_requests``, ``requests_by_path``) but not limited or
faulted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from .auth import Authenticator
from .config import RUNTIME_SECTIONS, MockApiConfig
from .faults import FaultPlan
from .stats import DROPPED, NS, Stats

# aiohttp >= 3.14 wants typed request keys; older versions take plain strings.
_RequestKey = getattr(web, "RequestKey", None)
_JSON_KEY: Any = _RequestKey("mock_api_json", object) if _RequestKey else "mock_api_json"
_PRINCIPAL_KEY: Any = _RequestKey("mock_api_principal", object) if _RequestKey else "mock_api_principal"
_MISSING = object()
_HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_dumps(obj), status=status, headers=headers, content_type="application/json")


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class MockState:
    """Everything a running server knows; touched only on its event loop thread."""

    def __init__(self, config: MockApiConfig, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.initial_config = config
        self.stats = Stats(clock, config.idempotency.max_listed_duplicates)
        self.auth = Authenticator(config.auth, clock)
        self.shutdown_event: asyncio.Event | None = None
        self._rl: deque[int] = deque()
        self._rl_bucket = -1
        self._rl_count = 0
        self.apply_config(config)

    # ----- configuration -----
    def apply_config(self, cfg: MockApiConfig) -> None:
        self.config = cfg
        self.api_prefixes = tuple(cfg.api_prefixes)
        self.not_found_prefix = cfg.not_found_prefix
        rl = cfg.rate_limit
        self.rl_enabled = rl.enabled
        self.rl_limit = rl.limit_per_window if rl.enabled else 0
        self.rl_window_ns = round(rl.window_seconds * NS)
        self.rl_sliding = rl.window == "sliding"
        self.rl_retry_after = rl.retry_after_seconds
        self.rl_rps = rl.rps if rl.enabled else None
        self._rl.clear()
        self._rl_bucket = -1
        self._rl_count = 0
        self.faults = FaultPlan(cfg.faults)
        self.auth.configure(cfg.auth)
        self.auth_mode = cfg.auth.mode
        self.idem_header = cfg.idempotency.header
        self.reqid_header = cfg.idempotency.request_id_header
        self.stats.max_listed_duplicates = cfg.idempotency.max_listed_duplicates
        r = cfg.row_ids
        self.rows_enabled = r.enabled
        self.row_header = r.header
        self.row_body_fields = tuple(r.body_fields)
        self.row_path_param = r.path_param
        self.row_query_params = tuple(r.query_params)

    def update_config(self, patch: dict[str, Any]) -> MockApiConfig:
        bad = sorted(set(patch) - RUNTIME_SECTIONS)
        if bad:
            raise ValueError(f"not changeable at runtime: {', '.join(bad)} (allowed: {', '.join(sorted(RUNTIME_SECTIONS))})")
        new = self.config.merged(patch)
        if new.auth.oauth2.token_path != self.config.auth.oauth2.token_path:
            raise ValueError("auth.oauth2.token_path is fixed at start-up")
        self.apply_config(new)
        return new

    def reset(self, *, tokens: bool = False, config: bool = False) -> None:
        self.stats.reset()
        if tokens:
            self.auth.tokens.clear()
        if config:
            self.apply_config(self.initial_config)
        else:
            # Fresh RNG sequence and an empty rate-limit window, same settings.
            self.apply_config(self.config)

    # ----- rate limit -----
    def rate_admit(self, t: float) -> float | None:
        """None when admitted, else seconds until a slot frees."""
        tn = round(t * NS)
        w = self.rl_window_ns
        if self.rl_sliding:
            dq = self._rl
            lo = tn - w
            while dq and dq[0] <= lo:
                dq.popleft()
            if len(dq) < self.rl_limit:
                dq.append(tn)
                return None
            return (dq[0] + w - tn) / NS
        b = tn // w
        if b != self._rl_bucket:
            self._rl_bucket = b
            self._rl_count = 0
        if self._rl_count < self.rl_limit:
            self._rl_count += 1
            return None
        return ((b + 1) * w - tn) / NS

    def too_many(self, wait_s: float) -> web.Response:
        ra = self.rl_retry_after if self.rl_retry_after is not None else max(1, math.ceil(wait_s))
        return json_response(
            {
                "error": "rate_limited",
                "message": f"rate limit of {self.rl_limit} requests per {self.rl_window_ns / NS:g}s exceeded",
                "retry_after_seconds": ra,
            },
            429,
            {
                "Retry-After": str(ra),
                "X-RateLimit-Limit": str(self.rl_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{max(wait_s, 0.0):.3f}",
            },
        )

    def snapshot(self, include_ids: bool = False, include_timeline: bool = False) -> dict[str, Any]:
        snap = self.stats.snapshot(
            include_ids=include_ids, include_timeline=include_timeline, rate_limit=self.rl_rps
        )
        snap["auth_mode"] = self.auth_mode
        snap["tokens_active"] = sum(1 for t in self.auth.tokens.values() if t.expires_at > snap["now"])
        return snap


STATE_KEY = web.AppKey("mock_api_state", MockState)


async def read_json(request: web.Request) -> Any:
    """The request body parsed as JSON once (cached); _MISSING when absent or invalid."""
    cached = request.get(_JSON_KEY, None)
    if cached is not None:
        return cached
    val: Any = _MISSING
    if request.body_exists:
        raw = await request.read()
        if raw:
            try:
                val = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                val = _MISSING
    request[_JSON_KEY] = val
    return val


async def _row_id(state: MockState, request: web.Request) -> str | None:
    h = state.row_header
    if h:
        v = request.headers.get(h)
        if v is not None:
            return v
    p = state.row_path_param
    if p:
        v = request.match_info.get(p)
        if v is not None:
            return v
    if state.row_query_params and request.query_string:
        q = request.query
        for name in state.row_query_params:
            v = q.get(name)
            if v is not None:
                return v
    if state.row_body_fields and request.body_exists:
        ct = request.content_type
        if ct == "application/json" or ct.endswith("+json"):
            body = await read_json(request)
            if isinstance(body, dict):
                for name in state.row_body_fields:
                    v = body.get(name)
                    if v is not None:
                        return str(v)
    return None


def _route_of(request: web.Request) -> str:
    res = request.match_info.route.resource
    return res.canonical if res is not None else "<unmatched>"


def _drop(request: web.Request) -> web.Response:
    tr = request.transport
    if tr is not None:
        tr.close()
    # aiohttp ignores the write to the closed transport ("premature client disconnection").
    return web.Response(status=500)


@web.middleware
async def mock_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    state: MockState = request.app[STATE_KEY]
    path = request.path
    if path.startswith("/_"):
        return await handler(request)
    stats = state.stats
    if not path.startswith(state.api_prefixes):
        status = 500
        try:
            resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as e:
            status = e.status
            raise
        finally:
            stats.record(_route_of(request), status)

    t = state.clock()
    stats.api_received(t)
    status = 500
    try:
        headers = request.headers
        key = headers.get(state.idem_header)
        if key is not None:
            attempt = stats.key_attempt(key, True)
        else:
            key = headers.get(state.reqid_header)
            attempt = stats.key_attempt(key, False) if key is not None else 0
            stats.requests_without_key += 1
        if state.rows_enabled:
            rid = await _row_id(state, request)
            if rid is not None:
                stats.row_ids.add(rid)

        if state.rl_enabled:
            wait = state.rate_admit(t)
            if wait is not None:
                stats.rate_limited += 1
                status = 429
                return state.too_many(wait)

        if state.auth_mode != "none":
            fail, principal = state.auth.check(headers, request.query)
            if fail is not None:
                stats.auth_failures += 1
                status = fail.status
                hdrs = {"WWW-Authenticate": fail.www_authenticate} if fail.www_authenticate else None
                return json_response({"error": fail.error, "error_description": fail.description}, fail.status, hdrs)
            request[_PRINCIPAL_KEY] = principal

        plan = state.faults
        if plan.active:
            d = plan.decide(key, attempt)
            if d.latency_s > 0:
                stats.faults["latency"] += 1
                stats.latency_injected_ms_total += d.latency_s * 1000.0
                await asyncio.sleep(d.latency_s)
            if d.kind is not None:
                kind = d.kind
                if kind == "fail_first":
                    stats.faults["fail_first"] += 1
                    kind = d.sub_kind or "status"
                    if kind == "status":
                        kind = "error"
                else:
                    stats.faults[kind] += 1
                if kind == "error":
                    status = d.status or 500
                    hdrs = None
                    ra = plan.cfg.error_retry_after_seconds
                    if ra is not None and status in (429, 503):
                        hdrs = {"Retry-After": str(ra)}
                    return json_response(
                        {"error": "injected_fault", "status": status, "message": "injected error"},
                        status,
                        hdrs,
                    )
                if kind == "timeout":
                    ev = state.shutdown_event
                    try:
                        if ev is not None:
                            await asyncio.wait_for(ev.wait(), plan.cfg.timeout_seconds)
                        else:
                            await asyncio.sleep(plan.cfg.timeout_seconds)
                    except asyncio.TimeoutError:
                        pass
                    status = 504
                    return json_response({"error": "timeout", "message": "injected timeout"}, 504)
                if kind == "drop":
                    status = DROPPED
                    return _drop(request)
                # malformed
                status = d.status or plan.cfg.malformed_status
                return web.Response(
                    body=b'{"id": "pat_', status=status, content_type="application/json"
                )

        resp = await handler(request)
        status = resp.status
        if key is not None and 200 <= status < 300:
            stats.key_completed(key)
        return resp
    except web.HTTPException as e:
        status = e.status
        raise
    finally:
        stats.api_done(status)
        stats.record(_route_of(request), status)


# ---------------------------------------------------------------- control endpoints
def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes", "on")


async def h_stats(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return json_response(state.snapshot(_flag(request, "include_ids"), _flag(request, "include_timeline")))


async def h_reset(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.reset(tokens=_flag(request, "tokens"), config=_flag(request, "config"))
    return json_response({"reset": True})


async def h_get_config(request: web.Request) -> web.Response:
    return json_response(request.app[STATE_KEY].config.model_dump(mode="json"))


async def h_post_config(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        patch = await request.json()
    except ValueError:
        return json_response({"error": "invalid_json"}, 400)
    if not isinstance(patch, dict):
        return json_response({"error": "invalid_config", "message": "the body must be a JSON object"}, 400)
    try:
        new = state.update_config(patch)
    except ValidationError as e:
        return json_response(
            {"error": "invalid_config", "details": json.loads(e.json(include_url=False, include_input=False))},
            400,
        )
    except ValueError as e:
        return json_response({"error": "invalid_config", "message": str(e)}, 400)
    return json_response(new.model_dump(mode="json"))


async def h_expire_tokens(request: web.Request) -> web.Response:
    n = request.app[STATE_KEY].auth.expire_all()
    return json_response({"expired": n})


async def h_health(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


# ---------------------------------------------------------------- token endpoint
async def h_token(request: web.Request) -> web.Response:
    state: MockState = request.app[STATE_KEY]
    stats = state.stats
    stats.token_requests += 1
    ct = request.content_type
    form: dict[str, str] = {}
    if ct == "application/json":
        body = await read_json(request)
        if isinstance(body, dict):
            form = {k: str(v) for k, v in body.items() if v is not None}
    else:
        post = await request.post()
        form = {k: v for k, v in post.items() if isinstance(v, str)}
    res = state.auth.token_request(request.headers.get("Authorization"), form)
    if res.grant_type:
        stats.token_grants[res.grant_type] = stats.token_grants.get(res.grant_type, 0) + 1
    if res.client_auth:
        stats.token_client_auth[res.client_auth] = stats.token_client_auth.get(res.client_auth, 0) + 1
    if res.status == 200:
        stats.tokens_issued += 1
        if len(state.auth.tokens) > 10000:
            state.auth.purge_expired()
    else:
        stats.token_errors += 1
    return json_response(res.body, res.status, res.headers)


# ---------------------------------------------------------------- API resources
_FIRST = ("Ava", "Liam", "Maya", "Noah", "Zoe", "Omar", "Ines", "Kenji", "Lena", "Ravi")
_LAST = ("Garcia", "Smith", "Okafor", "Tanaka", "Novak", "Silva", "Khan", "Muller", "Rossi", "Lee")
_SEGMENTS = ("low", "medium", "high")
_COUNTRIES = ("US", "GB", "DE", "FR", "JP", "BR", "IN", "CA", "AU", "NG")


def _h(s: str) -> bytes:
    return hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=16).digest()


async def h_create_patient(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body, dict):
        return json_response({"error": "invalid_request", "message": "the body must be a JSON object"}, 400)
    idem = request.headers.get(request.app[STATE_KEY].idem_header)
    basis = str(body.get("tracking_id") or body.get("patient_id") or idem or _dumps(body).decode())
    d = _h(basis)
    pid = "pat_" + d[:8].hex()
    return json_response(
        {
            "id": pid,
            "object": "patient",
            "status": "created",
            "tracking_id": body.get("tracking_id"),
            "patient_id": body.get("patient_id"),
            "mrn": "MRN-%010d" % (int.from_bytes(d[8:12], "big") % 10**10),
            "risk_score": round(int.from_bytes(d[12:14], "big") / 65535.0, 4),
            "idempotency_key": idem,
            "created_at": _now_iso(),
            "links": {"self": f"/v1/patients/{pid}"},
        },
        201,
    )


async def h_get_patient(request: web.Request) -> web.Response:
    state: MockState = request.app[STATE_KEY]
    pid = request.match_info["id"]
    nf = state.not_found_prefix
    if nf and pid.startswith(nf):
        return json_response({"error": "not_found", "message": f"patient {pid} not found"}, 404)
    d = _h(pid)
    return json_response(
        {
            "id": pid,
            "object": "patient",
            "first_name": _FIRST[d[0] % len(_FIRST)],
            "last_name": _LAST[d[1] % len(_LAST)],
            "country": _COUNTRIES[d[2] % len(_COUNTRIES)],
            "risk_score": round(int.from_bytes(d[3:5], "big") / 65535.0, 4),
            "segment": _SEGMENTS[d[5] % 3],
            "lifetime_value": round(int.from_bytes(d[6:9], "big") / 100.0, 2),
            "updated_at": _now_iso(),
        }
    )


def _client_cert_subject(request: web.Request) -> dict[str, str] | None:
    tr = request.transport
    if tr is None:
        return None
    cert = tr.get_extra_info("peercert")
    if not cert:
        return None
    out: dict[str, str] = {}
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            out[k] = v
    return out


async def h_echo(request: web.Request) -> web.Response:
    state: MockState = request.app[STATE_KEY]
    hidden = _HIDDEN_HEADERS | {state.config.auth.api_key_header.lower()}
    headers = {k: v for k, v in request.headers.items() if k.lower() not in hidden}
    query: dict[str, Any] = {}
    for k in request.query.keys():
        if k in query:
            continue
        vals = request.query.getall(k)
        query[k] = vals[0] if len(vals) == 1 else vals
    if state.config.auth.api_key_query_param in query:
        query[state.config.auth.api_key_query_param] = "***"
    body: Any = None
    is_json = False
    if request.body_exists:
        parsed = await read_json(request)
        if parsed is not _MISSING:
            body, is_json = parsed, True
        else:
            raw = await request.read()
            body = raw.decode("utf-8", "replace")
    return json_response(
        {
            "method": request.method,
            "path": request.path,
            "query": query,
            "headers": headers,
            "body": body,
            "json": is_json,
            "principal": request.get(_PRINCIPAL_KEY),
            "client_cert": _client_cert_subject(request),
            "received_at": _now_iso(),
        }
    )


async def h_status(request: web.Request) -> web.Response:
    try:
        code = int(request.match_info["code"])
    except ValueError:
        return json_response({"error": "invalid_request", "message": "status must be an integer"}, 400)
    if not 200 <= code <= 599:
        return json_response({"error": "invalid_request", "message": "status must be 200-599"}, 400)
    if code in (204, 304):
        return web.Response(status=code)
    return json_response({"status": code, "message": f"status {code} as requested"}, code)


def build_app(state: MockState) -> web.Application:
    app = web.Application(middlewares=[mock_middleware], client_max_size=16 * 1024 * 1024)
    app[STATE_KEY] = state
    r = app.router
    r.add_get("/_stats", h_stats)
    r.add_post("/_reset", h_reset)
    r.add_get("/_config", h_get_config)
    r.add_post("/_config", h_post_config)
    r.add_post("/_expire_tokens", h_expire_tokens)
    r.add_get("/_health", h_health)
    r.add_post(state.config.auth.oauth2.token_path, h_token)
    r.add_post("/v1/patients", h_create_patient)
    r.add_get("/v1/patients/{id}", h_get_patient)
    r.add_route("*", "/v1/echo", h_echo)
    r.add_route("*", "/v1/echo/{tail:.*}", h_echo)
    r.add_route("*", "/v1/status/{code}", h_status)
    return app
