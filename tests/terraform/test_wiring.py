"""Parsed-HCL wiring tests: what the modules promise, read from the HCL itself."""

from __future__ import annotations

import re

import pytest

from api_etl.metrics import names as metric_names
from terraform_checks.tree import TERRAFORM_DIR, blocks, clean, expr, lit, load_module, nested, policy_statements

BUCKET_KEYS = {"data", "artifacts", "access_logs"}

# Glue's own job metrics (namespace "Glue") that the alarms and dashboard may name.
GLUE_METRICS = {
    "glue.driver.aggregate.numFailedTasks",
    "glue.ALL.jvm.heap.usage",
    "glue.ALL.system.cpuSystemLoad",
    "glue.driver.ExecutorAllocationManager.executors.numberAllExecutors",
}
APP_NAMESPACE_EXPR = "var.metrics_namespace"


def every_module():
    return [load_module(d) for d in sorted({p.parent for p in TERRAFORM_DIR.rglob("*.tf")})]


# --- storage ----------------------------------------------------------------------------------

def test_storage_defines_exactly_the_three_buckets(modules):
    storage = modules["storage"]
    assert {lit(k) for k in storage.locals["buckets"]} == BUCKET_KEYS
    assert list(storage.resources["aws_s3_bucket"]) == ["this"]
    assert expr(storage.resource("aws_s3_bucket", "this")["for_each"]) == "local.buckets"
    for module in every_module():  # no other bucket anywhere
        if module.path.name != "storage":
            assert "aws_s3_bucket" not in module.resources, module.path


@pytest.mark.parametrize("rtype", [
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_lifecycle_configuration",
])
def test_bucket_settings_cover_every_bucket(modules, rtype):
    storage = modules["storage"]
    (name, body), = storage.resources[rtype].items()
    assert expr(body["for_each"]) == "local.buckets"
    assert expr(body["bucket"]) == "aws_s3_bucket.this[each.key].id"


def test_every_bucket_is_encrypted_with_the_stack_cmk(modules, root):
    sse = modules["storage"].resource("aws_s3_bucket_server_side_encryption_configuration", "this")
    rule = clean(blocks(sse["rule"])[0])
    default = clean(blocks(rule["apply_server_side_encryption_by_default"])[0])
    assert lit(default["sse_algorithm"]) == "aws:kms"
    assert expr(default["kms_master_key_id"]) == "var.kms_key_arn"
    assert rule["bucket_key_enabled"] is True
    assert expr(root.modules["storage"]["kms_key_arn"]) == "module.kms.key_arn"


def test_every_bucket_is_versioned_and_blocked(modules):
    storage = modules["storage"]
    versioning = storage.resource("aws_s3_bucket_versioning", "this")
    assert lit(blocks(versioning["versioning_configuration"])[0]["status"]) == "Enabled"
    pab = storage.resource("aws_s3_bucket_public_access_block", "this")
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert pab[flag] is True, flag
    ownership = storage.resource("aws_s3_bucket_ownership_controls", "this")
    assert lit(blocks(ownership["rule"])[0]["object_ownership"]) == "BucketOwnerEnforced"


def test_every_bucket_policy_denies_insecure_transport(modules):
    storage = modules["storage"]
    policy = storage.resource("aws_s3_bucket_policy", "this")
    assert expr(policy["policy"]) == "data.aws_iam_policy_document.bucket[each.key].json"
    doc = storage.data["aws_iam_policy_document"]["bucket"]
    assert expr(doc["for_each"]) == "aws_s3_bucket.this"
    deny = [s for s, dynamic in policy_statements(doc) if not dynamic and lit(s["effect"]) == "Deny"]
    assert len(deny) == 1
    statement = deny[0]
    assert [lit(a) for a in statement["actions"]] == ["s3:*"]
    assert [expr(r) if r.startswith("$") else lit(r) for r in statement["resources"]] == ["each.value.arn", "${each.value.arn}/*"]
    (condition,) = nested(statement, "condition")
    assert (lit(condition["test"]), lit(condition["variable"]), [lit(v) for v in condition["values"]]) == ("Bool", "aws:SecureTransport", ["false"])
    (principal,) = nested(statement, "principals")
    assert lit(principal["type"]) == "*"


def test_data_and_artifacts_log_to_the_access_logs_bucket(modules):
    storage = modules["storage"]
    assert expr(storage.locals["logged_buckets"]) == '{for k, v in local.buckets : k => v if k != "access_logs"}'
    logging = storage.resource("aws_s3_bucket_logging", "this")
    assert expr(logging["for_each"]) == "local.logged_buckets"
    assert expr(logging["target_bucket"]) == 'aws_s3_bucket.this["access_logs"].id'


def test_lifecycle_aborts_uploads_and_expires_noncurrent_versions(modules):
    lifecycle = modules["storage"].resource("aws_s3_bucket_lifecycle_configuration", "this")
    rules = [clean(r) for r in blocks(lifecycle["rule"])]
    actions = {k for r in rules for k in r if k not in ("id", "status", "filter", "dynamic")}
    assert {"abort_incomplete_multipart_upload", "noncurrent_version_expiration"} <= actions
    assert all(lit(r["status"]) == "Enabled" for r in rules)
    optional = {name for r in rules for d in blocks(r.get("dynamic")) for name in d if not name.startswith("__")}
    assert {'"expiration"', '"transition"'} <= optional


# --- KMS everywhere -------------------------------------------------------------------------

def test_everything_else_is_encrypted_with_the_cmk(modules, root):
    glue = modules["glue_job"]
    assert expr(glue.resource("aws_cloudwatch_log_group", "this")["kms_key_id"]) == "var.kms_key_arn"
    security = glue.resource("aws_glue_security_configuration", "this")
    config = clean(blocks(security["encryption_configuration"])[0])
    modes = {}
    for part in ("cloudwatch_encryption", "job_bookmarks_encryption", "s3_encryption"):
        body = clean(blocks(config[part])[0])
        assert expr(body["kms_key_arn"]) == "var.kms_key_arn", part
        modes[part] = lit(next(v for k, v in body.items() if k.endswith("_mode")))
    assert modes == {"cloudwatch_encryption": "SSE-KMS", "job_bookmarks_encryption": "CSE-KMS", "s3_encryption": "SSE-KMS"}
    assert expr(glue.resource("aws_glue_job", "this")["security_configuration"]) == "aws_glue_security_configuration.this.name"
    for name in ("script", "wheel", "config"):
        obj = glue.resource("aws_s3_object", name)
        assert expr(obj["kms_key_id"]) == "var.kms_key_arn" and lit(obj["server_side_encryption"]) == "aws:kms"
    assert expr(modules["monitoring"].resource("aws_sns_topic", "alerts")["kms_master_key_id"]) == "var.kms_key_arn"
    assert expr(modules["secrets"].resource("aws_secretsmanager_secret", "this")["kms_key_id"]) == "var.kms_key_arn"
    for module in ("storage", "secrets", "iam", "glue_job", "monitoring"):
        assert expr(root.modules[module]["kms_key_arn"]) == "module.kms.key_arn", module


def test_kms_key_rotates_and_its_policy_covers_the_job_and_logs(modules, root):
    kms = modules["kms"]
    key = kms.resource("aws_kms_key", "this")
    assert key["enable_key_rotation"] is True
    assert expr(kms.resource("aws_kms_key_policy", "this")["policy"]) == "data.aws_iam_policy_document.key.json"
    statements = {lit(s["sid"]): s for s, _ in policy_statements(kms.data["aws_iam_policy_document"]["key"])}
    logs = statements["CloudWatchLogsEncryptsJobLogGroups"]
    (condition,) = nested(logs, "condition")
    assert lit(condition["variable"]) == "kms:EncryptionContext:aws:logs:arn"
    assert expr(condition["values"]) == "local.log_group_arns"
    (role_principals,) = nested(statements["GlueJobRoleUsesKey"], "principals")
    assert expr(role_principals["identifiers"]) == "var.key_user_role_arns"
    assert root.modules["kms"]["key_user_role_arns"] == ["${module.iam.role_arn}"]
    assert [lit(v) for v in root.modules["kms"]["cloudwatch_logs_log_group_names"]] == ["${local.log_group_name}*"]


# --- IAM ------------------------------------------------------------------------------------

def resolve_list(value, module):
    """A literal list, or local.X / concat(local.X, local.Y) of literal lists in ``module``."""
    if isinstance(value, list):
        return value
    text = expr(value)
    names = re.fullmatch(r"concat\((local\.\w+(?:, local\.\w+)*)\)|(local\.\w+)", text)
    assert names, f"{module.path.name}: actions must be literal lists, got {value}"
    out = []
    for ref in (names.group(1) or names.group(2)).split(", "):
        resolved = module.locals[ref.split(".", 1)[1]]
        assert isinstance(resolved, list), ref
        out.extend(resolved)
    return out


def all_policy_statements():
    for module in every_module():
        for name, doc in module.data.get("aws_iam_policy_document", {}).items():
            for statement, dynamic in policy_statements(doc):
                statement = dict(statement)
                if "actions" in statement:
                    statement["actions"] = resolve_list(statement["actions"], module)
                yield module.path.name, name, statement


def test_no_inline_json_policies(modules):
    """Every policy goes through an aws_iam_policy_document, so the statements below are all of them."""
    for module in every_module():
        for rtype, name, body in module.all_resources():
            for key in ("policy", "assume_role_policy"):
                if key in body:
                    assert re.fullmatch(r"data\.aws_iam_policy_document\.\w+(\[each\.key\])?\.json", expr(body[key])), f"{rtype}.{name}.{key}"


def test_every_allow_statement_lists_its_actions_exactly():
    count = 0
    for module, doc, statement in all_policy_statements():
        assert "not_actions" not in statement and "not_resources" not in statement, (module, doc)
        actions = statement["actions"]
        assert isinstance(actions, list) and actions, (module, doc, statement)
        for action in actions:
            assert isinstance(action, str) and action.startswith('"'), f"{module}/{doc}: action not a literal: {action}"
            name = lit(action)
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", name) or (lit(statement["effect"]) == "Deny" and name == "s3:*"), f"{module}/{doc}: {name}"
        if lit(statement["effect"]) != "Deny":
            assert not any("*" in lit(a) for a in actions)
        count += 1
    assert count >= 20


def test_resource_star_only_where_aws_allows_nothing_narrower():
    for module, doc, statement in all_policy_statements():
        resources = statement.get("resources", [])
        if resources == ['"*"']:
            if module == "kms" and doc == "key":
                # In a key policy "*" is the key itself; each statement is still conditioned.
                assert nested(statement, "condition"), statement
                continue
            actions = [lit(a) for a in statement["actions"]]
            assert actions == ["cloudwatch:PutMetricData"], f"{module}/{doc}: '*' for {actions}"
            (condition,) = nested(statement, "condition")
            assert lit(condition["variable"]) == "cloudwatch:namespace"
            assert expr(condition["values"]) == 'distinct([var.metrics_namespace, "Glue"])'
        else:
            assert all('"*"' != r for r in resources), (module, doc)


def _job_statements(modules) -> dict:
    doc = modules["iam"].data["aws_iam_policy_document"]["job"]
    return {lit(s["sid"]): s for s, _ in policy_statements(doc)}


def test_job_role_reaches_only_its_own_resources(modules, root):
    s = _job_statements(modules)
    assert s["ReadApiCredentials"]["resources"] == ["${var.secret_arn}"]
    assert [lit(a) for a in s["ReadApiCredentials"]["actions"]] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    assert s["UseStackKey"]["resources"] == ["${var.kms_key_arn}"]
    assert s["ReadSource"]["resources"] == ['"${var.data_bucket_arn}/${var.data_prefixes.source}*"']
    assert [lit(a) for a in s["ReadSource"]["actions"]] == ["s3:GetObject"]
    assert expr(s["WriteSinkCheckpointsDeadLetter"]["resources"]) == '[for p in local.data_write_prefixes : "${var.data_bucket_arn}/${p}*"]'
    assert modules["iam"].locals["data_write_prefixes"] == ["${var.data_prefixes.sink}", "${var.data_prefixes.checkpoints}", "${var.data_prefixes.dead_letter}"]
    assert s["WriteJobLogs"]["resources"] == ["${local.log_group_arn_pattern}"]
    assert lit(modules["iam"].locals["log_group_arn_pattern"]).endswith(":log-group:${var.log_group_name}*")
    assert s["UseCatalogDatabase"]["resources"] == ["${local.catalog_arn}", "${local.database_arn}", "${local.tables_arn}"]
    assert lit(modules["iam"].locals["database_arn"]).endswith(":database/${var.glue_database_name}")
    assert lit(modules["iam"].locals["tables_arn"]).endswith(":table/${var.glue_database_name}/*")
    for statement in ("ListDataPrefixes", "ListArtifactScratchPrefixes"):
        (condition,) = nested(s[statement], "condition")
        assert lit(condition["variable"]) == "s3:prefix"
    wiring = root.modules["iam"]
    assert expr(wiring["secret_arn"]) == "module.secrets.secret_arn"
    assert expr(wiring["metrics_namespace"]) == "local.metrics_namespace"
    assert expr(wiring["log_group_name"]) == "local.log_group_name"
    assert expr(wiring["glue_database_name"]) == "local.glue_database_name"


def test_job_role_reads_the_artifacts_the_stack_uploads(modules, root):
    s = _job_statements(modules)
    assert expr(s["ReadJobArtifacts"]["resources"]) == '[for p in var.artifact_read_prefixes : "${var.artifacts_bucket_arn}/${p}*"]'
    assert expr(root.modules["iam"]["artifact_read_prefixes"]) == '[for key in [local.script_key, local.wheel_key, local.config_key] : "${dirname(key)}/"]'


def test_no_secret_value_in_terraform():
    for module in every_module():
        assert "aws_secretsmanager_secret_version" not in module.resources, module.path
        for rtype, name, body in module.all_resources():
            assert "secret_string" not in body and "secret_binary" not in body, f"{rtype}.{name}"


# --- Glue job ---------------------------------------------------------------------------------

def _managed_arguments(glue) -> dict:
    return {lit(k): v for k, v in glue.locals["managed_arguments"].items()}


def test_job_arguments_point_at_objects_the_stack_uploads(modules):
    glue = modules["glue_job"]
    loc = glue.locals
    args = _managed_arguments(glue)
    assert expr(args["--config_uri"]) == "local.config_uri"
    assert expr(args["--additional-python-modules"]) == "local.wheel_uri"
    assert lit(loc["artifacts_uri"]) == "s3://${var.artifacts_bucket_name}"
    assert lit(loc["config_uri"]) == "${local.artifacts_uri}/${aws_s3_object.config.key}"
    assert lit(loc["wheel_uri"]) == "${local.artifacts_uri}/${aws_s3_object.wheel.key}"
    assert lit(loc["script_uri"]) == "${local.artifacts_uri}/${aws_s3_object.script.key}"
    job = glue.resource("aws_glue_job", "this")
    assert expr(clean(blocks(job["command"])[0])["script_location"]) == "local.script_uri"
    assert expr(job["default_arguments"]) == "local.default_arguments"
    assert expr(loc["default_arguments"]).endswith("local.managed_arguments)")  # managed ones win
    for name in ("script", "wheel", "config"):
        obj = glue.resource("aws_s3_object", name)
        assert expr(obj["bucket"]) == "var.artifacts_bucket_name"
        assert expr(obj["key"]) == f"var.{name}_s3_key"
    for name in ("script", "wheel"):  # a changed file is uploaded again: a new object version
        obj = glue.resource("aws_s3_object", name)
        assert expr(obj["source_hash"]) == f"filemd5(var.{name}_source_path)"


def test_job_declares_the_clusters_task_slots(modules):
    """--cluster_slots = (workers - 1) x vCPUs per worker, for every worker type the module accepts."""
    import re

    glue = modules["glue_job"]
    loc = glue.locals
    assert expr(_managed_arguments(glue)["--cluster_slots"]) == "tostring(local.cluster_slots)"
    assert expr(loc["cluster_slots"]) == "(var.number_of_workers - 1) * local.vcpus_per_worker[var.worker_type]"
    vcpus = {lit(k): v for k, v in loc["vcpus_per_worker"].items()}
    assert vcpus == {"G.1X": 4, "G.2X": 8, "G.4X": 16, "G.8X": 32}
    allowed = re.findall(r'"(G\.\d+X)"', glue.variables["worker_type"]["validation"][0]["condition"])
    assert sorted(allowed) == sorted(vcpus)  # no accepted worker type lacks a slot count


def test_job_observability_and_bookmark_arguments(modules):
    args = {lit(k): (lit(v) if isinstance(v, str) and v.startswith('"') else expr(v)) for k, v in modules["glue_job"].locals["managed_arguments"].items()}
    for flag in ("--enable-metrics", "--enable-observability-metrics", "--enable-continuous-cloudwatch-log",
                 "--enable-job-insights", "--enable-spark-ui"):
        assert args[flag] == "true", flag
    assert args["--continuous-log-logGroup"] == "var.log_group_name"
    assert args["--spark-event-logs-path"].startswith("${local.artifacts_uri}/")
    assert args["--job-bookmark-option"] == "job-bookmark-disable"
    assert lit(modules["glue_job"].locals["glue_version"]) == "5.0"


def test_root_wires_the_contract_names_into_the_job(root, repo_root):
    loc = {k: lit(v) for k, v in root.locals.items() if isinstance(v, str)}
    assert loc["script_key"] == "glue/job.py"
    assert loc["wheel_key"] == "wheels/${var.wheel_file_name}"
    assert loc["config_key"] == "configs/pipeline.yaml"
    assert loc["script_source_path"] == "${local.repo_root}/glue_job/job.py"
    assert loc["repo_root"] == "${path.module}/../../.."
    assert (root.path / "../../..").resolve() == repo_root
    assert (repo_root / "glue_job" / "job.py").is_file()
    assert loc["config_uri"] == "s3://${local.artifacts_bucket_name}/${local.config_key}"
    job = root.modules["glue_job"]
    for key in ("script", "wheel", "config"):
        assert expr(job[f"{key}_s3_key"]) == f"local.{key}_key"
    assert expr(job["artifacts_bucket_name"]) == "module.storage.artifacts_bucket_name"


def test_root_names_follow_the_contract(root):
    loc = {k: lit(v) for k, v in root.locals.items() if isinstance(v, str)}
    assert lit(root.variables["name"]["default"]) == "api-etl-demo"
    assert loc["kms_alias_name"] == "alias/${var.name}"
    assert loc["data_bucket_name"] == "${var.name}-data-${local.account_id}"
    assert loc["artifacts_bucket_name"] == "${var.name}-artifacts-${local.account_id}"
    assert loc["access_logs_bucket_name"] == "${var.name}-access-logs-${local.account_id}"
    assert loc["secret_name"] == "${var.name}/api-credentials"
    assert loc["job_name"] == "${var.name}-job"
    assert loc["log_group_name"] == "/aws-glue/jobs/${var.name}"
    assert loc["glue_database_name"] == '${replace(var.name, "-", "_")}_db'
    assert loc["sns_topic_name"] == "${var.name}-alerts"
    assert expr(root.locals["dashboard_name"]) == "var.name"
    assert loc["metrics_namespace"] == metric_names.DEFAULT_NAMESPACE
    assert {k: lit(v) for k, v in root.locals["data_prefixes"].items()} == {
        "source": "source/", "sink": "sink/", "checkpoints": "checkpoints/", "dead_letter": "dead-letter/"}
    for output in ("data_bucket_name", "artifacts_bucket_name", "secret_arn", "job_name", "dashboard_url", "sns_topic_arn", "names"):
        assert output in root.outputs, output


# --- monitoring -----------------------------------------------------------------------------

def _alarms(modules):
    return modules["monitoring"].resources["aws_cloudwatch_metric_alarm"]


def test_every_alarm_notifies_the_topic(modules):
    alarms = _alarms(modules)
    assert set(alarms) >= {"failure_ratio", "throttled", "latency_p99", "no_rows_processed", "glue_failed_tasks", "glue_jvm_heap"}
    for module in every_module():
        for name in module.resources.get("aws_cloudwatch_metric_alarm", {}):
            assert module.path.name == "monitoring", f"alarm {name} outside monitoring"
    for name, alarm in alarms.items():
        assert alarm["alarm_actions"] == ["${aws_sns_topic.alerts.arn}"], name
        assert alarm["ok_actions"] == ["${aws_sns_topic.alerts.arn}"], name


def test_job_state_changes_reach_the_topic(modules):
    mon = modules["monitoring"]
    target = mon.resource("aws_cloudwatch_event_target", "job_state_to_topic")
    assert expr(target["arn"]) == "aws_sns_topic.alerts.arn"
    assert expr(target["rule"]) == "aws_cloudwatch_event_rule.job_state.name"
    pattern = expr(mon.resource("aws_cloudwatch_event_rule", "job_state")["event_pattern"])
    assert '"aws.glue"' in pattern and '"Glue Job State Change"' in pattern and "var.job_failure_states" in pattern
    assert [lit(s) for s in mon.variables["job_failure_states"]["default"]] == ["FAILED", "TIMEOUT", "ERROR", "STOPPED"]
    statements = {lit(s["sid"]): s for s, _ in policy_statements(mon.data["aws_iam_policy_document"]["topic"])}
    (condition,) = nested(statements["EventBridgePublishesJobStateChanges"], "condition")
    assert condition["values"] == ["${aws_cloudwatch_event_rule.job_state.arn}"]


def _metric_refs(modules):
    """(where, namespace expression, metric name) for every metric the alarms and dashboard name."""
    refs = []
    for name, alarm in _alarms(modules).items():
        if "metric_name" in alarm:
            refs.append((f"alarm {name}", alarm["namespace"], lit(alarm["metric_name"])))
        for query in nested(alarm, "metric_query"):
            for metric in nested(query, "metric"):
                refs.append((f"alarm {name}", metric["namespace"], lit(metric["metric_name"])))
    widgets = modules["monitoring"].locals["dashboard_widgets"]
    for widget in widgets:
        for entry in widget["properties"].get("metrics", []):
            if isinstance(entry[0], dict):
                continue  # a math expression, checked below
            refs.append((f"widget {lit(widget['properties']['title'])}", entry[0], lit(entry[1])))
    return refs


def test_every_metric_named_is_one_the_library_publishes(modules):
    refs = _metric_refs(modules)
    app = {name for _, ns, name in refs if expr(ns) == APP_NAMESPACE_EXPR}
    for where, ns, name in refs:
        if expr(ns) == APP_NAMESPACE_EXPR:
            assert name in metric_names.ALL_METRICS, f"{where}: {name} is not in api_etl.metrics.names"
        else:
            assert lit(ns) == "Glue" and name in GLUE_METRICS, f"{where}: unexpected metric {ns}/{name}"
    assert len(app) >= 12  # the loop is closed over most of the library's metrics
    assert lit(modules["monitoring"].variables["metrics_namespace"]["default"]) == metric_names.DEFAULT_NAMESPACE


def test_app_metrics_use_the_job_name_dimension(modules):
    for name, alarm in _alarms(modules).items():
        dims = [alarm.get("dimensions")] + [m.get("dimensions") for q in nested(alarm, "metric_query") for m in nested(q, "metric")]
        for d in filter(None, dims):
            assert expr(d[metric_names.DIMENSION_JOB]) == "var.job_name", name
    for widget in modules["monitoring"].locals["dashboard_widgets"]:
        for entry in widget["properties"].get("metrics", []):
            if not isinstance(entry[0], dict):
                assert lit(entry[2]) == metric_names.DIMENSION_JOB and expr(entry[3]) == "var.job_name"


def test_metric_math_references_defined_ids(modules):
    checked = 0
    for name, alarm in _alarms(modules).items():
        queries = nested(alarm, "metric_query")
        ids = {lit(q["id"]) for q in queries}
        for q in queries:
            if "expression" in q:
                used = set(re.findall(r"\b[a-z][a-zA-Z0-9_]*\b", lit(q["expression"]))) - {"IF"}
                assert used <= ids, f"{name}: {used - ids}"
                checked += 1
    for widget in modules["monitoring"].locals["dashboard_widgets"]:
        metrics = widget["properties"].get("metrics", [])
        ids = {lit(e[-1]["id"]) for e in metrics if isinstance(e[-1], dict) and "id" in e[-1]}
        for e in metrics:
            if isinstance(e[0], dict) and "expression" in e[0]:
                used = set(re.findall(r"\b[a-z][a-zA-Z0-9_]*\b", lit(e[0]["expression"]))) - {"IF"}
                assert used <= ids, f"{lit(widget['properties']['title'])}: {used - ids}"
                checked += 1
    assert checked >= 2


def test_dashboard_body_is_the_checked_widgets(modules):
    body = expr(modules["monitoring"].resource("aws_cloudwatch_dashboard", "this")["dashboard_body"])
    assert body == "jsonencode({widgets = local.dashboard_widgets})"
    titles = {lit(w["properties"]["title"]) for w in modules["monitoring"].locals["dashboard_widgets"]}
    assert {"Throughput", "Outcomes", "Request latency (ms)", "Batches", "Glue resources", "Rate limit"} <= titles
