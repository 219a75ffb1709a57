"""Markers (manifests, checkpoints) on local disk and S3."""

import boto3
from moto import mock_aws

from api_etl.pipeline.layout import RunLayout, batch_of_checkpoint, checkpoint_name
from api_etl.pipeline.storage import JsonStore


def test_local_round_trip_and_listing(tmp_path):
    store = JsonStore()
    layout = RunLayout(str(tmp_path / "ck"), str(tmp_path / "sink"), str(tmp_path / "dl"), "r1")
    assert store.read(layout.run_manifest) is None
    for batch in (2, 0, 10):
        store.write(layout.checkpoint(0, batch), {"batch_id": batch})
    names = store.list_names(layout.checkpoints_dir(0))
    assert [batch_of_checkpoint(n) for n in names] == [0, 2, 10]
    assert store.read(layout.checkpoint(0, 10)) == {"batch_id": 10}
    assert not list((tmp_path / "ck").rglob(".tmp-*"))  # atomic writes leave no temp files


def test_s3_round_trip_listing_and_delete(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="ckpt-bucket")
        store = JsonStore()
        layout = RunLayout("s3://ckpt-bucket/ck", "s3://ckpt-bucket/sink", "s3://ckpt-bucket/dl", "r1")
        store.write(layout.checkpoint(1, 3), {"rows": 5})
        assert store.read(layout.checkpoint(1, 3)) == {"rows": 5}
        assert store.list_names(layout.checkpoints_dir(1)) == [checkpoint_name(3)]
        assert store.exists_prefix(layout.run_dir)
        store.delete_prefix(layout.run_dir)
        assert not store.exists_prefix(layout.run_dir)
        assert store.read(layout.checkpoint(1, 3)) is None
