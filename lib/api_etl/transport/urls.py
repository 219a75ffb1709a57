"""URL redaction for messages and logs.

A URL may carry credentials in its user-info (``https://user:pass@host``) or in its query
string (an API key sent as ``?api_key=...``). Everything the transport and the auth providers
put in an exception message or a log line goes through :func:`redact_url` first, which keeps
only scheme, host, port and path.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """``url`` without user-info, query string and fragment (``scheme://host:port/path``)."""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port is not None else host
    except ValueError:  # unparseable (e.g. a bad port): keep what precedes any query string
        return str(url).split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
