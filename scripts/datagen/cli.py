"""``python -m datagen``: write N deterministic rows as parquet / JSON lines / CSV.

Prints a JSON summary (files, rows per file, injected bad rows) on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .writers import write_dataset


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m datagen", description="Deterministic test rows for api_etl.")
    p.add_argument("--rows", type=int, required=True, help="number of rows")
    p.add_argument("--format", default="parquet", help="parquet | jsonl | csv (default parquet)")
    p.add_argument(
        "--out",
        required=True,
        help="file (ending in .parquet/.jsonl/.csv, with --files 1) or directory / s3:// prefix for part-NNNNN files",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--files", type=int, default=1, help="number of output files (default 1)")
    p.add_argument("--null-ids", type=int, default=0, help="rows whose tracking_id is null")
    p.add_argument("--duplicate-ids", type=int, default=0, help="rows that repeat another row's tracking_id")
    p.add_argument("--id-prefix", default="TRK", help="tracking_id prefix (default TRK)")
    return p


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    try:
        res = write_dataset(
            ns.out,
            ns.rows,
            ns.format,
            seed=ns.seed,
            files=ns.files,
            null_ids=ns.null_ids,
            duplicate_ids=ns.duplicate_ids,
            id_prefix=ns.id_prefix,
        )
    except ValueError as e:
        print(f"datagen: {e}", file=sys.stderr)
        return 2
    d = res.to_dict()
    d["seconds"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(d))
    return 0
