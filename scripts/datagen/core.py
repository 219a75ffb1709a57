"""Deterministic synthetic rows, generated in fixed-size blocks (columnar, streaming).

Row ``i`` depends only on ``(seed, i)``: block ``b = i // BLOCK_ROWS`` draws from
``random.Random(f"datagen:{seed}:{b}")`` in row order, so the same rows come out whatever
the number of output files or the format. Nothing holds more than one block in memory.

Columns (see ``COLUMNS``): ``tracking_id`` (unique string ``<prefix>-<i:010d>``, the row id),
``patient_id``, ``first_name``, ``last_name``, ``email``, ``birth_date`` (date),
``amount`` (float, 2 decimals), ``country`` (ISO 3166 alpha-2), ``created_at``
(UTC timestamp, microseconds).

Bad rows for tests: ``null_ids`` rows get a null ``tracking_id``; ``duplicate_ids`` rows get
the ``tracking_id`` of another (untouched) row, so exactly that many ids occur twice.
Their positions are drawn from the seed too.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

BLOCK_ROWS = 50_000

COLUMNS = (
    "tracking_id",
    "patient_id",
    "first_name",
    "last_name",
    "email",
    "birth_date",
    "amount",
    "country",
    "created_at",
)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Mateo",
    "Isabella", "Lucas", "Mia", "Levi", "Charlotte", "Asher", "Harper", "James", "Evelyn", "Leo",
    "Aisha", "Wei", "Yuki", "Priya", "Kwame", "Ines", "Omar", "Sofia", "Hiro", "Zara",
    "Lena", "Ravi", "Nia", "Mikhail", "Chloe", "Diego", "Fatima", "Jonas", "Maya", "Tariq",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Okafor", "Tanaka", "Novak", "Silva", "Khan", "Muller", "Rossi", "Kowalski",
    "Nguyen", "Haddad", "Ivanova", "Fischer", "Dubois", "Costa", "Sato", "Mensah", "Berg",
    "Larsen", "Popescu", "Singh",
)
DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "test.example")
# Weighted: most rows US/GB/DE, some of the rest.
COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "JP", "BR", "IN", "NL", "ES", "IT", "SE", "NG", "MX")
COUNTRY_WEIGHTS = (30, 12, 10, 8, 7, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2)
_COUNTRY_CUM = []
_acc = 0
for _w in COUNTRY_WEIGHTS:
    _acc += _w
    _COUNTRY_CUM.append(_acc)
_COUNTRY_TOTAL = _acc

EPOCH_DATE = date(1970, 1, 1)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_BIRTH_START = (date(1940, 1, 1) - EPOCH_DATE).days
_BIRTH_SPAN = (date(2007, 12, 31) - date(1940, 1, 1)).days
_CREATED_START_US = int((datetime(2025, 1, 1, tzinfo=timezone.utc) - EPOCH).total_seconds()) * 1_000_000
_CREATED_SPAN_US = 365 * 86_400 * 1_000_000


@dataclass(frozen=True)
class BadRows:
    """Positions of injected bad rows (row index -> what)."""

    null_id_rows: frozenset[int] = frozenset()
    duplicate_of: dict[int, int] = field(default_factory=dict)  # target row -> source row

    @classmethod
    def plan(cls, rows: int, seed: int, null_ids: int = 0, duplicate_ids: int = 0) -> BadRows:
        if null_ids < 0 or duplicate_ids < 0:
            raise ValueError("null_ids and duplicate_ids must be >= 0")
        need = null_ids + 2 * duplicate_ids
        if need == 0:
            return cls()
        if need > rows:
            raise ValueError(f"{rows} rows are too few for {null_ids} null ids and {duplicate_ids} duplicate ids")
        pos = random.Random(f"datagen-bad:{seed}").sample(range(rows), need)
        nulls = frozenset(pos[:null_ids])
        targets = pos[null_ids : null_ids + duplicate_ids]
        sources = pos[null_ids + duplicate_ids :]
        return cls(nulls, dict(zip(targets, sources)))

    @property
    def empty(self) -> bool:
        return not self.null_id_rows and not self.duplicate_of


def tracking_id(i: int, prefix: str = "TRK") -> str:
    return f"{prefix}-{i:010d}"


def generate_block(seed: int, block: int, id_prefix: str = "TRK") -> dict[str, list[Any]]:
    """All rows of one block, columnar. ``birth_date`` as days since 1970-01-01 (int),
    ``created_at`` as microseconds since the epoch, UTC (int)."""
    rng = random.Random(f"datagen:{seed}:{block}")
    rand = rng.random
    getrandbits = rng.getrandbits
    lognorm = rng.lognormvariate
    start = block * BLOCK_ROWS
    n = BLOCK_ROWS
    nf, nl, nd = len(FIRST_NAMES), len(LAST_NAMES), len(DOMAINS)
    ids, pids, firsts, lasts, emails, births, amounts, countries, created = ([] for _ in range(9))
    cum = _COUNTRY_CUM
    for k in range(n):
        i = start + k
        ids.append(f"{id_prefix}-{i:010d}")
        pids.append("PAT-%08d" % (getrandbits(32) % 100_000_000))
        f = FIRST_NAMES[int(rand() * nf)]
        last = LAST_NAMES[int(rand() * nl)]
        firsts.append(f)
        lasts.append(last)
        emails.append(f"{f}.{last}{i % 10_000}@{DOMAINS[int(rand() * nd)]}".lower())
        births.append(_BIRTH_START + int(rand() * _BIRTH_SPAN))
        amounts.append(round(lognorm(4.0, 1.0), 2))
        r = int(rand() * _COUNTRY_TOTAL)
        c = 0
        while cum[c] <= r:
            c += 1
        countries.append(COUNTRIES[c])
        created.append(_CREATED_START_US + int(rand() * _CREATED_SPAN_US))
    return {
        "tracking_id": ids,
        "patient_id": pids,
        "first_name": firsts,
        "last_name": lasts,
        "email": emails,
        "birth_date": births,
        "amount": amounts,
        "country": countries,
        "created_at": created,
    }


def iter_chunks(
    rows: int,
    seed: int = 0,
    *,
    bad: BadRows | None = None,
    id_prefix: str = "TRK",
) -> Iterator[dict[str, list[Any]]]:
    """Columnar chunks (at most ``BLOCK_ROWS`` rows each) of rows ``0 .. rows-1``."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    bad = bad or BadRows()
    nblocks = (rows + BLOCK_ROWS - 1) // BLOCK_ROWS
    for b in range(nblocks):
        cols = generate_block(seed, b, id_prefix)
        start = b * BLOCK_ROWS
        stop = min(rows, start + BLOCK_ROWS)
        if stop - start < BLOCK_ROWS:
            cols = {k: v[: stop - start] for k, v in cols.items()}
        if not bad.empty:
            ids = cols["tracking_id"]
            for i in bad.null_id_rows:
                if start <= i < stop:
                    ids[i - start] = None
            for i, src in bad.duplicate_of.items():
                if start <= i < stop:
                    ids[i - start] = tracking_id(src, id_prefix)
        yield cols


def days_to_date(days: int) -> date:
    return EPOCH_DATE + timedelta(days=days)


def micros_to_datetime(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def iter_rows(rows: int, seed: int = 0, **kw: Any) -> Iterator[dict[str, Any]]:
    """Row dicts with Python types (date, datetime) - convenient for small tests."""
    for cols in iter_chunks(rows, seed, **kw):
        n = len(cols["tracking_id"])
        for k in range(n):
            row = {c: cols[c][k] for c in COLUMNS}
            row["birth_date"] = days_to_date(row["birth_date"])
            row["created_at"] = micros_to_datetime(row["created_at"])
            yield row
