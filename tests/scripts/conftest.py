"""Fixtures for the mock API and data generator tests (tests/scripts)."""

from __future__ import annotations

import threading

import pytest


class FakeClock:
    """A settable clock (epoch seconds) shared with the server thread."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self._t = t
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._t

    def advance(self, dt: float) -> None:
        with self._lock:
            self._t += dt

    def set(self, t: float) -> None:
        with self._lock:
            self._t = t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """PEM files: a CA, a server cert for 127.0.0.1, a client cert by that CA, and a
    client cert by an unrelated CA."""
    trustme = pytest.importorskip("trustme")
    d = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    other_ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("etl-client@example.com", common_name="etl-client")
    stranger = other_ca.issue_cert("stranger@example.com", common_name="stranger")
    paths = {
        "ca": d / "ca.pem",
        "server": d / "server.pem",
        "client": d / "client.pem",
        "stranger": d / "stranger.pem",
    }
    ca.cert_pem.write_to_path(str(paths["ca"]))
    server.private_key_and_cert_chain_pem.write_to_path(str(paths["server"]))
    client.private_key_and_cert_chain_pem.write_to_path(str(paths["client"]))
    stranger.private_key_and_cert_chain_pem.write_to_path(str(paths["stranger"]))
    return {k: str(v) for k, v in paths.items()}
