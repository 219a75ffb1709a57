"""The pipeline config the root example renders and uploads is valid for the library."""

from __future__ import annotations

import re

import yaml

from api_etl.config import validate_document
from terraform_checks.tree import ROOT_EXAMPLE_DIR, expr

TEMPLATE = ROOT_EXAMPLE_DIR / "pipeline.yaml.tftpl"


def _render(values: dict) -> str:
    text = TEMPLATE.read_text()
    assert "%{" not in text  # no template directives: ${name} substitution is all there is
    names = set(re.findall(r"\$\{(\w+)\}", text))
    assert names <= set(values), f"unset template variables {names - set(values)}"
    return re.sub(r"\$\{(\w+)\}", lambda m: str(values[m.group(1)]), text)


def test_rendered_config_validates_against_the_library(root):
    # templatefile() gets exactly these variables from the root example.
    call = expr(root.locals["config_content"])
    passed = set(re.findall(r"(\w+)\s*=\s*local\.", call))
    values = {
        "artifacts_bucket": "api-etl-demo-artifacts-123456789012",
        "data_bucket": "api-etl-demo-data-123456789012",
        "source_prefix": "source/", "sink_prefix": "sink/",
        "checkpoints_prefix": "checkpoints/", "dead_letter_prefix": "dead-letter/",
        "secret_name": "api-etl-demo/api-credentials",
        "metrics_namespace": "ApiEtl", "job_name": "api-etl-demo-job",
    }
    assert passed == set(values)
    document = yaml.safe_load(_render(values))
    loaded = validate_document(document, str(TEMPLATE), resolve_secrets=False)
    config = loaded.config
    assert config.source.path == "s3://api-etl-demo-data-123456789012/source/"
    assert config.sink.path == "s3://api-etl-demo-data-123456789012/sink/"
    assert config.metrics.namespace == "ApiEtl"
    assert "{{secret.api-etl-demo/api-credentials:client_secret}}" in _render(values)
