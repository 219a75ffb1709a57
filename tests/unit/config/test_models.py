"""Validation catches what a user would otherwise discover mid-run."""

import pytest

from api_etl.config import ConfigError, validate_document
from api_etl.config.loader import parse_document


def _doc(**sections):
    doc = {
        "source": {"path": "/data/in", "id_column": "id", "required_columns": ["customer"]},
        "sink": {"path": "/data/out"},
        "endpoint": {"base_url": "https://api.example.com", "path": "/customers/{customer}"},
    }
    doc.update(sections)
    return doc


def _errors(doc, text=None):
    lines = parse_document(text, "c.yaml")[1] if text else None
    with pytest.raises(ConfigError) as info:
        validate_document(doc, "c.yaml", resolve_secrets=False, lines=lines)
    return info.value.issues


def test_defaults():
    cfg = validate_document(_doc(), "c", resolve_secrets=False).config
    assert cfg.execution.batch_size == "auto"
    assert cfg.execution.rows_per_batch(parallelism=2) == 20_000  # no rate: 2 tasks x 20 x 500
    assert cfg.execution.concurrency == 20
    assert cfg.auth.type == "none"
    assert cfg.sink.dead_letter == "/data/out_dead_letter"
    assert cfg.failure_policy.circuit_breaker.enabled


def test_unknown_keys_and_wrong_types_name_the_path():
    issues = _errors(_doc(execution={"batch_size": "10", "parallel": 3}))
    paths = {i.path: i.message for i in issues}
    assert "execution.batch_size" in paths and "integer" in paths["execution.batch_size"]
    assert paths["execution.parallel"] == "unknown field (not allowed here)"


def test_placeholder_naming_an_undeclared_column():
    doc = _doc()
    doc["endpoint"]["query"] = {"region": "{region}"}
    (issue,) = _errors(doc)
    assert "endpoint.query uses {region}" in issue.message
    assert "source.required_columns" in issue.message


def test_rate_limit_below_one_request_per_task():
    (issue,) = _errors(_doc(execution={"concurrent_tasks": 8, "max_requests_per_second": 4}))
    assert issue.path == "execution"
    assert "lower than 1 request per second for each of the 8 tasks" in issue.message


def test_rate_check_counts_the_tasks_that_can_send_at_once():
    # Two batches in flight x 2 partitions = 4 tasks at once on 8 slots.
    cfg = validate_document(
        _doc(execution={"concurrent_tasks": 8, "partitions": 2, "max_requests_per_second": 4}),
        "c", resolve_secrets=False,
    ).config
    assert cfg.execution.tasks_at_once() == 4
    sequential = validate_document(
        _doc(execution={"concurrent_tasks": 8, "partitions": 2, "batches_in_flight": 1, "max_requests_per_second": 2}),
        "c", resolve_secrets=False,
    ).config
    assert sequential.execution.tasks_at_once() == 2


def test_rate_share_never_counts_fewer_tasks_than_can_send_at_once():
    # Spark runs up to its slots (parallelism) at once, and the batches in flight supply
    # tasks_per_batch x batches_in_flight of them. Each task gets rate / tasks_at_once, so
    # tasks_at_once below what really runs would multiply the job-wide rate.
    from api_etl.config.execution import ExecutionConfig

    for parallelism in (1, 2, 3, 8, 40):
        for concurrent_tasks in (None, 1, 4, 8, 64):
            for partitions in (None, 1, 2, 10, 80):
                for batches_in_flight in (1, 2, 4):
                    ex = ExecutionConfig(partitions=partitions, concurrent_tasks=concurrent_tasks,
                                         batches_in_flight=batches_in_flight)
                    running = min(parallelism, ex.tasks_per_batch(parallelism) * batches_in_flight)
                    assert ex.tasks_at_once(parallelism) >= running, (parallelism, concurrent_tasks, partitions,
                                                                      batches_in_flight)


def test_concurrent_tasks_below_the_clusters_slots_cannot_raise_the_rate():
    # A Glue job with 40 slots whose config says 4 tasks: every batch is still split over the
    # 40 slots, and they all send; a 4-way share would send 10x the limit.
    from api_etl.config.execution import ExecutionConfig

    ex = ExecutionConfig(concurrent_tasks=4, max_requests_per_second=400)
    assert ex.tasks_per_batch(40) == 40
    assert ex.tasks_at_once(40) == 40
    assert ex.tasks_at_once(None) == 4  # validate, before the cluster is known: what the config says


def test_partitions_alone_count_every_batch_in_flight():
    from api_etl.config.execution import ExecutionConfig

    assert ExecutionConfig(partitions=10).tasks_at_once() == 20  # two batches of 10 may overlap
    assert ExecutionConfig(partitions=10, batches_in_flight=1).tasks_at_once() == 10
    assert ExecutionConfig().tasks_at_once() is None  # nothing known


def test_sizing_line_shows_the_split_of_work_and_of_the_rate_limit():
    # What an operator reads in the job's log to see whether the cluster and the limit are used.
    from api_etl.config.execution import ExecutionConfig

    limited = ExecutionConfig(concurrent_tasks=4, max_requests_per_second=400, batch_size=5000)
    line = limited.describe_sizing(40, rate_per_task=9.9)  # the runner's share: 400 x 0.99 / 40
    assert line == ("batches of 5000 rows, 40 task(s) each, 2 batch(es) in flight, 20 request(s) in flight per task;"
                    " task slots 40, concurrent_tasks 4; rate limit 400/s shared by 40 task(s) at once: 9.9/s each")
    # A resumed run keeps the batches it staged, whatever the cluster is now.
    resumed = limited.describe_sizing(8, 49.5, staged=(3000, 40))
    assert resumed.startswith("batches of 3000 rows, 40 task(s) each,") and "task slots 8," in resumed
    unlimited = ExecutionConfig().describe_sizing(2)
    assert unlimited.startswith("batches of 20000 rows, 2 task(s) each,") and unlimited.endswith(
        "task slots 2, concurrent_tasks not set; no rate limit")


def test_a_mismatch_between_sparks_slots_and_concurrent_tasks_is_named():
    from api_etl.config.execution import ExecutionConfig

    ex = ExecutionConfig(concurrent_tasks=40, max_requests_per_second=400)
    assert ex.slots_mismatch(40) is None and ex.slots_mismatch(None) is None
    assert ExecutionConfig().slots_mismatch(8) is None  # nothing stated, nothing to compare
    overstated = ex.slots_mismatch(80)  # e.g. spark.default.parallelism set above the cores
    assert overstated.startswith("the run plans with 80 task slots (Spark's parallelism, or --cluster_slots"
                                 " when larger) but execution.concurrent_tasks is 40;")
    assert "shared by 80 tasks, so if only 40 run at once the job sends less than the limit" in overstated
    assert "lower it" in overstated
    late = ex.slots_mismatch(8)  # executors still registering when the run started
    assert "each batch is split into 8 tasks" in late and "Set execution.partitions" in late
    # With partitions set the split is the config's: the late-executor case cannot happen.
    assert ExecutionConfig(concurrent_tasks=40, partitions=40).slots_mismatch(8) is None


@pytest.mark.parametrize(
    "auth, missing",
    [
        ({"type": "basic", "username": "u"}, "auth.password"),
        ({"type": "oauth2_password", "token_url": "https://t", "client_id": "c", "client_secret": "s", "username": "u"}, "auth.password"),
        ({"type": "api_key"}, "auth.value"),
        ({"type": "mtls", "cert_pem": "x"}, "auth.key_pem"),
    ],
)
def test_auth_type_with_missing_fields(auth, missing):
    issues = _errors(_doc(auth=auth))
    assert any(i.path == missing and i.message == "field required" for i in issues), issues


def test_unknown_middleware_type_lists_the_known_ones():
    (issue,) = _errors(_doc(middleware=[{"type": "retry"}, {"type": "cache"}]))
    assert issue.path == "middleware.1"
    assert "'cache'" in issue.message and "'retry'" in issue.message


def test_yaml_line_numbers_are_reported():
    text = (
        "source:\n  path: /in\n  id_column: id\n"
        "sink:\n  path: /out\n"
        "endpoint:\n  base_url: https://x\n"
        "middleware:\n  - type: retry\n    max_attempts: 0\n"
    )
    doc = parse_document(text, "c.yaml")[0]
    (issue,) = _errors(doc, text)
    assert issue.path == "middleware.0.max_attempts" and issue.line == 10


def test_exactly_one_source_location():
    doc = _doc()
    doc["source"]["table"] = {"database": "db", "table": "t"}
    (issue,) = _errors(doc)
    assert "exactly one of source.path or source.table" in issue.message


def test_body_mapping_and_column_mapping_merge():
    doc = _doc()
    doc["source"]["required_columns"] = ["customer", "amount"]
    doc["endpoint"]["body"] = {"mapping": {"order.amount": "amount"}}
    doc["endpoint"]["column_mapping"] = [{"source_column": "customer", "endpoint_param": "cust"}]
    cfg = validate_document(doc, "c", resolve_secrets=False).config
    assert cfg.endpoint.body_mapping() == {"order.amount": "amount", "cust": "customer"}


def test_get_request_maps_columns_to_query():
    doc = _doc()
    doc["endpoint"].update(method="GET", path="/lookup")
    doc["endpoint"]["column_mapping"] = [{"source_column": "customer", "endpoint_param": "c"}]
    cfg = validate_document(doc, "c", resolve_secrets=False).config
    assert cfg.endpoint.query_template() == {"c": "{customer}"}
    assert cfg.endpoint.body_mapping() is None


def test_config_hash_ignores_tuning_knobs_but_not_the_request():
    base = validate_document(_doc(), "c", resolve_secrets=False).config
    tuned = validate_document(_doc(execution={"concurrency": 50, "max_requests_per_second": 100.0}), "c", resolve_secrets=False).config
    other = _doc()
    other["endpoint"]["path"] = "/v2/customers/{customer}"
    changed = validate_document(other, "c", resolve_secrets=False).config
    assert base.config_hash() == tuned.config_hash()
    assert base.config_hash() != changed.config_hash()


@pytest.mark.parametrize(
    ("execution", "rows"),
    [
        ({"max_requests_per_second": 100}, 6_000),  # 60 s at the limit
        ({"max_requests_per_second": 2.5}, 1_000),  # a slow API: never below 1,000 rows
        ({"max_requests_per_second": 50_000}, 200_000),  # a fast one: never above 200,000
        ({"max_requests_per_second": 33.3}, 1_998),
        ({"batch_size": 700, "max_requests_per_second": 100}, 700),  # a number is taken as is
    ],
)
def test_batch_size_auto_is_a_minute_at_the_rate_limit(execution, rows):
    cfg = validate_document(_doc(execution=execution), "c", resolve_secrets=False).config
    assert cfg.execution.rows_per_batch() == rows
    assert cfg.execution.rows_per_batch(parallelism=64) == rows  # the rate decides, not the slots


@pytest.mark.parametrize(
    ("execution", "parallelism", "rows"),
    [
        ({}, 2, 20_000),  # local[2]: 2 tasks x 20 in flight x 500 round trips
        ({}, 40, 200_000),  # 10 G.1X workers: 400,000, capped
        ({"concurrency": 5}, 8, 20_000),
        ({"concurrency": 1}, 1, 1_000),  # never below 1,000 rows
        ({"partitions": 4}, 40, 40_000),  # the batch's own tasks, not the cluster's slots
        ({"concurrent_tasks": 3}, None, 30_000),  # validate, without Spark: the stated slots
        ({"concurrent_tasks": 3}, 2, 20_000),  # a run splits a batch over Spark's slots
        ({}, None, 10_000),  # nothing known: one task
        ({"batch_size": 700}, 40, 700),
    ],
)
def test_batch_size_auto_without_a_rate_is_round_trips_per_request_in_flight(execution, parallelism, rows):
    cfg = validate_document(_doc(execution=execution), "c", resolve_secrets=False).config
    assert cfg.execution.rows_per_batch(parallelism) == rows


@pytest.mark.parametrize("bad", [0, -5, "many", 2.5, True, None])
def test_batch_size_must_be_rows_or_auto(bad):
    issues = _errors(_doc(execution={"batch_size": bad}))
    messages = {i.path: i.message for i in issues}
    assert list(messages) == ["execution.batch_size"]
    assert "positive integer (rows per batch) or 'auto'" in messages["execution.batch_size"]
    assert repr(bad) in messages["execution.batch_size"]


def test_batch_size_auto_hashes_as_written_so_a_resume_may_retune_the_rate():
    def digest(rate):
        doc = _doc(execution={"max_requests_per_second": rate})
        return validate_document(doc, "c", resolve_secrets=False).config.config_hash()

    assert digest(100) == digest(400)
    fixed = validate_document(_doc(execution={"batch_size": 6000}), "c", resolve_secrets=False).config
    assert fixed.config_hash() != validate_document(_doc(), "c", resolve_secrets=False).config.config_hash()
