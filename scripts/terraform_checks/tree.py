"""Parsed view of a Terraform directory (python-hcl2), for the wiring tests.

python-hcl2 keeps string literals quoted (``'"abc"'``) and renders expressions as
``'${...}'``; blocks are lists of dicts marked ``__is_block__``. ``lit()`` and ``expr()`` turn
those back into plain text so tests can compare them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from terraform_checks.schema_check import parse_hcl, unquote

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"
ROOT_EXAMPLE_DIR = TERRAFORM_DIR / "examples" / "complete"


def lit(value):
    """A quoted string literal without its quotes; other values unchanged."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def expr(value):
    """An expression's text without the ${ } wrapper; other values unchanged."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]
    return value


def blocks(value) -> list[dict]:
    """The blocks of a nested-block key (empty when absent)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def clean(body: dict) -> dict:
    return {k: v for k, v in body.items() if not k.startswith("__")}


@dataclass
class Module:
    path: Path
    resources: dict[str, dict[str, dict]] = field(default_factory=dict)
    data: dict[str, dict[str, dict]] = field(default_factory=dict)
    locals: dict[str, object] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    modules: dict[str, dict] = field(default_factory=dict)
    terraform: list[dict] = field(default_factory=list)
    providers: dict[str, dict] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def resource(self, rtype: str, name: str) -> dict:
        return self.resources[rtype][name]

    def all_resources(self):
        for rtype, by_name in self.resources.items():
            for name, body in by_name.items():
                yield rtype, name, body


def _labelled(groups, depth: int) -> dict:
    out: dict = {}
    for group in groups:
        for label, body in group.items():
            if label.startswith("__"):
                continue
            if depth == 2:
                inner = out.setdefault(unquote(label), {})
                for name, b in body.items():
                    if not name.startswith("__"):
                        inner[unquote(name)] = clean(b)
            else:
                out[unquote(label)] = clean(body)
    return out


def load_module(path: Path) -> Module:
    module = Module(path=path)
    for tf in sorted(path.glob("*.tf")):
        parsed = parse_hcl(tf)
        module.files.append(tf)
        for rtype, by_name in _labelled(parsed.get("resource", []), 2).items():
            module.resources.setdefault(rtype, {}).update(by_name)
        for dtype, by_name in _labelled(parsed.get("data", []), 2).items():
            module.data.setdefault(dtype, {}).update(by_name)
        for group in parsed.get("locals", []):
            module.locals.update(clean(group))
        module.variables.update(_labelled(parsed.get("variable", []), 1))
        module.outputs.update(_labelled(parsed.get("output", []), 1))
        module.modules.update(_labelled(parsed.get("module", []), 1))
        module.providers.update(_labelled(parsed.get("provider", []), 1))
        module.terraform.extend(clean(t) for t in parsed.get("terraform", []))
    return module


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES_DIR.iterdir() if p.is_dir())


def all_module_dirs() -> list[Path]:
    """Every Terraform directory under terraform/: the modules and the examples."""
    return sorted({tf.parent for tf in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in tf.parts})


def policy_statements(document: dict):
    """(statement, dynamic) for each statement of an aws_iam_policy_document body."""
    for statement in blocks(document.get("statement")):
        yield clean(statement), False
    for dynamic in blocks(document.get("dynamic")):
        for label, body in dynamic.items():
            if unquote(label) == "statement":
                for content in blocks(body.get("content")):
                    yield clean(content), True


def nested(body: dict, name: str) -> list[dict]:
    """Static and dynamic (content) blocks called ``name`` inside ``body``."""
    out = [clean(b) for b in blocks(body.get(name))]
    for dynamic in blocks(body.get("dynamic")):
        for label, dyn in dynamic.items():
            if unquote(label) == name:
                out.extend(clean(c) for c in blocks(dyn.get("content")))
    return out
