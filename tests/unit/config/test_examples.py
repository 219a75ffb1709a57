"""Every example config shipped in docs/examples validates (secrets left unresolved)."""

import pathlib

import pytest

from api_etl.config import load_config

EXAMPLES = sorted((pathlib.Path(__file__).parents[3] / "docs" / "examples").glob("*.yaml"))


def test_examples_exist():
    assert any(p.name == "seed_template.yaml" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path):
    loaded = load_config(str(path), resolve_secrets=False)
    assert loaded.config.source.id_column


def test_seed_template_keeps_its_meaning():
    cfg = load_config(str(EXAMPLES[0].parent / "seed_template.yaml"), resolve_secrets=False).config
    assert cfg.auth.type == "oauth2_password"
    assert cfg.source.table.identifier == "schema.api_staging"
    assert cfg.sink.table.identifier == "schema.api_response"
    assert cfg.endpoint.body_mapping() == {"patient": "patient_id"}
    assert cfg.transport.total_timeout == 30 and cfg.transport.tcp_connection.limit == 10
    assert [m.type for m in cfg.middleware] == ["retry", "logging", "timing", "json_body"]
    assert cfg.middleware[0].retry_status_codes == [429, 500, 502, 503]


def test_config_reference_is_current():
    """docs/config-reference.md is generated from the models; regenerate it when they change."""
    import importlib.util

    root = pathlib.Path(__file__).parents[3]
    spec = importlib.util.spec_from_file_location("gen", root / "scripts" / "dev" / "gen_config_reference.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    current = (root / "docs" / "config-reference.md").read_text(encoding="utf-8")
    assert current == gen.render(), "run: .venv/bin/python scripts/dev/gen_config_reference.py"
