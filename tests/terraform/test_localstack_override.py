"""The LocalStack provider override: parsed, one endpoint per service the stack uses."""

from __future__ import annotations

from terraform_checks.schema_check import Checker
from terraform_checks.tree import REPO_ROOT, blocks, lit, load_module

OVERRIDE_DIR = REPO_ROOT / "localstack" / "terraform"

# Services whose resources the stack declares (by resource type prefix) -> endpoint key.
SERVICE_OF_PREFIX = {
    "aws_cloudwatch_event_": "eventbridge",
    "aws_cloudwatch_log_": "logs",
    "aws_cloudwatch_metric_alarm": "cloudwatch",
    "aws_cloudwatch_dashboard": "cloudwatch",
    "aws_glue_": "glue",
    "aws_iam_": "iam",
    "aws_kms_": "kms",
    "aws_s3_": "s3",
    "aws_secretsmanager_": "secretsmanager",
    "aws_sns_": "sns",
}


def _override():
    module = load_module(OVERRIDE_DIR)
    assert (OVERRIDE_DIR / "localstack_override.tf").is_file()
    assert "aws" in module.providers
    return module.providers["aws"]


def test_override_sets_emulator_settings():
    provider = _override()
    assert provider["s3_use_path_style"] is True
    for flag in ("skip_credentials_validation", "skip_metadata_api_check", "skip_requesting_account_id"):
        assert provider[flag] is True, flag
    assert lit(provider["access_key"]) == "test" and lit(provider["secret_key"]) == "test"


def test_override_has_an_endpoint_for_every_service_the_stack_uses(modules):
    endpoints = {k: lit(v) for b in blocks(_override()["endpoints"]) for k, v in b.items() if not k.startswith("__")}
    used_types = {rtype for m in modules.values() for rtype, _, _ in m.all_resources()}
    needed = {"sts"}  # aws_caller_identity
    for rtype in used_types:
        service = next((s for p, s in SERVICE_OF_PREFIX.items() if rtype.startswith(p)), None)
        assert service, f"{rtype}: map it to an endpoint in SERVICE_OF_PREFIX"
        needed.add(service)
    missing = needed - set(endpoints)
    assert not missing, f"override lacks endpoints for {sorted(missing)}"
    for name, url in endpoints.items():
        assert url.startswith("http://") and ":4566" in url, f"{name} = {url}"


def test_override_matches_the_provider_schema(schema, repo_root):
    findings = Checker(schema).check_paths([OVERRIDE_DIR], repo_root)
    assert not findings, "\n".join(map(str, findings))


def test_override_is_documented_and_ignored_where_it_is_copied():
    readme = (OVERRIDE_DIR / "README.md").read_text()
    assert "cp localstack/terraform/localstack_override.tf terraform/examples/complete/" in readme
    ignore = (REPO_ROOT / "terraform" / ".gitignore").read_text().splitlines()
    assert "*_override.tf" in ignore
