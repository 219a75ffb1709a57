"""Rate limit, fault injection, idempotency tracking, stats and control endpoints."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import aiohttp
import pytest
import requests

from mock_api import FaultConfig, FaultPlan, LatencyConfig, LatencySampler, MockApi, max_in_window


def post(api, key=None, row="r", session=requests, **kw):
    headers = {"Idempotency-Key": key} if key else {}
    return session.post(api.url + "/v1/patients", json={"tracking_id": row}, headers=headers, **kw)


# ------------------------------------------------------------------ rate limit
def test_sliding_rate_limit_429_retry_after_with_fake_clock(clock):
    with MockApi({"rate_limit": {"rps": 5}}, clock=clock) as api:
        s = requests.Session()
        codes = []
        for i in range(8):
            r = post(api, row=f"r{i}", session=s)
            codes.append(r.status_code)
            clock.advance(0.1)
        assert codes == [201] * 5 + [429] * 3
        r = post(api, session=s)
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "1"  # integer seconds, rounded up
        # sent at t0+0.8; the oldest admitted request (t0) leaves the window at t0+1.0
        assert float(r.headers["X-RateLimit-Reset-After"]) == pytest.approx(0.2)
        assert r.json()["error"] == "rate_limited"
        # t0 + 1.0: the first admitted request (t0) leaves the window; one slot frees
        clock.set(1_700_000_000.0 + 1.0)
        assert post(api, session=s).status_code == 201
        assert post(api, session=s).status_code == 429
        st = api.stats()
        assert st["rate_limited"] == 5
        assert st["api_status_counts"] == {"201": 6, "429": 5}
        # receipt times: 0.0..0.8 (9 requests), then 1.0, 1.0: window (0.0, 1.0] holds 8+2
        assert st["max_1s_window_sliding"] == 10
        assert st["max_1s_window_aligned"] == 9
        assert st["max_1s_window"] == 10
        assert st["rate_limit_rps"] == 5


def test_fixed_rate_limit_window(clock):
    clock.set(1000.5)
    with MockApi({"rate_limit": {"rps": 3, "window": "fixed"}}, clock=clock) as api:
        codes = [post(api).status_code for _ in range(4)]
        assert codes == [201, 201, 201, 429]
        clock.set(1000.999)
        r = post(api)
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"
        clock.set(1001.0)  # a new aligned window
        assert [post(api).status_code for _ in range(4)] == [201, 201, 201, 429]


def test_rate_limit_under_concurrency_real_clock():
    async def burst(url, n):
        async with aiohttp.ClientSession() as s:
            async def one(i):
                async with s.post(url + "/v1/patients", json={"tracking_id": f"c{i}"}) as r:
                    await r.read()
                    return r.status, r.headers.get("Retry-After")
            return await asyncio.gather(*(one(i) for i in range(n)))

    with MockApi({"rate_limit": {"rps": 20}}) as api:
        res = asyncio.run(burst(api.url, 60))
        ok = sum(1 for s, _ in res if s == 201)
        limited = [ra for s, ra in res if s == 429]
        assert ok == 20 and len(limited) == 40  # the burst lands well inside one second
        assert all(ra is not None and int(ra) >= 1 for ra in limited)
        st = api.stats(include_ids=True)
        assert st["max_1s_window"] == 60 and st["max_in_flight"] >= 1
        assert len(st["ids"]["row_ids"]) == 60  # 429s still count as requests for the row


# ------------------------------------------------------------------ faults
def test_fault_ratios_are_seeded_and_reproducible():
    cfg = {"faults": {"seed": 42, "error_ratio": 0.2, "error_statuses": [500, 502, 503], "malformed_ratio": 0.1}}
    n = 300
    outcomes = []
    for _ in range(2):
        with MockApi(cfg) as api:
            s = requests.Session()
            out = []
            for i in range(n):
                r = post(api, key=f"k{i}", session=s)
                try:
                    json.loads(r.content)
                    out.append(r.status_code)
                except ValueError:
                    out.append("malformed")
            outcomes.append(out)
            st = api.stats()
    assert outcomes[0] == outcomes[1]  # same seed, same keys -> same faults
    out = outcomes[0]
    errors = [o for o in out if o in (500, 502, 503)]
    assert 0.12 < len(errors) / n < 0.28
    assert set(errors) == {500, 502, 503}
    assert 0.04 < out.count("malformed") / n < 0.16
    assert st["faults"]["error"] == len(errors)
    assert st["faults"]["malformed"] == out.count("malformed")
    # the same decisions come from FaultPlan directly (the documented keying)
    plan = FaultPlan(FaultConfig(**cfg["faults"]))
    expected = [plan.decide(f"k{i}", 0).kind for i in range(n)]
    assert [k == "error" for k in expected] == [o in (500, 502, 503) for o in out]
    # a different seed gives different faults
    plan2 = FaultPlan(FaultConfig(**{**cfg["faults"], "seed": 43}))
    assert [plan2.decide(f"k{i}", 0).kind for i in range(n)] != expected


def test_unkeyed_requests_use_a_seeded_sequence():
    kinds = []
    for _ in range(2):
        with MockApi({"faults": {"seed": 3, "error_ratio": 0.5}}) as api:
            s = requests.Session()
            kinds.append([s.get(api.url + "/v1/echo").status_code for _ in range(40)])
    assert kinds[0] == kinds[1] and 200 in kinds[0] and len(set(kinds[0])) > 1


def test_fail_first_k_is_exact():
    cfg = {"faults": {"fail_first": 2, "fail_first_ids": {"special": 1, "never": 0}}}
    with MockApi(cfg) as api:
        s = requests.Session()
        assert [post(api, key="a", session=s).status_code for _ in range(4)] == [503, 503, 201, 201]
        assert [post(api, key="special", session=s).status_code for _ in range(2)] == [503, 201]
        assert post(api, key="never", session=s).status_code == 201
        # X-Request-Id keys the deterministic mode too
        rid = [s.get(api.url + "/v1/echo", headers={"X-Request-Id": "q"}).status_code for _ in range(3)]
        assert rid == [503, 503, 200]
        st = api.stats()
        assert st["faults"]["fail_first"] == 5
        assert st["idempotency"]["retries"] == 3  # a#2, a#3 (before completion), special#2
        assert st["idempotency"]["duplicates"] == 1  # a#4 after a 2xx


def test_fail_first_can_drop_the_connection():
    with MockApi({"faults": {"fail_first": 1, "fail_first_kind": "drop"}}) as api:
        with pytest.raises(requests.ConnectionError):
            post(api, key="d")
        assert post(api, key="d").status_code == 201
        assert api.stats()["api_status_counts"] == {"dropped": 1, "201": 1}


def test_dropped_connection_and_malformed_body_with_aiohttp():
    async def go(url):
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.ClientError):
                async with s.post(url + "/v1/patients", json={}, headers={"Idempotency-Key": "x"}) as r:
                    await r.read()

    with MockApi({"faults": {"drop_ratio": 1.0}}) as api:
        asyncio.run(go(api.url))
        assert api.stats()["faults"]["drop"] == 1
        api.update_config(faults={"drop_ratio": 0.0, "malformed_ratio": 1.0})
        r = post(api, key="m")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
        with pytest.raises(ValueError):
            r.json()
        # an injected fault never completes the key: the retry is not a duplicate
        api.update_config(faults={"malformed_ratio": 0.0})
        assert post(api, key="m").status_code == 201
        assert api.stats()["idempotency"]["duplicates"] == 0


def test_timeout_fault_hangs_past_client_timeout_and_stops_fast():
    t0 = time.monotonic()
    with MockApi({"faults": {"timeout_ratio": 1.0, "timeout_seconds": 30}}) as api:
        with pytest.raises(requests.Timeout):
            post(api, key="t", timeout=0.3)
        assert api.stats()["faults"]["timeout"] == 1
        assert api.stats()["in_flight"] == 1  # still hanging server-side
    assert time.monotonic() - t0 < 5  # shutdown releases the hang


def test_latency_fixed_is_applied():
    with MockApi({"faults": {"latency": {"distribution": "fixed", "fixed_ms": 80}}}) as api:
        s = requests.Session()
        s.get(api.url + "/_health")
        t0 = time.perf_counter()
        assert post(api, session=s).status_code == 201
        assert time.perf_counter() - t0 >= 0.08
        st = api.stats()
        assert st["faults"]["latency"] == 1 and st["latency_injected_ms_total"] == pytest.approx(80)


def test_latency_distributions_match_their_parameters():
    n = 20000
    us = [(i + 0.5) / n for i in range(n)]
    ln = LatencySampler(LatencyConfig(distribution="lognormal", mean_ms=40, p99_ms=250))
    xs = sorted(ln.sample_ms(u) for u in us)
    assert statistics.fmean(xs) == pytest.approx(40, rel=0.03)
    assert xs[int(0.99 * n)] == pytest.approx(250, rel=0.02)
    un = LatencySampler(LatencyConfig(distribution="uniform", min_ms=10, max_ms=30))
    ys = [un.sample_ms(u) for u in us]
    assert min(ys) >= 10 and max(ys) <= 30 and statistics.fmean(ys) == pytest.approx(20, rel=0.01)
    capped = LatencySampler(LatencyConfig(distribution="lognormal", mean_ms=40, p99_ms=250, cap_ms=100))
    assert max(capped.sample_ms(u) for u in us) == 100
    with pytest.raises(ValueError):
        LatencyConfig(distribution="lognormal", mean_ms=50, p99_ms=40)
    with pytest.raises(ValueError):
        FaultConfig(error_ratio=0.7, drop_ratio=0.5)


# ------------------------------------------------------------------ idempotency & ids
def test_idempotency_duplicates_rule():
    with MockApi({"faults": {"fail_first_ids": {"j": 1}}}) as api:
        s = requests.Session()
        assert post(api, key="k", session=s).status_code == 201
        assert post(api, key="k", session=s).status_code == 201  # duplicate 1
        assert post(api, key="k", session=s).status_code == 201  # duplicate 2
        assert post(api, key="j", session=s).status_code == 503  # failed attempt
        assert post(api, key="j", session=s).status_code == 201  # retry: not a duplicate
        assert post(api, key="j", session=s).status_code == 201  # duplicate 3
        s.get(api.url + "/v1/status/500", headers={"Idempotency-Key": "e"})
        s.get(api.url + "/v1/status/500", headers={"Idempotency-Key": "e"})  # retry after 5xx
        post(api, session=s)  # no key
        idem = api.stats()["idempotency"]
        assert idem["duplicates"] == 3
        assert idem["duplicate_keys"] == {"k": 2, "j": 1}
        assert idem["duplicate_keys_distinct"] == 2
        assert idem["retries"] == 2  # j#2, e#2
        assert idem["requests_with_key"] == 8 and idem["requests_without_key"] == 1
        assert idem["keys_seen"] == 3


def test_concurrent_copies_in_flight_are_not_duplicates():
    async def two(url):
        async with aiohttp.ClientSession() as s:
            async def one():
                async with s.post(url + "/v1/patients", json={}, headers={"Idempotency-Key": "same"}) as r:
                    return r.status
            return await asyncio.gather(one(), one())

    with MockApi({"faults": {"latency": {"distribution": "fixed", "fixed_ms": 150}}}) as api:
        assert asyncio.run(two(api.url)) == [201, 201]
        st = api.stats()
        assert st["idempotency"]["duplicates"] == 0 and st["idempotency"]["retries"] == 1
        assert st["max_in_flight"] == 2


def test_custom_idempotency_header_and_include_ids():
    with MockApi({"idempotency": {"header": "X-Idem"}}) as api:
        s = requests.Session()
        s.post(api.url + "/v1/patients", json={"tracking_id": "row-1"}, headers={"X-Idem": "a"})
        s.post(api.url + "/v1/patients", json={"tracking_id": "row-1"}, headers={"X-Idem": "a"})
        s.get(api.url + "/v1/patients/row-2")
        s.get(api.url + "/v1/echo?tracking_id=row-3")
        s.get(api.url + "/v1/echo", headers={"X-Row-Id": "row-4"})
        st = requests.get(api.url + "/_stats", params={"include_ids": "1"}).json()
        assert st["ids"]["row_ids"] == ["row-1", "row-2", "row-3", "row-4"]
        assert st["ids"]["request_keys"] == ["a"]
        assert st["idempotency"]["duplicates"] == 1
        assert "ids" not in requests.get(api.url + "/_stats").json()


# ------------------------------------------------------------------ endpoints and control
def test_resources_and_stats_shape(clock):
    with MockApi(clock=clock) as api:
        s = requests.Session()
        r = s.post(api.url + "/v1/patients", json={"tracking_id": "T1", "first_name": "A"})
        assert r.status_code == 201
        body = r.json()
        assert body["id"].startswith("pat_") and body["tracking_id"] == "T1" and body["status"] == "created"
        assert s.post(api.url + "/v1/patients", json={"tracking_id": "T1"}).json()["id"] == body["id"]
        assert s.post(api.url + "/v1/patients", data=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
        g = s.get(api.url + "/v1/patients/P-9")
        assert g.status_code == 200 and g.json()["id"] == "P-9" and 0 <= g.json()["risk_score"] <= 1
        assert s.get(api.url + "/v1/patients/missing-1").status_code == 404
        e = s.put(api.url + "/v1/echo/a/b?x=1&x=2&y=3", json={"k": [1, 2]}, headers={"X-Trace": "t"})
        assert e.json()["method"] == "PUT" and e.json()["path"] == "/v1/echo/a/b"
        assert e.json()["query"] == {"x": ["1", "2"], "y": "3"} and e.json()["body"] == {"k": [1, 2]}
        assert e.json()["headers"]["X-Trace"] == "t"
        assert s.get(api.url + "/v1/status/418").status_code == 418
        assert s.get(api.url + "/nope").status_code == 404
        clock.advance(2)
        st = s.get(api.url + "/_stats", params={"include_timeline": 1}).json()
        assert st["requests_total"] == 8 and st["api_requests"] == 7
        assert st["requests_by_path"] == {
            "/v1/patients": 3, "/v1/patients/{id}": 2, "/v1/echo/{tail}": 1,
            "/v1/status/{code}": 1, "<unmatched>": 1,
        }
        assert st["status_counts"] == {"200": 2, "201": 2, "400": 1, "404": 2, "418": 1}
        assert st["per_second"] == [[1_700_000_000, 7]]
        assert st["max_1s_window"] == 7 and st["current_1s_window"] == 0
        for k in ("in_flight", "max_in_flight", "token_requests", "faults", "idempotency", "rate_limited"):
            assert k in st
        api.reset()
        st = api.stats()
        assert st["requests_total"] == 0 and st["max_1s_window"] == 0


def test_control_endpoints_are_not_counted_or_limited(clock):
    with MockApi({"rate_limit": {"rps": 1}, "auth": {"mode": "bearer"}}, clock=clock) as api:
        for _ in range(5):
            assert requests.get(api.url + "/_stats").status_code == 200
            assert requests.get(api.url + "/_health").status_code == 200
        assert requests.get(api.url + "/_config").json()["rate_limit"]["rps"] == 1
        assert api.stats()["requests_total"] == 0


def test_window_stats_match_receipt_times_under_load():
    async def load(url, n):
        async with aiohttp.ClientSession() as s:
            sem = asyncio.Semaphore(32)

            async def one(i):
                async with sem, s.get(url + f"/v1/patients/p{i}") as r:
                    await r.read()
            await asyncio.gather(*(one(i) for i in range(n)))

    times = []
    with MockApi() as api:
        real = api.state.clock

        def recording_clock():
            t = real()
            times.append(t)
            return t

        api.call(lambda st: setattr(st, "clock", recording_clock))
        asyncio.run(load(api.url, 600))
        st = api.stats()
    assert st["api_requests"] == 600
    assert st["max_1s_window_sliding"] == max_in_window(times)


def test_runtime_config_guards_and_retry_after_on_injected_503():
    with MockApi({"faults": {"fail_first": 1, "error_retry_after_seconds": 2}}) as api:
        r = post(api, key="z")
        assert r.status_code == 503 and r.headers["Retry-After"] == "2"
        r = requests.post(api.url + "/_config", json={"auth": {"oauth2": {"token_path": "/other"}}})
        assert r.status_code == 400 and "fixed at start-up" in r.json()["message"]
        r = requests.post(api.url + "/_config", json={"faults": {"error_ratio": 0.9, "drop_ratio": 0.5}})
        assert r.status_code == 400 and r.json()["error"] == "invalid_config"
        r = requests.post(api.url + "/_config", json={"rate_limit": {"rps": 2}, "api_prefixes": ["/v1/", "/v2/"]})
        assert r.status_code == 200 and r.json()["rate_limit"]["rps"] == 2
        assert api.config.rate_limit.rps == 2
