"""mTLS: a client certificate from PEM strings, loaded into an ``ssl.SSLContext``.

``ssl`` can only load a certificate chain from files, so the PEMs are written to a private
temporary directory (``mkdtemp``: mode 0700; files created with O_EXCL and mode 0600),
loaded, and removed at once, whether loading worked or not. The CA bundle, if any, is
loaded from memory (``cadata``) and never touches the disk.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile

from api_etl.auth.base import AuthError
from api_etl.engine.exchange import HttpRequest


def _write_private(directory: str, name: str, content: str) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(content)
    return path


def load_client_ssl_context(
    cert_pem: str,
    key_pem: str,
    *,
    ca_pem: str | None = None,
    key_password: str | None = None,
    tmp_root: str | None = None,
) -> ssl.SSLContext:
    """A client SSL context presenting ``cert_pem``/``key_pem`` and trusting ``ca_pem``
    (or the system CAs). ``tmp_root`` is where the private temp directory is made."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem or None)
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise AuthError(f"mTLS: could not load the CA certificate(s) ({reason})") from None
    directory = tempfile.mkdtemp(prefix="api-etl-mtls-", dir=tmp_root)
    try:
        os.chmod(directory, 0o700)
        cert_path = _write_private(directory, "client.crt", cert_pem)
        key_path = _write_private(directory, "client.key", key_pem)
        context.load_cert_chain(cert_path, key_path, password=key_password or None)
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = (
            getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
        )
        raise AuthError(f"mTLS: could not load the client certificate and key ({reason})") from None
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return context


class MTLSAuth:
    refreshable = False
    """Authenticates at the TLS layer: adds nothing to requests, gives the transport a client
    certificate SSL context. Loaded eagerly; the temp files are gone when ``__init__``
    returns."""

    def __init__(
        self,
        cert_pem: str,
        key_pem: str,
        *,
        ca_pem: str | None = None,
        key_password: str | None = None,
        tmp_root: str | None = None,
    ) -> None:
        self._context: ssl.SSLContext | None = load_client_ssl_context(
            cert_pem, key_pem, ca_pem=ca_pem, key_password=key_password, tmp_root=tmp_root
        )
        self._has_ca = bool(ca_pem)

    async def authorize(self, request: HttpRequest) -> None:
        return None

    async def invalidate(self, request: HttpRequest | None = None) -> None:
        return None

    def ssl_context(self) -> ssl.SSLContext | None:
        return self._context

    async def close(self) -> None:
        # Nothing is on disk any more; drop the context so a closed provider holds no key.
        self._context = None

    def __repr__(self) -> str:
        return f"MTLSAuth(cert=***, key=***, custom_ca={self._has_ca})"
