"""Bad input fails before the first request, with a message a user can act on."""

from __future__ import annotations

import pytest

from api_etl.pipeline.errors import ConfigChangedError, InputError
from api_etl.pipeline.runner import run_pipeline

from .conftest import SOURCE_COLUMNS, base_doc, load, source_rows

pytestmark = pytest.mark.spark


@pytest.fixture
def local_doc(tmp_path, api, monkeypatch):
    # No auth and no metrics: these tests need no AWS at all.
    doc = base_doc(api.url, str(tmp_path), metrics={"enabled": False})
    doc["auth"] = {"type": "none"}
    api.update_config({"auth": {"mode": "none"}})
    return doc


def _write_source(spark, doc, rows, columns=SOURCE_COLUMNS):
    spark.createDataFrame(rows, columns).write.mode("overwrite").parquet(doc["source"]["path"])


def _assert_nothing_sent(api):
    assert api.stats()["api_requests"] == 0


def test_missing_columns_are_all_listed(spark, local_doc, api):
    _write_source(spark, local_doc, [("a", 1)], ["tracking_id", "other"])
    with pytest.raises(InputError) as info:
        run_pipeline(spark, load(local_doc), run_id="cols")
    assert "lacks required column(s) ['amount', 'patient_id']" in str(info.value)
    _assert_nothing_sent(api)


def test_a_source_column_named_like_a_staging_column_is_refused(spark, local_doc, api):
    _write_source(spark, local_doc, [("a", "p", 1.0, 7)], ["tracking_id", "patient_id", "amount", "Batch_ID"])
    with pytest.raises(InputError, match=r"has column\(s\) \['Batch_ID'\], whose names the staging step uses"):
        run_pipeline(spark, load(local_doc), run_id="reserved")
    _assert_nothing_sent(api)


def test_null_ids_are_counted(spark, local_doc, api):
    _write_source(spark, local_doc, [*source_rows(5), (None, "p", 1.0), (None, "q", 2.0)])
    with pytest.raises(InputError, match="2 row\\(s\\) of the source have a null id in column 'tracking_id'"):
        run_pipeline(spark, load(local_doc), run_id="nulls")
    _assert_nothing_sent(api)


def test_duplicate_ids_fail_or_keep_first(spark, local_doc, api):
    rows = [*source_rows(5), ("trk-000001", "dup", 9.0), ("trk-000002", "dup", 9.0)]
    _write_source(spark, local_doc, rows)
    with pytest.raises(InputError, match="2 duplicate id\\(s\\) in column 'tracking_id'.*keep_first"):
        run_pipeline(spark, load(local_doc), run_id="dups")
    _assert_nothing_sent(api)

    local_doc["source"]["duplicate_ids"] = "keep_first"
    summary = run_pipeline(spark, load(local_doc), run_id="dups-kept")
    assert summary.rows_total == 5 and summary.rows_succeeded == 5
    assert api.stats()["api_requests"] == 5


def test_unreachable_source(spark, local_doc, api, tmp_path):
    local_doc["source"]["path"] = str(tmp_path / "no-such-folder")
    with pytest.raises(InputError, match="cannot read the source \\(parquet files under .*no-such-folder\\)"):
        run_pipeline(spark, load(local_doc), run_id="nosrc")
    _assert_nothing_sent(api)


def test_config_change_refused_on_resume_unless_forced(spark, local_doc, api):
    _write_source(spark, local_doc, source_rows(20))
    local_doc["execution"]["batch_size"] = 10
    first = run_pipeline(spark, load(local_doc), run_id="hash")
    assert first.rows_total == 20
    sent = api.stats()["api_requests"]

    local_doc["endpoint"]["path"] = "/v1/echo"
    with pytest.raises(ConfigChangedError, match="run hash was started with config hash .* --force-config-change"):
        run_pipeline(spark, load(local_doc), run_id="hash")
    assert api.stats()["api_requests"] == sent

    # Tuning knobs are not part of the hash: a resume may change the rate or concurrency.
    local_doc["endpoint"]["path"] = "/v1/patients"
    local_doc["execution"].update(concurrency=5, max_requests_per_second=100)
    again = run_pipeline(spark, load(local_doc), run_id="hash")
    assert again.batches_skipped == again.batches_total


def test_rate_limit_below_one_request_per_task_is_refused(spark, local_doc, api):
    _write_source(spark, local_doc, source_rows(5))
    local_doc["execution"].update(partitions=2, max_requests_per_second=1.5)
    with pytest.raises(InputError, match="lower than 1 request per second for each of the 2 tasks"):
        run_pipeline(spark, load(local_doc), run_id="slow")
    _assert_nothing_sent(api)
