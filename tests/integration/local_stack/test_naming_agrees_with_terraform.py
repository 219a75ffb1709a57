"""localstack/naming.py and localstack/provision.py agree with the Terraform root and modules.

The HCL is parsed with python-hcl2 and the root's ``locals`` are evaluated for a stack name
(the interpolations used there: ``var.*``, ``local.*``, the caller's account id and
``replace()``), then compared with :class:`localstack.naming.StackNames`. The settings that
provisioning mirrors are read from the modules. No Terraform binary is involved.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import hcl2
import pytest

from localstack import provision as prov
from localstack.naming import DATA_PREFIXES, DEFAULT_NAME, DEFAULT_WHEEL_FILE, MOTO_ACCOUNT_ID, NAME_PATTERN, StackNames

REPO = Path(__file__).resolve().parents[3]
ROOT = REPO / "terraform" / "examples" / "complete"
MODULES = REPO / "terraform" / "modules"
ACCOUNT = MOTO_ACCOUNT_ID


def _load(path: Path) -> dict:
    if not path.is_file():
        pytest.fail(f"{path.relative_to(REPO)} is missing: the Terraform root this test compares against", pytrace=False)
    with path.open() as handle:
        return hcl2.load(handle)


def _unquote(text):
    return text[1:-1] if isinstance(text, str) and len(text) >= 2 and text[0] == text[-1] == '"' else text


def _labelled(blocks: list[dict]) -> dict:
    return {_unquote(label): body for block in blocks for label, body in block.items() if not label.startswith("__")}


def _locals(path: Path) -> dict:
    out = {}
    for block in _load(path).get("locals", []):
        out.update({k: v for k, v in block.items() if not k.startswith("__")})
    return out


def _variables(path: Path) -> dict:
    return _labelled(_load(path).get("variable", []))


class _Evaluator:
    """Evaluates the root's name locals for given variables (raises on anything else)."""

    def __init__(self, local_exprs: dict, variables: dict):
        self.locals = local_exprs
        self.vars = variables

    def value(self, raw):
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items() if not k.startswith("__")}
        text = raw
        if text.startswith('"') and text.endswith('"'):
            return self._template(text[1:-1])
        if text.startswith("${") and text.endswith("}") and self._closing(text, 2) == len(text) - 1:
            return self.expr(text[2:-1])
        raise AssertionError(f"cannot evaluate {raw!r}")

    @staticmethod
    def _closing(text: str, start: int) -> int:
        depth, quoted = 1, False
        for i in range(start, len(text)):
            ch = text[i]
            if ch == '"' and text[i - 1] != "\\":
                quoted = not quoted
            elif not quoted and ch == "{":
                depth += 1
            elif not quoted and ch == "}":
                depth -= 1
                if depth == 0:
                    return i
        raise AssertionError(f"unbalanced interpolation in {text!r}")

    def _template(self, text: str) -> str:
        out, i = [], 0
        while i < len(text):
            if text.startswith("${", i):
                end = self._closing(text, i + 2)
                out.append(str(self.expr(text[i + 2:end])))
                i = end + 1
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def expr(self, expr: str):
        expr = expr.strip()
        if expr.startswith("var."):
            return self.vars[expr[4:]]
        if expr.startswith("local."):
            head, *attrs = expr[6:].split(".")
            value = self.value(self.locals[head])
            for attr in attrs:  # local.data_prefixes.source
                value = value[attr]
            return value
        if expr == "data.aws_caller_identity.current.account_id":
            return ACCOUNT
        m = re.fullmatch(r'replace\((.+),\s*"([^"]*)",\s*"([^"]*)"\)', expr)
        if m:
            return str(self.expr(m.group(1))).replace(m.group(2), m.group(3))
        if expr.startswith('"') and expr.endswith('"'):
            return self._template(expr[1:-1])
        raise AssertionError(f"the test cannot evaluate the Terraform expression {expr!r}; extend _Evaluator")


def _tf_names(name: str, wheel: str = DEFAULT_WHEEL_FILE) -> dict:
    """The root's ``names`` output, evaluated for ``name``."""
    outputs = _labelled(_load(ROOT / "outputs.tf")["output"])
    ev = _Evaluator(_locals(ROOT / "main.tf"), {"name": name, "wheel_file_name": wheel})
    return {key: ev.value(raw) for key, raw in outputs["names"]["value"].items() if not key.startswith("__")}


@pytest.mark.parametrize("name", [DEFAULT_NAME, "acme-enrich-prod", "x9z"])
def test_every_name_in_the_terraform_names_output_matches_naming(name):
    assert _tf_names(name) == StackNames(name=name).as_outputs()


def test_naming_defaults_are_the_terraform_variable_defaults():
    variables = _variables(ROOT / "variables.tf")
    assert _unquote(variables["name"]["default"]) == DEFAULT_NAME
    assert _unquote(variables["wheel_file_name"]["default"]) == DEFAULT_WHEEL_FILE
    condition = variables["name"]["validation"][0]["condition"]
    assert NAME_PATTERN.pattern in condition.replace("\\\\", "\\")


def test_default_wheel_file_is_what_make_package_builds():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    dist = re.sub(r"[-_.]+", "_", project["name"]).lower()
    assert DEFAULT_WHEEL_FILE == f"{dist}-{project['version']}-py3-none-any.whl"


def test_uris_and_prefixes_match_the_root_locals():
    local_exprs = _locals(ROOT / "main.tf")
    ev = _Evaluator(local_exprs, {"name": DEFAULT_NAME, "wheel_file_name": DEFAULT_WHEEL_FILE})
    names = StackNames()
    assert ev.value(local_exprs["data_prefixes"]) == DATA_PREFIXES
    assert ev.value(local_exprs["config_uri"]) == names.config_uri
    assert ev.value(local_exprs["wheel_uri"]) == names.wheel_uri
    assert ev.value(local_exprs["script_uri"]) == names.script_uri


def test_config_templates_take_the_same_variables():
    """pipeline.yaml.tftpl and the demo template are filled from the same set of names."""
    tftpl = set(re.findall(r"\$\{(\w+)\}", (ROOT / "pipeline.yaml.tftpl").read_text()))
    demo = set(re.findall(r"\$\{(\w+)\}", prov.DEMO_CONFIG_TEMPLATE.read_text()))
    values = StackNames().template_values()
    assert tftpl <= set(values), f"pipeline.yaml.tftpl uses {sorted(tftpl - set(values))}, unknown to naming.template_values()"
    assert demo <= set(values) | {"glue_database"}
    # templatefile() in the root passes exactly these variables.
    passed = set(re.findall(r"(\w+)\s*=\s*local\.", _locals(ROOT / "main.tf")["config_content"]))
    assert passed == set(values)


# -- settings provisioning mirrors ---------------------------------------------------------------

def _resources(path: Path) -> dict:
    out: dict = {}
    for block in _load(path).get("resource", []):
        for rtype, by_name in block.items():
            for name, body in by_name.items():
                out[(_unquote(rtype), _unquote(name))] = body
    return out


def _first(blocks):
    return [b for b in blocks if isinstance(b, dict)][0]


def test_bucket_settings_match_the_storage_module():
    res = _resources(MODULES / "storage" / "main.tf")
    sse = _first(res[("aws_s3_bucket_server_side_encryption_configuration", "this")]["rule"])
    default = _first(sse["apply_server_side_encryption_by_default"])
    assert _unquote(default["sse_algorithm"]) == "aws:kms" and default["kms_master_key_id"] == "${var.kms_key_arn}"
    assert sse["bucket_key_enabled"] is True
    versioning = _first(res[("aws_s3_bucket_versioning", "this")]["versioning_configuration"])
    assert _unquote(versioning["status"]) == "Enabled"
    pab = res[("aws_s3_bucket_public_access_block", "this")]
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    ownership = _first(res[("aws_s3_bucket_ownership_controls", "this")]["rule"])
    assert _unquote(ownership["object_ownership"]) == "BucketOwnerEnforced"
    logging = res[("aws_s3_bucket_logging", "this")]
    assert logging["target_prefix"] == '"${each.value}/"'  # provisioning: "<bucket>/"
    bucket_keys = {_unquote(k) for k in _locals(MODULES / "storage" / "main.tf")["buckets"] if not k.startswith("__")}
    assert bucket_keys == set(StackNames().buckets) == set(prov.LIFECYCLE)


def test_lifecycle_defaults_match_the_storage_module():
    text = (MODULES / "storage" / "variables.tf").read_text()
    block = text[text.index('variable "lifecycle_rules"'):]
    for key, (noncurrent, expiration) in prov.LIFECYCLE.items():
        section = block[block.index(f"{key} = optional(object({{"):]
        section = section[:section.index("}), {})")]
        assert f"abort_incomplete_multipart_upload_days = optional(number, {prov.ABORT_MULTIPART_DAYS})" in section
        assert f"noncurrent_version_expiration_days     = optional(number, {noncurrent})" in section
        expected = "optional(number)" if expiration is None else f"optional(number, {expiration})"
        assert re.search(rf"expiration_days\s+= {re.escape(expected)}\n", section), (key, expected)


def test_kms_settings_match_the_kms_module():
    key = _resources(MODULES / "kms" / "main.tf")[("aws_kms_key", "this")]
    assert key["enable_key_rotation"] is True
    assert _unquote(key["key_usage"]) == "ENCRYPT_DECRYPT" and _unquote(key["customer_master_key_spec"]) == "SYMMETRIC_DEFAULT"
    variables = _variables(MODULES / "kms" / "variables.tf")
    assert variables["rotation_period_in_days"]["default"] == prov.KMS_ROTATION_DAYS
    assert _unquote(variables["description"]["default"]) == prov.KMS_DESCRIPTION
    alias = _resources(MODULES / "kms" / "main.tf")[("aws_kms_alias", "this")]
    assert alias["name"] == '"alias/${var.alias_name}"'


def test_secret_log_group_and_database_settings_match_their_modules():
    secret = _resources(MODULES / "secrets" / "main.tf")[("aws_secretsmanager_secret", "this")]
    assert secret["kms_key_id"] == "${var.kms_key_arn}"
    assert _unquote(_variables(MODULES / "secrets" / "variables.tf")["description"]["default"]) == prov.SECRET_DESCRIPTION
    glue_locals = _locals(MODULES / "glue_job" / "main.tf")
    groups = glue_locals["log_group_names"]
    for suffix in ("/output", "/error"):
        assert f'"${{var.log_group_name}}{suffix}"' in groups
    assert [g.removeprefix(StackNames().log_group) for g in StackNames().log_groups] == ["", "/output", "/error"]
    log_group = _resources(MODULES / "glue_job" / "main.tf")[("aws_cloudwatch_log_group", "this")]
    assert log_group["kms_key_id"] == "${var.kms_key_arn}"
    assert _variables(MODULES / "glue_job" / "variables.tf")["log_retention_in_days"]["default"] == prov.LOG_RETENTION_DAYS
    database = _resources(MODULES / "glue_job" / "main.tf")[("aws_glue_catalog_database", "this")]
    assert database["name"] == "${var.glue_database_name}"
