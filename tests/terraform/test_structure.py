"""terraform-aws-modules layout: files per module, typed/described/validated variables, docs."""

from __future__ import annotations

import pytest

from terraform_checks.tree import MODULES_DIR, ROOT_EXAMPLE_DIR, TERRAFORM_DIR, all_module_dirs, expr, lit, load_module

MODULES = ["kms", "storage", "secrets", "iam", "glue_job", "monitoring"]
# Variables with no domain to validate: free text, tags, switches, pass-through maps.
NO_DOMAIN = {"description", "tags", "config_content", "python_modules_installer_option", "dist_dir"}


def test_the_six_modules_and_the_root_example_exist():
    assert sorted(p.name for p in MODULES_DIR.iterdir() if p.is_dir()) == sorted(MODULES)
    assert ROOT_EXAMPLE_DIR.is_dir()


@pytest.mark.parametrize("directory", all_module_dirs(), ids=lambda p: p.name)
def test_standard_files(directory):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).is_file(), f"{directory.name}/{name} missing"


@pytest.mark.parametrize("directory", all_module_dirs(), ids=lambda p: p.name)
def test_variables_typed_described_and_validated(directory):
    module = load_module(directory)
    assert module.variables
    for name, body in module.variables.items():
        assert "type" in body, f"{directory.name}: variable {name} has no type"
        assert len(lit(body.get("description", ""))) >= 10, f"{directory.name}: variable {name} has no description"
        if name in NO_DOMAIN or expr(body["type"]) == "bool":
            continue
        assert body.get("validation"), f"{directory.name}: variable {name} has a domain but no validation"


@pytest.mark.parametrize("directory", all_module_dirs(), ids=lambda p: p.name)
def test_outputs_described(directory):
    module = load_module(directory)
    assert module.outputs
    for name, body in module.outputs.items():
        assert len(lit(body.get("description", ""))) >= 10, f"{directory.name}: output {name} has no description"


@pytest.mark.parametrize("directory", all_module_dirs(), ids=lambda p: p.name)
def test_readme_lists_every_input_and_output(directory):
    readme = (directory / "README.md").read_text()
    module = load_module(directory)
    for name in list(module.variables) + list(module.outputs):
        assert f"`{name}`" in readme, f"{directory.name}/README.md does not document `{name}`"


def test_terraform_readme_covers_the_issue():
    text = (TERRAFORM_DIR / "README.md").read_text().lower()
    for topic in ("make package", "terraform apply", "put-secret-value", "start-job-run", "dashboard",
                  "dpu", "destroy", "make terraform-tools", "checkov"):
        assert topic in text, f"terraform/README.md lacks {topic!r}"
