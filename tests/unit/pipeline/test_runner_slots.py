"""The task slots a run plans with: Spark's count, or the deployment's declared slots."""

import logging

import pytest

from api_etl.pipeline.errors import InputError
from api_etl.pipeline.runner import _cluster_parallelism


def test_the_run_plans_with_the_larger_of_sparks_and_the_deployments_slots(caplog):
    with caplog.at_level(logging.INFO, logger="api_etl.pipeline.runner"):
        assert _cluster_parallelism(2, 36) == 36
    assert "Spark reports 2 task slot(s) so far; the deployment declares 36" in caplog.text
    assert _cluster_parallelism(40, 36) == 40  # Spark sees more: it wins
    assert _cluster_parallelism(8, None) == 8
    for bad in (0, -1, True, 2.5):
        with pytest.raises(InputError, match="cluster_slots"):
            _cluster_parallelism(8, bad)
