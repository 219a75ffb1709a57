"""Header helpers shared by the auth providers."""

from __future__ import annotations


def set_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set ``name`` to ``value``, replacing any spelling of it (headers are case-insensitive)."""
    lname = name.lower()
    for key in [k for k in headers if k.lower() == lname]:
        del headers[key]
    headers[name] = value


def get_header(headers: dict[str, str], name: str) -> str | None:
    lname = name.lower()
    for key, value in headers.items():
        if key.lower() == lname:
            return value
    return None
