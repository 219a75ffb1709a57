"""Offline stand-in for ``terraform validate``: check HCL against the AWS provider schema.

No provider binary exists on the development machines, so ``terraform validate`` cannot run.
This check reads the compact schema extract built by ``make terraform-tools``
(``extract_schema.py``, from the schema-generated ``cdktn-provider-aws`` package) and checks
every ``resource``, ``data`` and ``provider "aws"`` block, recursively through nested and
``dynamic`` blocks, plus every ``module`` call with a local source against the module's
variables. It reports, with file, line and address:

* an unknown argument or block type (with a "did you mean"),
* a missing required argument or block,
* a block written as an argument (``x = {...}`` where ``x { ... }`` is needed), and the reverse,
* a block that may appear at most once written more than once,
* a literal of the wrong kind (a list where a string is expected, a string for a map...),
* an unknown resource or data source type.

It does not check enum values, ConflictsWith rules, or references between resources.

Usage: ``python -m terraform_checks.schema_check [--extract PATH] DIR_OR_FILE ...``
(exit 1 on findings, 2 when the extract is missing).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CDKTN_PROVIDER_AWS_VERSION = "25.8.1"
EXTRACT_FORMAT = 1
EXTRACT_NAME = f"aws-provider-schema-cdktn-{CDKTN_PROVIDER_AWS_VERSION}.json"
MISSING_TOOLS_HINT = "run `make terraform-tools` to build it"

RESOURCE_META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
DATA_META = {"count", "for_each", "depends_on", "provider", "lifecycle"}
MODULE_META = {"source", "version", "providers", "count", "for_each", "depends_on"}
PRIMITIVES = {"string", "number", "bool"}


def default_extract_path() -> Path:
    env = os.environ.get("TF_SCHEMA_EXTRACT")
    if env:
        return Path(env)
    cache = os.environ.get("API_ETL_CACHE_DIR")
    if not cache:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        cache = os.path.join(base, "api-etl")
    return Path(cache) / EXTRACT_NAME


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.address}: {self.message}"


class Schema:
    def __init__(self, data: dict):
        if data.get("format") != EXTRACT_FORMAT:
            raise ValueError(f"schema extract format {data.get('format')!r}, expected {EXTRACT_FORMAT}")
        self.provider_version: str = data["provider_version"]
        self.resources: dict[str, int] = data["resources"]
        self.data_sources: dict[str, int] = data["data_sources"]
        self.provider_config: int = data["provider_config"]
        self.structs: list[dict] = data["structs"]

    @classmethod
    def load(cls, path: Path | str) -> Schema:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"AWS provider schema extract not found at {path}: {MISSING_TOOLS_HINT}")
        with path.open() as handle:
            return cls(json.load(handle))


def unquote(label: str) -> str:
    return label[1:-1] if len(label) >= 2 and label[0] == label[-1] == '"' else label


def did_you_mean(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def is_block_list(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


def literal_kind(value) -> str | None:
    """Kind of a literal value as python-hcl2 renders it; None for expressions."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        if value.startswith('"') or value.startswith("<<"):
            return "string"
        return None  # ${...} expression: type unknown
    return None


def kind_mismatch(expected: str, got: str | None) -> bool:
    if got is None or expected == "any":
        return False
    if expected in PRIMITIVES:
        return got in ("list", "object")
    if expected == "list":
        return got in ("object", "string", "number", "bool")
    if expected in ("map", "object"):
        return got in ("list", "string", "number", "bool")
    return False


class FileChecker:
    def __init__(self, schema: Schema, path: Path, display: str):
        self.schema = schema
        self.path = path
        self.display = display
        self.text = path.read_text()
        self.lines = self.text.splitlines()
        self.findings: list[Finding] = []

    # -- locating lines -------------------------------------------------------------------
    def header_line(self, kind: str, labels: list[str]) -> int:
        pattern = r"^\s*" + re.escape(kind) + "".join(r'\s+"' + re.escape(l) + '"' for l in labels) + r"\s*\{"
        for i, line in enumerate(self.lines, 1):
            if re.search(pattern, line):
                return i
        return 1

    def key_line(self, start: int, key: str) -> int:
        pattern = re.compile(r"^\s*(dynamic\s+\"" + re.escape(key) + r"\"|" + re.escape(key) + r")\s*[={]")
        for i in range(start - 1, len(self.lines)):
            if pattern.search(self.lines[i]):
                return i + 1
        return start

    def add(self, line: int, address: str, message: str) -> None:
        self.findings.append(Finding(self.display, line, address, message))

    # -- bodies ---------------------------------------------------------------------------
    def check_body(self, body: dict, struct_index: int | None, address: str, line: int, meta: set[str]) -> None:
        if struct_index is None:
            return  # a block with an untyped body in the schema
        struct = self.schema.structs[struct_index]
        attrs: dict = struct["a"]
        blocks: dict = struct["b"]
        seen: Counter = Counter()
        for key, value in body.items():
            if key.startswith("__") or key in meta:
                continue
            key_line = self.key_line(line, key)
            if key == "dynamic" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
                for dynamic in value:
                    for label, dyn_body in dynamic.items():
                        if label.startswith("__"):
                            continue
                        name = unquote(label)
                        dyn_line = self.key_line(line, name)
                        if name in blocks:
                            seen[name] += 1
                            for content in dyn_body.get("content", []) if isinstance(dyn_body, dict) else []:
                                self.check_body(content, blocks[name][2], f"{address}.{name}", dyn_line, set())
                        elif name in attrs:
                            self.add(dyn_line, address, f'"{name}" is an argument, not a block: write {name} = ..., not dynamic "{name}"')
                        else:
                            self.add(dyn_line, address, f'unknown block type "{name}"{did_you_mean(name, blocks)}')
                continue
            if is_block_list(value):
                if key in blocks:
                    seen[key] += len(value)
                    for item in value:
                        self.check_body(item, blocks[key][2], f"{address}.{key}", key_line, set())
                elif key in attrs:
                    self.add(key_line, address, f'"{key}" is an argument, not a block: write {key} = ..., not {key} {{ ... }}')
                else:
                    self.add(key_line, address, f'unknown block type "{key}"{did_you_mean(key, blocks or attrs)}')
                continue
            if key in attrs:
                expected = attrs[key][1]
                got = literal_kind(value)
                if kind_mismatch(expected, got):
                    self.add(key_line, address, f'argument "{key}" expects a {expected}, got a {got} literal')
            elif key in blocks:
                self.add(key_line, address, f'"{key}" is a block, not an argument: write {key} {{ ... }}, not {key} = ...')
            else:
                self.add(key_line, address, f'unknown argument "{key}"{did_you_mean(key, list(attrs) + list(blocks))}')
        for name, (required, nesting, _) in blocks.items():
            if nesting == "single" and seen[name] > 1:
                self.add(self.key_line(line, name), address, f'block "{name}" may appear at most once, found {seen[name]}')
            if required and seen[name] == 0 and name not in body:
                self.add(line, address, f'missing required block "{name}"')
        for name, (required, _) in attrs.items():
            if required and name not in body:
                self.add(line, address, f'missing required argument "{name}"')

    # -- top level ------------------------------------------------------------------------
    def check(self, parsed: dict, module_variables) -> None:
        for resource_group in parsed.get("resource", []):
            for type_label, by_name in resource_group.items():
                if type_label.startswith("__"):
                    continue
                rtype = unquote(type_label)
                for name_label, body in by_name.items():
                    if name_label.startswith("__"):
                        continue
                    name = unquote(name_label)
                    self._check_typed("resource", rtype, name, body, self.schema.resources, RESOURCE_META, rtype)
        for data_group in parsed.get("data", []):
            for type_label, by_name in data_group.items():
                if type_label.startswith("__"):
                    continue
                dtype = unquote(type_label)
                for name_label, body in by_name.items():
                    if name_label.startswith("__"):
                        continue
                    name = unquote(name_label)
                    self._check_typed("data", dtype, name, body, self.schema.data_sources, DATA_META, f"data.{dtype}")
        for provider_group in parsed.get("provider", []):
            for label, body in provider_group.items():
                if unquote(label) != "aws":
                    continue
                line = self.header_line("provider", ["aws"])
                self.check_body(body, self.schema.provider_config, "provider.aws", line, {"version"})
        for module_group in parsed.get("module", []):
            for label, body in module_group.items():
                if label.startswith("__"):
                    continue
                self._check_module(unquote(label), body, module_variables)

    def _check_typed(self, kind, tf_type, name, body, table, meta, address_prefix) -> None:
        line = self.header_line(kind, [tf_type, name])
        address = f"{address_prefix}.{name}"
        if not tf_type.startswith("aws_"):
            return  # other providers are not in the extract
        if tf_type not in table:
            what = "resource" if kind == "resource" else "data source"
            self.add(line, address, f'unknown {what} type "{tf_type}"{did_you_mean(tf_type, table)}')
            return
        self.check_body(body, table[tf_type], address, line, meta)

    def _check_module(self, name, body, module_variables) -> None:
        source = unquote(str(body.get("source", "")))
        line = self.header_line("module", [name])
        address = f"module.{name}"
        if not (source.startswith("./") or source.startswith("../")):
            return
        module_dir = (self.path.parent / source).resolve()
        variables = module_variables(module_dir)
        if variables is None:
            self.add(line, address, f'module source "{source}" has no .tf files')
            return
        for key in body:
            if key.startswith("__") or key in MODULE_META:
                continue
            if key not in variables:
                self.add(self.key_line(line, key), address, f'unknown module input "{key}"{did_you_mean(key, variables)}')
        for var_name, has_default in variables.items():
            if not has_default and var_name not in body:
                self.add(line, address, f'missing required module input "{var_name}"')


def parse_hcl(path: Path) -> dict:
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(explicit_blocks=True, with_comments=False)
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=options)


class Checker:
    def __init__(self, schema: Schema):
        self.schema = schema
        self._module_cache: dict[Path, dict | None] = {}

    def module_variables(self, module_dir: Path) -> dict[str, bool] | None:
        if module_dir not in self._module_cache:
            files = sorted(module_dir.glob("*.tf")) if module_dir.is_dir() else []
            if not files:
                self._module_cache[module_dir] = None
            else:
                variables: dict[str, bool] = {}
                for tf in files:
                    for group in parse_hcl(tf).get("variable", []):
                        for label, body in group.items():
                            if not label.startswith("__"):
                                variables[unquote(label)] = "default" in body
                self._module_cache[module_dir] = variables
        return self._module_cache[module_dir]

    def check_file(self, path: Path, display: str | None = None) -> list[Finding]:
        checker = FileChecker(self.schema, path, display or str(path))
        try:
            parsed = parse_hcl(path)
        except Exception as exc:  # noqa: BLE001 - any parse failure is a finding
            return [Finding(checker.display, 1, "-", f"cannot parse HCL: {type(exc).__name__}: {exc}")]
        checker.check(parsed, self.module_variables)
        return checker.findings

    def check_paths(self, paths, relative_to: Path | None = None) -> list[Finding]:
        findings: list[Finding] = []
        for path in tf_files(paths):
            display = str(path.relative_to(relative_to)) if relative_to and path.is_relative_to(relative_to) else str(path)
            findings.extend(self.check_file(path, display))
        return findings


def tf_files(paths) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(f for f in sorted(p.rglob("*.tf")) if ".terraform" not in f.parts)
        elif p.suffix == ".tf":
            out.append(p)
    return [f.resolve() for f in out]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=Path, default=None, help="schema extract (default: $TF_SCHEMA_EXTRACT or the cache)")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    try:
        schema = Schema.load(args.extract or default_extract_path())
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    findings = Checker(schema).check_paths(args.paths, Path.cwd())
    for finding in findings:
        print(finding)
    files = len(tf_files(args.paths))
    print(f"{len(findings)} finding(s) in {files} file(s), against hashicorp/aws {schema.provider_version}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
