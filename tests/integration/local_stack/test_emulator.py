"""localstack.emulator: start on 127.0.0.1, port and PID files, stop by PID within a bounded time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from localstack import emulator

REPO = Path(__file__).resolve().parents[3]


def _alive(pid: int) -> bool:
    return emulator._pid_alive(pid)


@pytest.mark.parametrize("tls", [False, True])
def test_start_serves_on_loopback_and_stop_ends_the_process(tmp_path, tls):
    moto = emulator.start(tmp_path, tls=tls)
    try:
        assert moto.url == f"{'https' if tls else 'http'}://127.0.0.1:{moto.port}"
        assert (tmp_path / "moto.port").read_text().strip() == str(moto.port)
        assert (tmp_path / "moto.pid").read_text().strip() == str(moto.pid)
        env = moto.env()
        assert env["AWS_ENDPOINT_URL"] == moto.url
        assert ("AWS_CA_BUNDLE" in env) == tls and ("PYSPARK_SUBMIT_ARGS" in env) == tls
        s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1", aws_access_key_id="t",
                          aws_secret_access_key="t", verify=env.get("AWS_CA_BUNDLE", True))
        s3.create_bucket(Bucket="emulator-probe")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["emulator-probe"]
        found = emulator.find(tmp_path)
        assert (found.pid, found.port, found.tls) == (moto.pid, moto.port, tls)
        with pytest.raises(emulator.EmulatorError, match="already running"):
            emulator.start(tmp_path, tls=tls)
        assert emulator.start(tmp_path, tls=tls, reuse=True).pid == moto.pid
    finally:
        t0 = time.monotonic()
        assert emulator.stop(tmp_path, timeout=10) is True
    assert time.monotonic() - t0 < 10
    assert not _alive(moto.pid)
    assert not (tmp_path / "moto.pid").exists() and not (tmp_path / "moto.port").exists()
    assert emulator.find(tmp_path) is None
    assert emulator.stop(tmp_path) is False  # nothing left to stop


def test_a_pid_file_naming_another_process_is_never_signalled(tmp_path):
    # A stale PID file whose PID now belongs to an unrelated process (here: a sleep we own).
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "moto.pid").write_text(f"{other.pid}\n")
        (tmp_path / "moto.port").write_text("1\n")
        assert emulator.find(tmp_path) is None
        assert emulator.stop(tmp_path) is False
        assert other.poll() is None  # still running
        assert not (tmp_path / "moto.pid").exists()  # the stale files are cleaned up
    finally:
        other.kill()
        other.wait(5)


def test_cli_start_status_env_stop(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "localstack.emulator", *args, "--state-dir", str(tmp_path)],
                              capture_output=True, text=True, timeout=60, cwd=str(REPO))

    started = cli("start", "--no-tls")
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip()
    assert url.startswith("http://127.0.0.1:")
    try:
        assert cli("status").stdout.strip().startswith(f"running: {url} (pid ")
        assert f"export AWS_ENDPOINT_URL={url}" in cli("env").stdout.splitlines()
    finally:
        assert cli("stop").stdout.strip() == "stopped"
    status = cli("status")
    assert status.returncode == 1 and "no emulator running" in status.stderr


def test_start_failure_reports_the_log(tmp_path):
    # A port already taken: the server process exits and start() says why.
    moto = emulator.start(tmp_path / "first", tls=False)
    try:
        with pytest.raises(emulator.EmulatorError, match=r"did not start.*Address already in use|did not start"):
            emulator.start(tmp_path / "second", port=moto.port, tls=False, timeout=15)
        assert not (tmp_path / "second" / "moto.pid").exists()
    finally:
        moto.stop()
