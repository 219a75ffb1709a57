"""The offline provider-schema check (stand-in for `terraform validate`)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from terraform_checks.schema_check import Checker, tf_files
from terraform_checks.tree import all_module_dirs, blocks, lit, load_module

FIXTURE = Path(__file__).parent / "fixtures" / "broken"

# (file:address prefix, message fragment) for every error class the fixture carries.
EXPECTED_FIXTURE_FINDINGS = [
    ("aws_glue_job.unknown_argument", 'unknown argument "glue_versoin" (did you mean "glue_version"?)'),
    ("aws_glue_job.unknown_block", 'unknown block type "execution_properties" (did you mean "execution_property"?)'),
    ("aws_glue_job.missing_required", 'missing required argument "role_arn"'),
    ("aws_glue_job.missing_required.command", 'missing required argument "script_location"'),
    ("aws_glue_job.block_as_argument", '"command" is a block, not an argument'),
    ("aws_s3_bucket.argument_as_block", '"tags" is an argument, not a block'),
    ("aws_glue_job.single_block_repeated", 'block "command" may appear at most once, found 2'),
    ("aws_sns_topic.wrong_literal_kind", 'argument "name" expects a string, got a list literal'),
    ("aws_glue_jobs.unknown_type", 'unknown resource type "aws_glue_jobs" (did you mean "aws_glue_job"?)'),
    ("data.aws_iam_policy_document.dynamic_unknown_argument.statement", 'unknown argument "resource" (did you mean "resources"?)'),
    ("module.child", 'unknown module input "nmae" (did you mean "name"?)'),
    ("module.child", 'missing required module input "name"'),
]


def test_whole_tree_matches_the_provider_schema(schema, repo_root):
    paths = [repo_root / "terraform", repo_root / "localstack" / "terraform"]
    started = time.monotonic()
    findings = Checker(schema).check_paths(paths, repo_root)
    elapsed = time.monotonic() - started
    assert not findings, "schema check findings:\n" + "\n".join(map(str, findings))
    assert len(tf_files(paths)) >= 25  # every module, the example and the override were read
    assert elapsed < 30, f"schema check took {elapsed:.1f}s"


def test_the_tree_uses_resources_the_check_knows(schema, modules, root):
    """Non-vacuous: the checked tree really contains AWS resources of the extract."""
    used = {rtype for m in modules.values() for rtype, _, _ in m.all_resources()}
    assert len(used) >= 20
    assert used <= set(schema.resources)
    assert root.modules  # the root example calls the modules (inputs are checked too)


@pytest.fixture(scope="module")
def fixture_findings(schema, repo_root):
    findings = Checker(schema).check_paths([FIXTURE], repo_root)
    return findings


@pytest.mark.parametrize("address,fragment", EXPECTED_FIXTURE_FINDINGS, ids=[f"{a}:{f[:30]}" for a, f in EXPECTED_FIXTURE_FINDINGS])
def test_fixture_error_class_is_reported(fixture_findings, address, fragment):
    matches = [f for f in fixture_findings if f.address == address and fragment in f.message]
    assert matches, f"no finding {address}: {fragment!r} among:\n" + "\n".join(map(str, fixture_findings))
    finding = matches[0]
    assert finding.file == "tests/terraform/fixtures/broken/main.tf"
    assert finding.line > 1
    assert re.match(r"^tests/terraform/fixtures/broken/main\.tf:\d+: ", str(finding))


def test_fixture_has_no_unexpected_findings(fixture_findings):
    expected = {(a, f) for a, f in EXPECTED_FIXTURE_FINDINGS}
    extra = [f for f in fixture_findings if not any(f.address == a and frag in f.message for a, frag in expected)]
    assert not extra, "unexpected findings:\n" + "\n".join(map(str, extra))


def test_finding_line_points_at_the_offending_key(fixture_findings):
    text = (FIXTURE / "main.tf").read_text().splitlines()
    finding = next(f for f in fixture_findings if "glue_versoin" in f.message)
    assert "glue_versoin" in text[finding.line - 1]


# --- provider version pins ----------------------------------------------------------------

def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _admits(constraint: str, version: str) -> bool:
    for part in (p.strip() for p in constraint.split(",")):
        m = re.fullmatch(r"(>=|<=|>|<|=|!=|~>)?\s*([0-9.]+)", part)
        assert m, f"unsupported constraint {part!r}"
        op, v = m.group(1) or "=", m.group(2)
        have, want = _version(version), _version(v)
        width = max(len(have), len(want))
        have, want_p = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
        ok = {
            ">=": have >= want_p, "<=": have <= want_p, ">": have > want_p, "<": have < want_p,
            "=": have == want_p, "!=": have != want_p,
            "~>": have >= want_p and have[: len(want) - 1] == want[: len(want) - 1],
        }[op]
        if not ok:
            return False
    return True


def _aws_requirement(module_dir: Path) -> dict:
    module = load_module(module_dir)
    for terraform in module.terraform:
        for providers in blocks(terraform.get("required_providers")):
            if "aws" in providers:
                return {"required_version": lit(terraform.get("required_version")), **{k: lit(v) for k, v in providers["aws"].items()}}
    raise AssertionError(f"{module_dir}: no required_providers.aws")


def test_constraint_helper():
    assert _admits(">= 6.69.1, < 7.0.0", "6.69.1") and not _admits(">= 6.69.1, < 7.0.0", "7.0.0")
    assert _admits("6.69.1", "6.69.1") and not _admits("6.69.1", "6.69.2")
    assert _admits("~> 6.69", "6.80.0") and not _admits("~> 6.69", "7.0.0")


@pytest.mark.parametrize("module_dir", all_module_dirs(), ids=lambda p: p.name)
def test_every_root_and_module_pins_terraform_and_the_checked_provider(schema, module_dir):
    req = _aws_requirement(module_dir)
    assert req["source"] == "hashicorp/aws"
    assert _admits(req["version"], schema.provider_version), f"{module_dir}: {req['version']} excludes {schema.provider_version}"
    assert not _admits(req["version"], "7.0.0") and not _admits(req["version"], "5.100.0")  # 6.x only
    assert req["required_version"] == ">= 1.6.0"


def test_root_example_pins_exactly_the_checked_provider_version(schema, root):
    req = _aws_requirement(root.path)
    assert req["version"] == schema.provider_version == "6.69.1"
