"""Configuration errors that name the field (and YAML line) and never the value."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ConfigIssue:
    path: str  # dotted field path, e.g. "auth.client_secret" or "middleware.2.type"
    message: str
    line: int | None = None  # 1-based line in the YAML/JSON file, when known

    def __str__(self) -> str:
        where = f"{self.path or '<root>'}"
        if self.line is not None:
            where += f" (line {self.line})"
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; ``issues`` lists every problem found."""

    def __init__(self, source: str, issues: list[ConfigIssue]):
        self.source = source
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"invalid configuration {source}: {len(issues)} error(s)\n{lines}")
