"""Once-per-process setup of a Spark Python worker that makes each task start sooner.

PySpark's worker calls ``importlib.invalidate_caches()`` at the start of every task. On
Python 3.10 and 3.11 that makes every ``zipimporter`` on ``sys.path`` re-read its whole
archive directory at once (CPython gh-103200, fixed lazily in 3.12); the workers import
PySpark itself from ``pyspark.zip`` and ``py4j-*.zip``, so each task spent 0.13-0.25 s of CPU
there before our function was called (measured on the bench; Glue 5 runs Python 3.11).
Spark itself calls it only when needed from SPARK-54744 on.

:func:`skip_unchanged_zip_rereads` keeps the re-read, but only for an archive whose size or
modification time changed since this importer last read it, so the cache still notices a
changed zip. Set ``API_ETL_KEEP_ZIPIMPORT=1`` to leave ``zipimport`` untouched.
"""

from __future__ import annotations

import os
import sys
import zipimport

_MARK = "_api_etl_skips_unchanged"
_STAMP = "_api_etl_archive_stamp"


def _stamp(archive: str) -> tuple[int, int] | None:
    try:
        st = os.stat(archive)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def skip_unchanged_zip_rereads() -> bool:
    """Make ``zipimporter.invalidate_caches`` skip unchanged archives; True if it now does.

    Idempotent; does nothing on Python 3.12+ (already lazy) or when switched off.
    """
    if sys.version_info >= (3, 12) or os.environ.get("API_ETL_KEEP_ZIPIMPORT") == "1":
        return False
    current = zipimport.zipimporter.invalidate_caches
    if getattr(current, _MARK, False):
        return True

    def invalidate_caches(self: zipimport.zipimporter) -> None:
        stamp = _stamp(self.archive)
        # The first call per importer re-reads (no stamp yet): it may predate this patch.
        if stamp is not None and getattr(self, _STAMP, None) == stamp:
            return
        current(self)
        setattr(self, _STAMP, stamp)

    setattr(invalidate_caches, _MARK, True)
    invalidate_caches.__doc__ = current.__doc__
    zipimport.zipimporter.invalidate_caches = invalidate_caches  # type: ignore[method-assign]
    return True
