"""The run summary: what a user reads at the end, and what --summary-json writes."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from api_etl.engine.rate_limiter import mean_wait_ms


@dataclasses.dataclass
class RunSummary:
    run_id: str
    attempt: int = 0
    rows_total: int = 0
    rows_succeeded: int = 0
    rows_failed: int = 0
    rows_skipped: int = 0  # rows of batches already checkpointed by an earlier invocation
    batches_total: int = 0
    batches_done: int = 0  # processed by this invocation
    batches_skipped: int = 0  # already checkpointed, not sent again
    requests_sent: int = 0
    retries: int = 0
    throttled: int = 0
    rate_limited_requests: int = 0  # see BatchStats: zero without a rate limit
    rate_limit_wait_seconds: float = 0.0
    rate_limit_late_slots: int = 0
    status_histogram: dict[str, int] = dataclasses.field(default_factory=dict)
    error_histogram: dict[str, int] = dataclasses.field(default_factory=dict)
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    duration_seconds: float = 0.0
    requests_per_second: float = 0.0
    inter_batch_idle_seconds: float = 0.0
    run_failed_rows: int = 0  # rows of the whole run whose latest outcome failed
    run_rows: int = 0
    policy_met: bool = True
    stop_reason: str | None = None
    sink_path: str = ""
    dead_letter_path: str = ""
    checkpoint_path: str = ""
    config_hash: str = ""
    metrics_published: int = 0
    metrics_failures: int = 0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def render(self) -> str:
        def ms(v):
            return "n/a" if v is None else f"{v:.1f} ms"

        status = "MET" if self.policy_met else "NOT MET"
        lines = [
            f"run {self.run_id} (attempt {self.attempt}) - failure policy {status}"
            + (f": {self.stop_reason}" if self.stop_reason else ""),
            f"  rows      total {self.rows_total}  succeeded {self.rows_succeeded}  failed {self.rows_failed}"
            f"  skipped (already done) {self.rows_skipped}",
            f"  batches   total {self.batches_total}  done now {self.batches_done}  skipped {self.batches_skipped}",
            f"  requests  sent {self.requests_sent}  retries {self.retries}  throttled {self.throttled}"
            f"  rate {self.requests_per_second:.1f}/s over {self.duration_seconds:.1f} s",
            f"  latency   p50 {ms(self.latency_p50_ms)}  p95 {ms(self.latency_p95_ms)}  p99 {ms(self.latency_p99_ms)}",
            f"  statuses  {dict(sorted(self.status_histogram.items()))}",
        ]
        mean_ms = mean_wait_ms(self.rate_limit_wait_seconds, self.rate_limited_requests)
        if mean_ms is not None:
            late = self.rate_limit_late_slots / self.rate_limited_requests
            lines.append(f"  rate limit  mean wait {mean_ms:.1f} ms per request; {self.rate_limit_late_slots} slots given up"
                         f" ({late:.1%}) by workers too busy to send on time")
        if self.error_histogram:
            lines.append(f"  errors    {dict(sorted(self.error_histogram.items()))}")
        lines.append(f"  sink      {self.sink_path}")
        lines.append(f"  dead-letter {self.dead_letter_path}")
        return "\n".join(lines)
