"""The bench scripts import each other by module name (``common``, ``report`` ...): put
``scripts/bench`` on the path for every test here."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
