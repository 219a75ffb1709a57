"""The collector's generation-0 threshold while partitions run, and after."""

from __future__ import annotations

import gc

import pytest

from api_etl.engine import gc_threshold
from api_etl.engine.gc_threshold import (
    DEFAULT_GEN0_THRESHOLD,
    GEN0_THRESHOLD_ENV,
    gen0_threshold,
    raised_gen0_threshold,
)
from api_etl.engine.partition import PartitionEngine
from api_etl.engine.plan import WorkerPlan
from api_etl.engine.request_builder import RequestTemplate
from api_etl.transport.process_scope import ProcessScope
from tests.unit.engine.fakes import EchoTransportFactory


@pytest.fixture(autouse=True)
def interpreter_thresholds(monkeypatch):
    """Each test starts from the interpreter's defaults and leaves them as they were."""
    monkeypatch.delenv(GEN0_THRESHOLD_ENV, raising=False)
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)
    assert gc_threshold._users == 0


def test_raised_inside_the_block_and_restored_after():
    with raised_gen0_threshold():
        assert gc.get_threshold() == (DEFAULT_GEN0_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_restored_even_when_the_block_raises():
    with pytest.raises(RuntimeError), raised_gen0_threshold(5_000):
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)


def test_overlapping_blocks_restore_when_the_last_one_ends():
    first = raised_gen0_threshold(5_000)
    second = raised_gen0_threshold(5_000)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == 5_000  # the second block still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)


def test_never_lowers_a_threshold_already_higher():
    gc.set_threshold(50_000, 10, 10)
    with raised_gen0_threshold(5_000):
        assert gc.get_threshold()[0] == 50_000
    assert gc.get_threshold()[0] == 50_000


def test_environment_sets_the_threshold_and_zero_leaves_the_interpreter_alone(monkeypatch):
    monkeypatch.setenv(GEN0_THRESHOLD_ENV, "3000")
    assert gen0_threshold() == 3000
    with raised_gen0_threshold():
        assert gc.get_threshold()[0] == 3000
    monkeypatch.setenv(GEN0_THRESHOLD_ENV, "0")
    with raised_gen0_threshold():
        assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("bad", ["-5", "lots", "1.5"])
def test_a_bad_environment_value_is_named(monkeypatch, bad):
    monkeypatch.setenv(GEN0_THRESHOLD_ENV, bad)
    with pytest.raises(ValueError, match=GEN0_THRESHOLD_ENV):
        gen0_threshold()


def test_the_engine_runs_rows_with_the_raised_threshold_then_restores_it():
    seen = []

    def rows(n):
        for i in range(n):
            seen.append(gc.get_threshold()[0])  # read while the partition runs
            yield {"id": i}

    plan = WorkerPlan(template=RequestTemplate("GET", "https://api.example.com", "/items/{id}", id_column="id"),
                      transport_factory=EchoTransportFactory(), run_id="run-1", batch_id=1)
    scope = ProcessScope()
    try:
        records = list(PartitionEngine(plan, scope=scope).run(rows(30)))
    finally:
        scope.close()
    assert len(records) == 30
    assert seen == [DEFAULT_GEN0_THRESHOLD] * 30
    assert gc.get_threshold() == (700, 10, 10)


def test_an_engine_closed_early_restores_the_threshold():
    plan = WorkerPlan(template=RequestTemplate("GET", "https://api.example.com", "/items/{id}", id_column="id"),
                      transport_factory=EchoTransportFactory(), run_id="run-1", batch_id=1)
    scope = ProcessScope()
    try:
        records = PartitionEngine(plan, scope=scope).run({"id": i} for i in range(100))
        next(records)
        assert gc.get_threshold()[0] == DEFAULT_GEN0_THRESHOLD
        records.close()  # Spark stopping the task, take(n)
    finally:
        scope.close()
    assert gc.get_threshold() == (700, 10, 10)
