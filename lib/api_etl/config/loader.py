"""Load a config from a local path or s3:// URI, resolve references, validate.

``load_config`` is what the driver, the CLI and the Glue entry call. Every problem it finds
is collected into one :class:`ConfigError` whose issues name the dotted field path and, for
YAML/JSON files, the line; resolved secret values are scrubbed from every message.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

import yaml
from pydantic import ValidationError

from api_etl.config.errors import ConfigError, ConfigIssue
from api_etl.config.pipeline import PipelineConfig
from api_etl.config.references import ReferenceResolver, SecretFetcher, scrub, secrets_manager_fetcher


class LoadedConfig:
    """A validated config plus what the driver needs to keep secrets out of its output."""

    def __init__(self, config: PipelineConfig, source: str, secret_values: set[str]):
        self.config = config
        self.source = source
        self.secret_values = frozenset(secret_values)

    def __repr__(self) -> str:  # never show values
        return f"LoadedConfig(source={self.source!r}, secrets={len(self.secret_values)})"


def read_text(uri: str) -> str:
    if uri.startswith("s3://"):
        from api_etl.aws.s3 import read_s3_text

        return read_s3_text(uri)
    return pathlib.Path(uri).read_text(encoding="utf-8")


def parse_document(text: str, source: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML or JSON, returning the data and a map from field path to 1-based line."""
    try:
        if source.endswith(".json"):
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, [ConfigIssue("", f"not valid JSON: {exc.msg}", exc.lineno)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(source, [ConfigIssue("", f"not valid YAML: {problem}", line)]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigIssue("", "the document must be a mapping of sections")])
    return data, _line_map(text)


def _line_map(text: str) -> dict[tuple, int]:
    lines: dict[tuple, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, path: tuple) -> None:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                lines[(*path, key)] = key_node.start_mark.line + 1
                walk(value_node, (*path, key))
                lines[(*path, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


def apply_overrides(data: dict, overrides: Iterable[str]) -> dict:
    """Apply ``dotted.path=value`` overrides; the value is parsed as YAML (5 -> int)."""
    for override in overrides:
        if "=" not in override:
            raise ConfigError("--set", [ConfigIssue(override, "expected dotted.path=value")])
        dotted, raw = override.split("=", 1)
        keys = dotted.strip().split(".")
        node = data
        for key in keys[:-1]:
            if isinstance(node, list) and key.isdigit():
                node = node[int(key)]
                continue
            node = node.setdefault(key, {})
            if not isinstance(node, (dict, list)):
                raise ConfigError("--set", [ConfigIssue(dotted, f"'{key}' is not a section")])
        value = yaml.safe_load(raw) if raw.strip() else ""
        if isinstance(node, list) and keys[-1].isdigit():
            node[int(keys[-1])] = value
        else:
            node[keys[-1]] = value
    return data


def _issues_from(exc: ValidationError, data: Any, lines: Mapping[tuple, int]) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors(include_input=False, include_url=False):
        path = _document_path(error["loc"], data)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (not allowed here)"
        elif error["type"] == "missing":
            message = "field required"
        line = None
        probe = path
        while probe and line is None:  # a missing field points at its parent's line
            line = lines.get(probe)
            probe = probe[:-1]
        issues.append(ConfigIssue(".".join(str(p) for p in path), message, line))
    return issues


def _document_path(loc: tuple, data: Any) -> tuple:
    """Drop pydantic's union tags from ``loc`` so it matches the document's own keys."""
    path: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue  # discriminated-union tag, not a key of the document
        if isinstance(node, dict) and part in ("source", "sink", "column_mapping") and part not in node and "tables" in node:
            path.append("tables")
            node = node["tables"]
        path.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(path)


def validate_document(
    data: dict,
    source: str,
    *,
    resolve_secrets: bool = True,
    fetch_secret: SecretFetcher | None = None,
    environ: Mapping[str, str] | None = None,
    lines: Mapping[tuple, int] | None = None,
) -> LoadedConfig:
    lines = lines or {}
    if resolve_secrets and fetch_secret is None:
        fetch_secret = _lazy_secrets_manager()
    resolver = ReferenceResolver(fetch_secret, environ=environ, resolve_secrets=resolve_secrets)
    resolved = resolver.resolve(data)
    issues = [
        ConfigIssue(i.path, i.message, lines.get(tuple(_split(i.path)))) for i in resolver.issues
    ]
    if issues:
        raise ConfigError(source, issues)
    try:
        config = PipelineConfig.model_validate(resolved)
    except ValidationError as exc:
        issues = _issues_from(exc, resolved, lines)
        issues = [ConfigIssue(i.path, scrub(i.message, resolver.secret_values), i.line) for i in issues]
        raise ConfigError(source, issues) from None
    return LoadedConfig(config, source, resolver.secret_values)


def _split(dotted: str) -> list:
    return [int(p) if p.isdigit() else p for p in dotted.split(".")] if dotted else []


def _lazy_secrets_manager() -> SecretFetcher:
    fetcher: SecretFetcher | None = None

    def fetch(secret_id: str) -> str:
        nonlocal fetcher
        if fetcher is None:
            fetcher = secrets_manager_fetcher()
        return fetcher(secret_id)

    return fetch


def load_config(
    uri: str,
    *,
    overrides: Iterable[str] = (),
    resolve_secrets: bool = True,
    fetch_secret: SecretFetcher | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    try:
        text = read_text(uri)
    except FileNotFoundError:
        raise ConfigError(uri, [ConfigIssue("", "file not found")]) from None
    except Exception as exc:  # noqa: BLE001 - S3 errors become config errors, exit code 2
        raise ConfigError(uri, [ConfigIssue("", f"cannot read: {type(exc).__name__}: {exc}")]) from None
    data, lines = parse_document(text, uri)
    data = apply_overrides(data, overrides)
    return validate_document(
        data, uri, resolve_secrets=resolve_secrets, fetch_secret=fetch_secret,
        environ=environ, lines=lines,
    )
