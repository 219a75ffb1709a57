"""The bench's lean target (Node): it answers like the mock API and counts what it received."""

from __future__ import annotations

import http.client
import json
import time

import common
import pytest
import report
from lean_target import start_lean_target


@pytest.fixture()
def target(tmp_path):
    server = start_lean_target(tmp_path / "lean")
    yield server
    server.stop()


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_answers_each_patient_with_its_own_record_over_one_kept_alive_connection(target):
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=5)
    try:
        bodies = [_get(conn, f"/v1/patients/pat_{i:010d}") for i in range(20)]
        again = _get(conn, "/v1/patients/pat_0000000003")
    finally:
        conn.close()
    assert {status for status, _ in bodies} == {200}
    records = [json.loads(body) for _, body in bodies]
    assert [r["id"] for r in records] == [f"pat_{i:010d}" for i in range(20)]
    assert {r["object"] for r in records} == {"patient"}
    # The same id gives the same record (but for its timestamp), like the mock API.
    third = json.loads(again[1])
    assert {k: v for k, v in third.items() if k != "updated_at"} == {
        k: v for k, v in records[3].items() if k != "updated_at"}
    assert len({r["first_name"] + r["last_name"] + r["country"] for r in records}) > 5


def test_counts_api_requests_and_the_busiest_second_and_resets(target):
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=5)
    try:
        for i in range(30):
            _get(conn, f"/v1/patients/p{i}")
        status, _ = _get(conn, "/v1/other")
    finally:
        conn.close()
    assert status == 404
    stats = target.stats(include_timeline=True)
    assert stats["api_requests"] == 30
    assert stats["api_status_counts"] == {"200": 30}
    assert 1 <= stats["max_1s_window"] <= 30
    assert sum(n for _, n in stats["per_second"]) == 30
    assert stats["api_span_seconds"] >= 0
    assert stats["first_api_request_at"] == pytest.approx(time.time(), abs=30)
    target.reset()
    after = target.stats(include_timeline=True)
    assert (after["api_requests"], after["max_1s_window"], after["per_second"]) == (0, 0, [])


def test_busiest_window_is_over_any_second_not_only_aligned_ones(target):
    """Two bursts 0.5 s apart fall in one sliding second even when a second boundary splits them."""
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=5)
    try:
        # Start just after a half second so the bursts straddle a whole-second boundary.
        time.sleep((1.6 - time.time() % 1.0) % 1.0)
        for i in range(10):
            _get(conn, f"/v1/patients/a{i}")
        time.sleep(0.5)
        for i in range(10):
            _get(conn, f"/v1/patients/b{i}")
    finally:
        conn.close()
    stats = target.stats(include_timeline=True)
    assert stats["max_1s_window_sliding"] == 20
    assert stats["max_1s_window_aligned"] < 20
    assert stats["max_1s_window"] == 20


def test_answers_after_the_latency_it_was_given(tmp_path):
    server = start_lean_target(tmp_path / "slow", latency_ms=80)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        t0 = time.monotonic()
        status, _ = _get(conn, "/v1/patients/p1")
        took = time.monotonic() - t0
        conn.close()
    finally:
        assert server.stop() == 0
    assert status == 200
    assert took >= 0.075


def test_stop_ends_the_process_by_its_pid(tmp_path):
    server = start_lean_target(tmp_path / "stop")
    assert server.popen.poll() is None
    assert server.stop() == 0
    assert server.popen.poll() == 0
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=2).request("GET", "/_health")


def test_bench_targets_share_one_start_function_and_refuse_an_unknown_kind(tmp_path):
    assert common.TARGET_KINDS[0] == "lean"
    with pytest.raises(ValueError, match="unknown target 'nginx'"):
        common.start_target(tmp_path, "nginx")
    with pytest.raises(ValueError, match="bare"):
        common.start_target(tmp_path, "bare", latency_ms=50)


def test_server_check_line_names_every_server_and_reads_runs_made_before_the_lean_target():
    run = {"rps": 9000.0, "requests": 25000, "server_cpu_per_1k": 0.045}
    line = report.server_check_line({
        "target": "lean", "lean": run, "mock": {**run, "rps": 7000.0, "server_cpu_per_1k": 0.13},
        "bare": {**run, "rps": 8500.0, "server_cpu_per_1k": 0.07}, "lean_again": {**run, "rps": 8800.0},
        "target_over_bare_rps": 1.047})
    assert line.index("lean target (Node) 9000 req/s, server 0.045") < line.index("mock API 7000 req/s, server 0.13")
    assert "bare aiohttp handler 8500 req/s" in line and "again 8800" in line and "1.047" in line
    old = report.server_check_line({
        "mock_api": {"rps": 7211.0, "requests": 25000}, "mock_api_again": {"rps": 7560.0},
        "bare_aiohttp": {"rps": 9004.0}, "mock_over_bare_rps": 0.82})
    assert "mock API 7211 / 7560 req/s vs bare aiohttp handler 9004" in old


def test_a_malformed_id_gets_400_and_the_server_keeps_serving(target):
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=5)
    try:
        status, body = _get(conn, "/v1/patients/%E0%A4%A")
        after = _get(conn, "/v1/patients/p1")
    finally:
        conn.close()
    assert status == 400 and b"bad_request" in body
    assert after[0] == 200
    assert target.stats()["api_status_counts"] == {"400": 1, "200": 1}


def test_the_paced_bare_loop_holds_its_rate_without_a_burst(target):
    import clients

    # 400 requests at 200/s: about 2 s, every window at or under the rate (+1 for the
    # schedule's 10 ms slack), where the unpaced loop sends them in a fraction of a second.
    target.reset()
    res = clients.ceiling(target.url, 0, 400, 20, rate=200.0)
    stats = target.stats()
    assert res["requests"] == 400 and res["non_2xx"] == 0
    assert stats["api_requests"] == 400
    assert 0.95 <= common.server_achieved_rps(stats) / 200.0 <= 1.01
    assert stats["max_1s_window"] <= 203
