"""Small JSON objects (manifests, checkpoints) on a local path or under an s3:// prefix.

Spark writes the data; this module writes the few small markers around it. A marker is
written in one PUT (S3) or by an atomic rename (local), so a reader sees it whole or not.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
from typing import Any

from api_etl.aws.s3 import s3_client, split_s3_uri


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


class JsonStore:
    def read(self, uri: str) -> Any | None:
        if is_s3(uri):
            bucket, key = split_s3_uri(uri)
            client = s3_client()
            try:
                body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except client.exceptions.NoSuchKey:
                return None
            return json.loads(body)
        path = pathlib.Path(uri)
        if not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def write(self, uri: str, value: Any) -> None:
        text = json.dumps(value, indent=2, sort_keys=True, default=str)
        if is_s3(uri):
            bucket, key = split_s3_uri(uri)
            s3_client().put_object(
                Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/json"
            )
            return
        path = pathlib.Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)

    def list_names(self, prefix: str, suffix: str = ".json") -> list[str]:
        """Names (not paths) of the objects directly under ``prefix`` ending in ``suffix``."""
        if is_s3(prefix):
            bucket, key = split_s3_uri(prefix.rstrip("/") + "/")
            names = []
            paginator = s3_client().get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=key, Delimiter="/"):
                for item in page.get("Contents", []):
                    name = item["Key"][len(key):]
                    if name.endswith(suffix):
                        names.append(name)
            return sorted(names)
        path = pathlib.Path(prefix)
        if not path.is_dir():
            return []
        return sorted(p.name for p in path.iterdir() if p.name.endswith(suffix))

    def exists_prefix(self, prefix: str) -> bool:
        if is_s3(prefix):
            bucket, key = split_s3_uri(prefix.rstrip("/") + "/")
            resp = s3_client().list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
            return resp.get("KeyCount", 0) > 0
        return pathlib.Path(prefix).exists()

    def delete_prefix(self, prefix: str) -> None:
        if is_s3(prefix):
            bucket, key = split_s3_uri(prefix.rstrip("/") + "/")
            client = s3_client()
            paginator = client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=key):
                objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if objects:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": objects})
            return
        shutil.rmtree(prefix, ignore_errors=True)
