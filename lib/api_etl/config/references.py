"""Resolve ``{{secret.ID:KEY}}`` and ``{{env.NAME}}`` references before validation.

References are replaced in string values of the parsed document (never in its raw text,
so a secret containing quotes or colons cannot break the YAML). One ``get_secret_value``
per secret id, cached for the life of the resolver. Errors name the reference, never a
value; every value resolved from a secret is remembered so callers can scrub it from text.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from api_etl.config.errors import ConfigIssue

REFERENCE = re.compile(r"\{\{\s*(secret|env)\.([^}:\s]+)(?::([^}\s]+))?\s*\}\}")

SecretFetcher = Callable[[str], str]
"""secret id -> SecretString. Raises KeyError when the secret does not exist."""


def secrets_manager_fetcher(region: str | None = None) -> SecretFetcher:
    """A fetcher backed by AWS Secrets Manager (honours AWS_ENDPOINT_URL for emulators)."""
    import boto3  # imported here so config validation without secrets needs no AWS setup

    client = boto3.client("secretsmanager", region_name=region)

    def fetch(secret_id: str) -> str:
        try:
            value = client.get_secret_value(SecretId=secret_id)
        except client.exceptions.ResourceNotFoundException as exc:
            raise KeyError(secret_id) from exc
        if "SecretString" not in value:
            raise ValueError("secret has no SecretString (binary secrets are not supported)")
        return value["SecretString"]

    return fetch


class ReferenceResolver:
    def __init__(
        self,
        fetch_secret: SecretFetcher | None,
        environ: Mapping[str, str] | None = None,
        resolve_secrets: bool = True,
    ):
        self._fetch = fetch_secret
        self._environ = os.environ if environ is None else environ
        self._resolve_secrets = resolve_secrets
        self._cache: dict[str, str | None] = {}  # None: fetching failed, reported once
        self.secret_values: set[str] = set()
        self.issues: list[ConfigIssue] = []
        self.fetch_count = 0

    def resolve(self, document: Any) -> Any:
        return self._walk(document, ())

    def _walk(self, node: Any, path: tuple) -> Any:
        if isinstance(node, dict):
            return {k: self._walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self._walk(v, (*path, i)) for i, v in enumerate(node)]
        if isinstance(node, str) and "{{" in node:
            return REFERENCE.sub(lambda m: self._substitute(m, path), node)
        return node

    def _substitute(self, match: re.Match, path: tuple) -> str:
        kind, name, key = match.group(1), match.group(2), match.group(3)
        where = ".".join(str(p) for p in path)
        if kind == "env":
            if key is not None:
                self._issue(where, f"{{{{env.{name}}}}} takes no ':KEY'")
                return match.group(0)
            if name not in self._environ:
                self._issue(where, f"environment variable {name} referenced by {{{{env.{name}}}}} is not set")
                return match.group(0)
            return self._environ[name]
        reference = f"{{{{secret.{name}{':' + key if key else ''}}}}}"
        if not self._resolve_secrets:
            return match.group(0)
        secret = self._secret_string(name, reference, where)
        if secret is None:
            return match.group(0)
        if key is None:
            self.secret_values.add(secret)
            return secret
        try:
            data = json.loads(secret)
        except ValueError:
            self._issue(where, f"{reference}: secret '{name}' is not a JSON object, so ':{key}' cannot be read")
            return match.group(0)
        if not isinstance(data, dict) or key not in data:
            keys = sorted(data) if isinstance(data, dict) else []
            self._issue(where, f"{reference}: secret '{name}' has no key '{key}' (keys: {keys})")
            return match.group(0)
        value = data[key]
        value = value if isinstance(value, str) else json.dumps(value)
        self.secret_values.add(value)
        return value

    def _secret_string(self, name: str, reference: str, where: str) -> str | None:
        if name in self._cache:
            return self._cache[name]
        self._cache[name] = None
        if self._fetch is None:
            self._issue(where, f"{reference}: no secret store configured")
            return None
        try:
            self.fetch_count += 1
            secret = self._fetch(name)
        except KeyError:
            self._issue(where, f"{reference}: secret '{name}' was not found")
            return None
        except Exception as exc:  # noqa: BLE001 - report, never leak the value
            self._issue(where, f"{reference}: secret '{name}' could not be read ({type(exc).__name__})")
            return None
        self._cache[name] = secret
        return secret

    def _issue(self, where: str, message: str) -> None:
        self.issues.append(ConfigIssue(where, message))


def scrub(text: str, secrets: set[str]) -> str:
    """Replace every known secret value in ``text`` with ``***`` (longest first)."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= 4:  # scrubbing 1-3 character "secrets" would mangle ordinary text
            text = text.replace(value, "***")
    return text
