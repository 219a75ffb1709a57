"""Fixtures of the Terraform static test tier (marker ``terraform``).

Tools come from ``make terraform-tools``; their paths from the environment, with defaults
computed from this file's location (never machine-specific paths):

* ``TF_SCHEMA_EXTRACT``: the AWS provider schema extract (default: the api-etl cache dir);
* ``CHECKOV_BIN``: checkov in its own venv (default: ``<repo>/.venv-checkov/bin/checkov``).

A missing tool fails the tests that need it, with the command that builds it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from terraform_checks.schema_check import Schema, default_extract_path
from terraform_checks.tree import MODULES_DIR, REPO_ROOT, ROOT_EXAMPLE_DIR, load_module, module_dirs

os.environ.setdefault("CHECKPOINT_DISABLE", "1")

TOOLS_HINT = "run `make terraform-tools` (it builds the schema extract and the checkov venv)"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.terraform)


@pytest.fixture(scope="session")
def schema() -> Schema:
    path = default_extract_path()
    if not path.is_file():
        pytest.fail(f"AWS provider schema extract missing at {path}: {TOOLS_HINT}", pytrace=False)
    return Schema.load(path)


@pytest.fixture(scope="session")
def checkov_bin() -> Path:
    path = Path(os.environ.get("CHECKOV_BIN") or REPO_ROOT / ".venv-checkov" / "bin" / "checkov")
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"checkov not found at {path}: {TOOLS_HINT}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def modules() -> dict:
    return {d.name: load_module(d) for d in module_dirs()}


@pytest.fixture(scope="session")
def root():
    return load_module(ROOT_EXAMPLE_DIR)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def modules_dir() -> Path:
    return MODULES_DIR
