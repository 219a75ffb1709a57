"""Where a run keeps its state and results: one place that knows every path.

    <checkpoint>/run_id=R/manifest.json                      run: config hash, source, rows
    <checkpoint>/run_id=R/retry_round=K/manifest.json            round_no: rows, batches (staged)
    <checkpoint>/run_id=R/retry_round=K/staged/batch_id=N/       the round's rows, staged once
    <checkpoint>/run_id=R/retry_round=K/batches/batch_id=N.json  written after N's data is in
    <sink>/run_id=R/retry_round=K/batch_id=N/                    bronze records of batch N
    <dead_letter>/run_id=R/retry_round=K/batch_id=N/             failed rows + their source row
Round 0 is the first pass over the source; ``--retry-failed`` adds rounds 1, 2, ... (``retry_round`` is a pass over rows; a record's ``attempts`` counts HTTP attempts within one pass).
"""

from __future__ import annotations

import dataclasses

from api_etl.pipeline.storage import join


@dataclasses.dataclass(frozen=True)
class RunLayout:
    checkpoint_root: str
    sink_root: str
    dead_letter_root: str
    run_id: str

    @property
    def run_dir(self) -> str:
        return join(self.checkpoint_root, f"run_id={self.run_id}")

    @property
    def run_manifest(self) -> str:
        return join(self.run_dir, "manifest.json")

    def round_dir(self, round_no: int) -> str:
        return join(self.run_dir, f"retry_round={round_no}")

    def round_manifest(self, round_no: int) -> str:
        return join(self.round_dir(round_no), "manifest.json")

    def staged(self, round_no: int) -> str:
        return join(self.round_dir(round_no), "staged")

    def checkpoints_dir(self, round_no: int) -> str:
        return join(self.round_dir(round_no), "batches")

    def checkpoint(self, round_no: int, batch_id: int) -> str:
        return join(self.checkpoints_dir(round_no), checkpoint_name(batch_id))

    def sink_run(self) -> str:
        return join(self.sink_root, f"run_id={self.run_id}")

    def sink_slot(self, round_no: int, batch_id: int) -> str:
        return join(self.sink_run(), f"retry_round={round_no}", f"batch_id={batch_id}")

    def dead_letter_slot(self, round_no: int, batch_id: int) -> str:
        return join(self.dead_letter_root, f"run_id={self.run_id}", f"retry_round={round_no}", f"batch_id={batch_id}")


def checkpoint_name(batch_id: int) -> str:
    return f"batch_id={batch_id:06d}.json"


def batch_of_checkpoint(name: str) -> int:
    return int(name.removeprefix("batch_id=").removesuffix(".json"))
