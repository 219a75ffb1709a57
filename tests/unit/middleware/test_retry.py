"""Retry: statuses, connection errors, timeouts, Retry-After, backoff bounds; exact, no timing."""

import asyncio
import email.utils
import random

import pytest

from api_etl.middleware.backoff import FullJitterBackoff, parse_retry_after
from api_etl.middleware.chain import compose
from api_etl.middleware.json_body import JsonBodyMiddleware
from api_etl.middleware.retry import RetryFactory, RetryMiddleware
from api_etl.middleware.base import MiddlewareContext
from api_etl.transport.base import TransportConnectionError, TransportTimeout
from tests.unit.engine.fakes import RecordingSleep, ScriptedTransport, exchange, response, terminal

NOW = 1_700_000_000.0


def run_retry(outcomes, inner=(), **options):
    sleep = RecordingSleep()
    transport = ScriptedTransport(outcomes)
    options.setdefault("random", random.Random(7).random)
    retry = RetryMiddleware(sleep=sleep, now=lambda: NOW, **options)
    ex = asyncio.run(compose([retry, *inner], terminal(transport))(exchange()))
    return ex, sleep.delays, transport


def test_retries_status_until_success_and_counts_attempts_once_per_send():
    ex, delays, transport = run_retry([response(503), response(502), response(200)])
    assert ex.ok and ex.status == 200
    assert ex.attempts == 3 == len(transport.requests) == len(ex.attempt_log)
    assert [a.status for a in ex.attempt_log] == [503, 502, 200]
    assert len(delays) == 2
    assert ex.metadata["retry_reasons"] == "status:503,status:502"


def test_gives_up_after_max_attempts_keeping_last_status():
    ex, delays, _ = run_retry([response(500)], max_attempts=4)
    assert ex.status == 500 and ex.attempts == 4 and len(delays) == 3
    assert ex.metadata["retries_exhausted"] == "true"


def test_status_not_in_list_is_not_retried():
    ex, delays, _ = run_retry([response(404), response(200)])
    assert ex.status == 404 and ex.attempts == 1 and delays == []


def test_custom_status_list():
    ex, _, _ = run_retry([response(409), response(200)], retry_status_codes=[409])
    assert ex.ok and ex.attempts == 2


@pytest.mark.parametrize(
    ("error", "switch"),
    [(TransportConnectionError("reset"), "retry_on_connection_errors"),
     (TransportTimeout("read"), "retry_on_timeouts"),
     (ConnectionResetError("reset"), "retry_on_connection_errors"),
     (asyncio.TimeoutError(), "retry_on_timeouts")],
)
def test_network_errors_retried_and_switchable(error, switch):
    ex, delays, _ = run_retry([error, response(200)])
    assert ex.ok and ex.attempts == 2 and len(delays) == 1
    ex, delays, _ = run_retry([error, response(200)], **{switch: False})
    assert not ex.ok and ex.attempts == 1 and delays == [] and ex.error is error


def test_other_exceptions_are_not_retried():
    ex, delays, _ = run_retry([ValueError("bug"), response(200)])
    assert ex.attempts == 1 and isinstance(ex.error, ValueError) and delays == []


def test_retry_after_seconds_is_honoured():
    ex, delays, _ = run_retry([response(429, headers={"Retry-After": "7"}), response(200)])
    assert delays == [7.0] and ex.ok


def test_retry_after_http_date_is_honoured():
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    ex, delays, _ = run_retry([response(503, headers={"retry-after": date}), response(200)])
    assert delays == [30.0] and ex.ok


def test_retry_after_in_the_past_means_no_wait():
    date = email.utils.formatdate(NOW - 30, usegmt=True)
    _, delays, _ = run_retry([response(503, headers={"Retry-After": date}), response(200)])
    assert delays == []  # 0 seconds: retried at once, no sleep call


def test_retry_after_is_capped_by_its_own_cap():
    _, delays, _ = run_retry(
        [response(429, headers={"Retry-After": "3600"}), response(200)],
        max_retry_after=45.0, max_delay=1.0,
    )
    assert delays == [45.0]


def test_retry_after_ignored_when_disabled_or_garbage():
    seeded = random.Random(3)
    expected = random.Random(3).random() * 0.5
    _, delays, _ = run_retry(
        [response(429, headers={"Retry-After": "7"}), response(200)],
        respect_retry_after=False, base_delay=0.5, random=seeded.random,
    )
    assert delays == [pytest.approx(expected)]
    _, delays, _ = run_retry(
        [response(429, headers={"Retry-After": "soon"}), response(200)], base_delay=0.5,
        random=lambda: 1.0,
    )
    assert delays == [0.5]


def test_backoff_full_jitter_matches_seeded_random_and_is_capped():
    ex, delays, _ = run_retry(
        [response(503)], max_attempts=8, base_delay=0.1, max_delay=1.0,
        random=random.Random(42).random,
    )
    rnd = random.Random(42)
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert delays == [pytest.approx(rnd.random() * c) for c in ceilings]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert ex.attempts == 8


def test_backoff_bounds_over_many_draws():
    backoff = FullJitterBackoff(base_delay=0.2, max_delay=2.0)
    rnd = random.Random(1)
    for n in range(1, 40):
        ceiling = min(2.0, 0.2 * 2 ** (n - 1))
        assert backoff.ceiling(n) == pytest.approx(ceiling)
        for _ in range(20):
            assert 0.0 <= backoff(n, rnd.random) <= ceiling
    assert backoff(1, lambda: 1.0) == 0.2 and backoff(30, lambda: 1.0) == 2.0
    assert backoff.ceiling(5000) == 2.0  # no overflow


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("  12 ", 12.0), ("0", 0.0), ("-5", 0.0), ("1.5", 1.5),
     ("nonsense", None), ("nan", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 10.0)],
)
def test_parse_retry_after(value, expected):
    import datetime as dt

    now = dt.datetime(2015, 10, 21, 7, 27, 50, tzinfo=dt.timezone.utc).timestamp()
    assert parse_retry_after(value, now) == expected


def test_inner_error_type_is_reset_between_attempts():
    bad = response(200, b"not json", {"Content-Type": "application/json"})
    good = response(200, b'{"a": 1}', {"Content-Type": "application/json"})
    # 503 first, then invalid JSON is not retryable, so: 503 -> bad body -> stop
    ex, _, _ = run_retry([response(503), bad], inner=[JsonBodyMiddleware(required=True)])
    assert ex.error_type == "InvalidJsonResponse" and ex.attempts == 2
    ex, _, _ = run_retry([response(503), good], inner=[JsonBodyMiddleware(required=True)])
    assert ex.ok and ex.error_type is None and ex.parsed_body == {"a": 1}


def test_factory_is_picklable_and_builds():
    import pickle

    factory = RetryFactory(max_attempts=5, retry_status_codes=[500])
    copy = pickle.loads(pickle.dumps(factory))
    assert copy == factory
    mw = copy(MiddlewareContext())
    assert isinstance(mw, RetryMiddleware) and mw.max_attempts == 5
    assert mw.retry_status_codes == {500}
    with pytest.raises(ValueError):
        RetryFactory(max_attempts=0)
