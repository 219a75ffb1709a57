"""The worker's zipimport patch: unchanged archives are not re-read per task, changed ones are."""

from __future__ import annotations

import importlib
import os
import sys
import zipfile
import zipimport

import pytest

from api_etl.engine import worker_startup

pytestmark = pytest.mark.skipif(sys.version_info >= (3, 12), reason="zipimport is lazy from Python 3.12 on")


@pytest.fixture
def patched(monkeypatch):
    # monkeypatch puts the original method back after the test.
    monkeypatch.setattr(zipimport.zipimporter, "invalidate_caches", zipimport.zipimporter.invalidate_caches)
    monkeypatch.delenv("API_ETL_KEEP_ZIPIMPORT", raising=False)
    assert worker_startup.skip_unchanged_zip_rereads() is True
    reads = []
    original = zipimport._read_directory

    def counting(archive):
        reads.append(archive)
        return original(archive)

    monkeypatch.setattr(zipimport, "_read_directory", counting)
    return reads


def _zip(path, modules: dict[str, str]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, source in modules.items():
            zf.writestr(f"{name}.py", source)
    return str(path)


def test_an_unchanged_archive_is_read_once_then_skipped(tmp_path, patched):
    importer = zipimport.zipimporter(_zip(tmp_path / "a.zip", {"alpha": "X = 1\n"}))
    patched.clear()
    for _ in range(5):
        importer.invalidate_caches()
    assert len(patched) == 1  # the first call re-reads (its stamp is unknown), the rest skip


def test_a_changed_archive_is_re_read_and_its_new_module_imports(tmp_path, patched, monkeypatch):
    archive = _zip(tmp_path / "b.zip", {"api_etl_zip_probe_one": "X = 1\n"})
    monkeypatch.syspath_prepend(archive)
    importlib.invalidate_caches()
    assert importlib.import_module("api_etl_zip_probe_one").X == 1
    importlib.invalidate_caches()  # as at a task's start: the importer now knows the archive
    _zip(tmp_path / "b.zip", {"api_etl_zip_probe_one": "X = 1\n", "api_etl_zip_probe_two": "Y = 2\n"})
    os.utime(archive, ns=(1, 1))  # a new mtime even on a coarse-clock filesystem
    importlib.invalidate_caches()
    try:
        assert importlib.import_module("api_etl_zip_probe_two").Y == 2
    finally:
        for name in ("api_etl_zip_probe_one", "api_etl_zip_probe_two"):
            sys.modules.pop(name, None)


def test_applying_twice_wraps_once(patched):
    method = zipimport.zipimporter.invalidate_caches
    assert worker_startup.skip_unchanged_zip_rereads() is True
    assert zipimport.zipimporter.invalidate_caches is method


def test_the_switch_leaves_zipimport_alone(monkeypatch):
    monkeypatch.setattr(zipimport.zipimporter, "invalidate_caches", zipimport.zipimporter.invalidate_caches)
    method = zipimport.zipimporter.invalidate_caches
    monkeypatch.setenv("API_ETL_KEEP_ZIPIMPORT", "1")
    assert worker_startup.skip_unchanged_zip_rereads() is False
    assert zipimport.zipimporter.invalidate_caches is method
