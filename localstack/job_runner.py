"""Run the real Glue entry script (``glue_job/job.py``) locally, in a subprocess.

The script goes through ``awsglue.utils.getResolvedOptions`` exactly as on Glue; with
``API_ETL_LOCAL=1`` it builds a local SparkSession whose S3A points at ``AWS_ENDPOINT_URL``
(the emulator) instead of a GlueContext. Used by ``make demo`` and the local-stack tests.

The child gets its own process group; on timeout (or when the caller is interrupted) the
group led by that PID is sent SIGTERM, then SIGKILL after a bounded wait, so the Spark JVM
the script started goes with it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GLUE_ENTRY = REPO_ROOT / "glue_job" / "job.py"


@dataclasses.dataclass
class JobRun:
    returncode: int | None
    summary: dict | None
    seconds: float
    log_path: Path
    stdout_path: Path
    timed_out: bool = False

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def parse_summary(stdout: str) -> dict | None:
    """The run summary JSON the entry script prints last on stdout (indented, multi-line)."""
    lines = stdout.splitlines()
    for start in range(len(lines)):
        if lines[start].strip() == "{":
            try:
                return json.loads("\n".join(lines[start:]))
            except ValueError:
                continue
    return None


def _stop_group(popen: subprocess.Popen, timeout: float = 10.0) -> None:
    if popen.poll() is not None:
        return
    try:
        os.killpg(popen.pid, signal.SIGTERM)  # the group this module created for the child
    except ProcessLookupError:
        return
    try:
        popen.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        popen.wait(5)


def run_glue_job(
    config_uri: str,
    *,
    job_name: str,
    workdir: Path,
    run_id: str | None = None,
    env: Mapping[str, str] | None = None,
    master: str = "local[2]",
    timeout: float = 300.0,
    label: str = "job",
    on_log_line: Callable[[str], None] | None = None,
    python: str | None = None,
    cluster_slots: int | None = None,
) -> JobRun:
    """Run the entry script to completion (at most ``timeout`` s) and return its outcome.

    ``env`` is added to this process's environment (the emulator's endpoint and credentials,
    MOCK_API_URL, ...). stderr (logs) goes to ``<workdir>/<label>.log``; each new line is passed
    to ``on_log_line`` while the job runs. stdout goes to ``<workdir>/<label>.stdout``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log_path, stdout_path = workdir / f"{label}.log", workdir / f"{label}.stdout"
    cmd = [python or sys.executable, str(GLUE_ENTRY), "--JOB_NAME", job_name, "--config_uri", config_uri]
    if run_id:
        cmd += ["--run_id", run_id]
    if cluster_slots is not None:  # what the Terraform module passes on Glue
        cmd += ["--cluster_slots", str(cluster_slots)]
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env.update({
        "API_ETL_LOCAL": "1",
        "API_ETL_SPARK_MASTER": master,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": python or sys.executable,
        "PYTHONUNBUFFERED": "1",
    })
    started = time.monotonic()
    timed_out = False
    with open(log_path, "wb") as log, open(stdout_path, "wb") as out:
        popen = subprocess.Popen(
            cmd, cwd=str(REPO_ROOT), env=child_env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=log, start_new_session=True,
        )
    try:
        offset = 0
        deadline = started + timeout
        while True:
            finished = popen.poll() is not None
            if on_log_line is not None:
                offset = _follow(log_path, offset, on_log_line, final=finished)
            if finished:
                break
            if time.monotonic() > deadline:
                timed_out = True
                break
            time.sleep(0.25)
    finally:
        _stop_group(popen)  # no-op when it already exited
    stdout = stdout_path.read_text(encoding="utf-8", errors="replace")
    return JobRun(
        returncode=None if timed_out else popen.returncode, summary=parse_summary(stdout),
        seconds=round(time.monotonic() - started, 1), log_path=log_path, stdout_path=stdout_path,
        timed_out=timed_out,
    )


def _follow(path: Path, offset: int, callback: Callable[[str], None], final: bool) -> int:
    """Pass complete new lines of ``path`` after ``offset`` to ``callback``; return the new offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return offset
    end = len(data) if final else data.rfind(b"\n") + 1
    for line in data[:end].decode("utf-8", errors="replace").splitlines():
        callback(line)
    return offset + end
