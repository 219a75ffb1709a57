"""Build a compact AWS provider schema extract from the cdktn-provider-aws jsii assembly.

The ``cdktn-provider-aws`` wheel (PyPI) is generated from the provider's own schema. Inside
it, ``_jsii/provider-aws@<version>.jsii.tgz`` holds ``package/.jsii``: a JSON assembly in
which every resource and data source class links to its registry page
(``.../hashicorp/aws/<provider version>/docs/resources/<type>``) and its ``...Config``
struct lists every argument. Per property:

* the exact Terraform name is the anchor of its registry link (``...glue_job#glue_version``);
* ``optional`` absent means required;
* a nested block has the doc summary ``"<name> block."``: a struct type means at most one
  (``single``), an array means repeatable (``list``).

The extract (a few MB of JSON) records, per resource/data source, its attributes
(required flag, type class) and nested blocks (nesting mode, required flag, body).

Usage: ``python extract_schema.py WHEEL OUT_JSON``. Standard library only: it runs with any
Python 3.9+ (the Makefile target ``terraform-tools`` calls it).
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import tarfile
import tempfile
import zipfile

FORMAT_VERSION = 1
LINK_RE = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/aws/(?P<version>[0-9.]+)/docs"
    r"(?:/(?P<kind>resources|data-sources)/(?P<type>[a-z0-9_]+))?(?:#(?P<anchor>[A-Za-z0-9_]+))?"
)
META_ARGUMENTS_BASE = "cdktn.TerraformMetaArguments"


def _load_assembly(wheel_path: str) -> dict:
    with zipfile.ZipFile(wheel_path) as wheel:
        names = [n for n in wheel.namelist() if n.endswith(".jsii.tgz")]
        if len(names) != 1:
            raise SystemExit(f"{wheel_path}: expected one *.jsii.tgz, found {names}")
        tgz = wheel.read(names[0])
    with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
        member = tar.getmember("package/.jsii")
        raw = tar.extractfile(member).read()
    assembly = json.loads(raw)
    if assembly.get("schema") == "jsii/file-redirect":  # compressed assemblies
        raise SystemExit("compressed (file-redirect) assemblies are not supported")
    return assembly


def _docs_text(docs: dict) -> str:
    return " ".join(str(docs.get(k, "")) for k in ("summary", "remarks", "see"))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _type_class(jtype: dict) -> str:
    if "primitive" in jtype:
        return {"string": "string", "number": "number", "boolean": "bool"}.get(
            jtype["primitive"], "any"
        )
    if "collection" in jtype:
        return "list" if jtype["collection"]["kind"] == "array" else "map"
    if "union" in jtype:
        kinds = {_type_class(t) for t in jtype["union"]["types"] if not _is_resolvable(t)}
        return kinds.pop() if len(kinds) == 1 else "any"
    if "fqn" in jtype:
        return "object"
    return "any"


def _is_resolvable(jtype: dict) -> bool:
    return jtype.get("fqn", "").startswith("cdktn.")


def _block_target(jtype: dict) -> tuple[str, str | None]:
    """(nesting, struct fqn or None) for a property documented as a block."""
    if "fqn" in jtype and not _is_resolvable(jtype):
        return "single", jtype["fqn"]
    candidates = jtype["union"]["types"] if "union" in jtype else [jtype]
    for cand in candidates:
        if "collection" in cand and cand["collection"]["kind"] == "array":
            elem = cand["collection"]["elementtype"]
            return "list", elem.get("fqn")
    return "list", None  # a block without a typed body ("any"): body not checked


class Extractor:
    def __init__(self, assembly: dict):
        self.types = assembly["types"]
        self.structs: dict[str, int] = {}
        self.out_structs: list[dict | None] = []
        self.provider_versions: set[str] = set()

    def struct(self, fqn: str | None) -> int | None:
        if fqn is None or fqn not in self.types:
            return None
        if fqn in self.structs:
            return self.structs[fqn]
        index = len(self.out_structs)
        self.structs[fqn] = index
        self.out_structs.append(None)  # reserve (recursion-safe)
        attributes: dict[str, list] = {}
        blocks: dict[str, list] = {}
        for prop in self.types[fqn].get("properties", []):
            docs = prop.get("docs", {})
            match = LINK_RE.search(_docs_text(docs))
            tf_name = match.group("anchor") if match and match.group("anchor") else None
            tf_name = tf_name or _snake(prop["name"])
            required = 0 if prop.get("optional") else 1
            if str(docs.get("summary", "")).endswith(" block."):
                nesting, body_fqn = _block_target(prop["type"])
                blocks[tf_name] = [required, nesting, self.struct(body_fqn)]
            else:
                attributes[tf_name] = [required, _type_class(prop["type"])]
        self.out_structs[index] = {"a": attributes, "b": blocks}
        return index

    def run(self) -> dict:
        resources: dict[str, int] = {}
        data_sources: dict[str, int] = {}
        provider: int | None = None
        for fqn, jtype in sorted(self.types.items()):
            if jtype.get("kind") != "class":
                continue
            base = jtype.get("base")
            if base not in ("cdktn.TerraformResource", "cdktn.TerraformDataSource",
                            "cdktn.TerraformProvider"):
                continue
            match = LINK_RE.search(_docs_text(jtype.get("docs", {})))
            if not match:
                continue
            params = jtype.get("initializer", {}).get("parameters", [])
            config = next((p for p in params if p["name"] == "config"), None)
            if config is None:
                continue
            self.provider_versions.add(match.group("version"))
            if base == "cdktn.TerraformProvider":
                provider = self.struct(config["type"]["fqn"])
                continue
            if not match.group("type"):
                continue
            tf_type = "aws_" + match.group("type")
            target = resources if match.group("kind") == "resources" else data_sources
            target[tf_type] = self.struct(config["type"]["fqn"])
        if provider is None or not resources or not data_sources:
            raise SystemExit("no provider, resource or data source classes found in the assembly")
        if len(self.provider_versions) != 1:
            raise SystemExit(f"expected one provider version, found {self.provider_versions}")
        return {
            "format": FORMAT_VERSION,
            "provider": "hashicorp/aws",
            "provider_version": self.provider_versions.pop(),
            "provider_config": provider,
            "resources": resources,
            "data_sources": data_sources,
            "structs": self.out_structs,
        }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: extract_schema.py WHEEL OUT_JSON", file=sys.stderr)
        return 2
    wheel_path, out_path = argv[1], argv[2]
    extract = Extractor(_load_assembly(wheel_path)).run()
    extract["source"] = os.path.basename(wheel_path)
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(extract, handle, separators=(",", ":"), sort_keys=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, out_path)  # atomic: a half-written extract is never seen
    print(
        f"wrote {out_path}: provider {extract['provider_version']}, "
        f"{len(extract['resources'])} resources, {len(extract['data_sources'])} data sources"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
