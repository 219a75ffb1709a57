"""The Glue entry script's own arguments (glue_job/job.py), parsed without Glue or Spark."""

import importlib.util
from pathlib import Path

import pytest

JOB_PY = Path(__file__).resolve().parents[3] / "glue_job" / "job.py"


@pytest.fixture(scope="module")
def job():
    spec = importlib.util.spec_from_file_location("glue_entry_job", JOB_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cluster_slots_from_the_terraform_argument(job):
    argv = ["job.py", "--JOB_NAME", "j", "--config_uri", "s3://b/c.yaml", "--cluster_slots", "36"]
    assert job.resolve_cluster_slots(argv) == 36
    assert job.resolve_cluster_slots(["job.py", "--cluster_slots=8"]) == 8
    assert job.resolve_cluster_slots(["job.py", "--JOB_NAME", "j"]) is None  # deployed without it


@pytest.mark.parametrize("raw", ["0", "-4", "four", "2.5"])
def test_a_bad_cluster_slots_argument_is_named(job, raw):
    with pytest.raises(ValueError, match="--cluster_slots must be a whole number >= 1") as exc:
        job.resolve_cluster_slots(["job.py", "--cluster_slots", raw])
    assert repr(raw) in str(exc.value)


def test_bad_input_exits_2_locally_and_fails_a_glue_run_with_its_message(job, caplog):
    error = ValueError("--cluster_slots must be a whole number >= 1, got 'x'")
    assert job._bad_input(error, local=True) == 2
    assert "--cluster_slots must be" in caplog.text
    with pytest.raises(SystemExit, match=r"^api-etl: --cluster_slots must be a whole number"):
        job._bad_input(error, local=False)
