"""scripts/bench/engine_layers.py: the in-memory engine run and the report."""

from __future__ import annotations

import engine_layers
import pytest


def test_in_memory_engine_answers_every_row_without_the_network(tmp_path):
    # Port 9 (discard) is never listened on here: a row that reached the network would fail,
    # and engine_loop raises on any failed or missing record.
    cpu = engine_layers.engine_loop("http://127.0.0.1:9", 300, str(tmp_path), middleware=None, canned=True)
    assert cpu >= 0


def test_engine_loop_refuses_a_run_with_failed_rows(tmp_path):
    with pytest.raises(RuntimeError, match="failed"):
        engine_layers.engine_loop("http://127.0.0.1:9", 5, str(tmp_path), middleware=[], canned=False)


def test_report_gives_each_layer_against_the_ceiling_of_the_same_run():
    results = {"ceiling: bare aiohttp loop": [0.16, 0.14, 0.15], "engine, no middleware": [0.3, 0.33, 0.27]}
    text = engine_layers.render(results, rows=1000, repeats=3)
    assert "| ceiling: bare aiohttp loop | 0.1500 | 1.00 | 0.1400 | 1.00 |" in text
    # median 0.30 / 0.15; minimum 0.27 / 0.14
    assert "| engine, no middleware | 0.3000 | 2.00 | 0.2700 | 1.93 | 0.3000, 0.3300, 0.2700 |" in text
    assert "3 runs of each" in text


def test_worker_loop_turns_every_row_into_arrow_batches_and_counts_them(tmp_path):
    # 25,000 rows: three input batches, 25 output batches; worker_loop raises unless every
    # row comes out and is counted as succeeded.
    cpu = engine_layers.worker_loop("http://127.0.0.1:9", 25_000, str(tmp_path), canned=True)
    assert cpu > 0


def test_worker_loop_refuses_a_run_with_failed_rows(tmp_path):
    with pytest.raises(RuntimeError, match="succeeded"):
        engine_layers.worker_loop("http://127.0.0.1:9", 5, str(tmp_path))
