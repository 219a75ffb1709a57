"""Progress: a live line on a terminal, one log line per batch otherwise."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("api_etl.progress")


class Progress:
    def __init__(self, batches: int, rows: int, stream=None, interactive: bool | None = None):
        self.batches, self.rows = batches, rows
        self.done_batches = self.done_rows = 0
        self.started = time.monotonic()
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive

    def skip(self, batches: int, rows: int) -> None:
        self.batches -= batches
        self.rows -= rows

    def batch_done(self, batch_id: int, rows: int, failed: int, seconds: float) -> None:
        self.done_batches += 1
        self.done_rows += rows
        elapsed = time.monotonic() - self.started
        rate = self.done_rows / elapsed if elapsed > 0 else 0.0
        remaining = max(self.rows - self.done_rows, 0)
        eta = remaining / rate if rate > 0 else float("nan")
        if self.interactive:
            width = 30
            filled = int(width * self.done_batches / max(self.batches, 1))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\r[{bar}] batch {self.done_batches}/{self.batches}  rows {self.done_rows}/{self.rows}"
                f"  {rate:,.0f} rows/s  ETA {eta:,.0f}s "
            )
            self.stream.flush()
        else:
            log.info(
                "batch %d done: %d rows (%d failed) in %.2fs; %d/%d batches, %d/%d rows, %.0f rows/s, ETA %.0fs",
                batch_id, rows, failed, seconds, self.done_batches, self.batches,
                self.done_rows, self.rows, rate, eta,
            )

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
