"""Progress output, and the idle time between batches the summary reports."""

import io
import logging

from api_etl.pipeline.progress import Progress
from api_etl.pipeline.runner import _BatchResult, _idle_between
from api_etl.pipeline.sink import BatchStats


def test_terminal_progress_bar_shows_batches_rows_rate_and_eta():
    out = io.StringIO()
    progress = Progress(batches=4, rows=400, stream=out, interactive=True)
    progress.skip(1, 100)
    progress.batch_done(1, rows=100, failed=0, seconds=1.0)
    progress.close()
    text = out.getvalue()
    assert "batch 1/3" in text and "rows 100/300" in text and "rows/s" in text and "ETA" in text


def test_non_terminal_logs_one_line_per_batch(caplog):
    progress = Progress(batches=2, rows=20, stream=io.StringIO(), interactive=False)
    with caplog.at_level(logging.INFO, logger="api_etl.progress"):
        progress.batch_done(0, rows=10, failed=1, seconds=0.5)
        progress.batch_done(1, rows=10, failed=0, seconds=0.5)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and lines[0].startswith("batch 0 done: 10 rows (1 failed)")


def _result(batch, start, end):
    stats = BatchStats(first_started_at=f"2026-01-01T00:00:{start:02d}", last_finished_at=f"2026-01-01T00:00:{end:02d}")
    return _BatchResult(batch, stats, 1.0)


def test_idle_counts_only_gaps_when_no_batch_was_sending():
    # Batches 0 and 1 overlap (pipelined): no idle; a 3 s gap before batch 2.
    results = [_result(1, 4, 9), _result(0, 0, 5), _result(2, 12, 15)]
    assert _idle_between(results) == 3.0
