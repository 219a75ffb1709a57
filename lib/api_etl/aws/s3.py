"""Small S3 helpers over boto3 (the emulator is reached through AWS_ENDPOINT_URL)."""

from __future__ import annotations

from urllib.parse import urlparse


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme not in ("s3", "s3a") or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri}")
    return parsed.netloc, parsed.path.lstrip("/")


def s3_client():
    import boto3

    return boto3.client("s3")


def read_s3_text(uri: str) -> str:
    bucket, key = split_s3_uri(uri)
    body = s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8")

