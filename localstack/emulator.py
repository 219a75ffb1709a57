"""Start and stop the embedded AWS emulator: moto's server, on 127.0.0.1 only.

    python -m localstack.emulator start  [--state-dir DIR] [--port 0]   # prints the endpoint URL
    python -m localstack.emulator env    [--state-dir DIR]              # export lines for a shell
    python -m localstack.emulator status [--state-dir DIR]
    python -m localstack.emulator stop   [--state-dir DIR]

``start`` launches ``python -m localstack.emulator serve`` in the background (its own session,
output to ``DIR/moto.log``), which serves moto's WSGI app on 127.0.0.1 (port 0 = any free
port) and then writes ``DIR/moto.url``, ``DIR/moto.port`` and ``DIR/moto.pid`` atomically.
``stop`` reads the PID file, checks that the PID still is that server (its command line),
sends SIGTERM, waits a bounded time and only then SIGKILLs it. Nothing is stopped by name.

HTTPS by default (``--no-tls`` for plain HTTP). The stack's buckets use SSE-KMS, as in
Terraform; S3A (hadoop-aws 3.3.1) then copies objects with their KMS key id, and the AWS SDK
refuses to send KMS parameters over plain HTTP ("HTTPS must be used when sending customer
encryption keys (SSE-C) to S3"), so every Spark write (which renames, i.e. copies) would fail
against an HTTP endpoint. ``start`` makes a throwaway CA with ``trustme`` and a certificate for
127.0.0.1 in DIR (``moto-ca.pem``; ``moto-truststore.p12`` for the JVM, made with ``keytool``).
``Emulator.env()`` sets ``AWS_CA_BUNDLE`` for boto3 and ``PYSPARK_SUBMIT_ARGS`` so the Spark
driver and executors trust that CA.

From Python: ``start(state_dir) -> Emulator`` (``.url``, ``.port``, ``.pid``, ``.env()``,
``.stop()``), ``find(state_dir)`` and ``stop(state_dir)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / "demo-output" / "emulator"  # git-ignored
HOST = "127.0.0.1"
PORT_FILE, PID_FILE, LOG_FILE, URL_FILE = "moto.port", "moto.pid", "moto.log", "moto.url"
CA_FILE, CERT_FILE, KEY_FILE, TRUSTSTORE_FILE = "moto-ca.pem", "moto-cert.pem", "moto-key.pem", "moto-truststore.p12"
TRUSTSTORE_PASSWORD = "api-etl-local"  # protects nothing secret: the store holds only a public CA cert
SERVE_MARKER = "localstack.emulator"  # in the server's command line; checked before signalling
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class EmulatorError(RuntimeError):
    pass


@dataclasses.dataclass
class Emulator:
    port: int
    pid: int
    state_dir: Path
    tls: bool = True
    region: str = "us-east-1"
    _popen: subprocess.Popen | None = dataclasses.field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def ca_file(self) -> Path | None:
        return self.state_dir / CA_FILE if self.tls else None

    def env(self) -> dict[str, str]:
        """Environment that points boto3, and the job's Spark (S3A), at this emulator."""
        env = {
            "AWS_ENDPOINT_URL": self.url,
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }
        if self.tls:
            env["AWS_CA_BUNDLE"] = str(self.state_dir / CA_FILE)
            env["PYSPARK_SUBMIT_ARGS"] = spark_submit_args(self.state_dir / TRUSTSTORE_FILE)
        return env

    def stop(self, timeout: float = 10.0) -> bool:
        return _stop_pid(self.pid, self.state_dir, timeout, self._popen)

    def log(self) -> str:
        return _read(self.state_dir / LOG_FILE)


# -- helpers -------------------------------------------------------------------------------

def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _unlink(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) is not alive for our purposes.
    status = _read(Path(f"/proc/{pid}/status"))
    return "State:\tZ" not in status


def _is_our_server(pid: int) -> bool:
    """True when ``pid`` runs ``localstack.emulator serve`` (guards against a recycled PID)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():  # no /proc (macOS): fall back to liveness only
        return _pid_alive(pid)
    parts = cmdline.read_bytes().split(b"\0")
    return any(SERVE_MARKER.encode() in p for p in parts) and b"serve" in parts


def _health(url: str, ca_file: Path | None = None, timeout: float = 2.0) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    try:
        with urllib.request.urlopen(url + "/moto-api/data.json", timeout=timeout, context=context) as r:
            return r.status == 200
    except OSError:
        return False


def spark_submit_args(truststore: Path) -> str:
    """PYSPARK_SUBMIT_ARGS making the Spark JVMs trust the emulator's CA (and nothing else)."""
    opts = f"-Djavax.net.ssl.trustStore={truststore} -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}"
    return " ".join(
        [f"--conf {shlex.quote(f'spark.{role}.extraJavaOptions={opts}')}" for role in ("driver", "executor")]
        + ["pyspark-shell"]
    )


def make_certificates(state: Path) -> None:
    """A throwaway CA and a server certificate for 127.0.0.1, plus a JVM truststore of the CA."""
    try:
        import trustme
    except ImportError:
        raise EmulatorError("HTTPS needs the `trustme` package (in the project's dev extras); or pass --no-tls") from None
    keytool = shutil.which("keytool") or (
        str(Path(os.environ["JAVA_HOME"]) / "bin" / "keytool") if os.environ.get("JAVA_HOME") else None
    )
    if not keytool or not Path(keytool).exists():
        raise EmulatorError("keytool (part of Java 17) is needed to build the Spark truststore; install a JDK/JRE or pass --no-tls")
    ca = trustme.CA(organization_name="api-etl local emulator")
    cert = ca.issue_cert(HOST, "localhost")
    ca.cert_pem.write_to_path(str(state / CA_FILE))
    cert.private_key_pem.write_to_path(str(state / KEY_FILE))
    cert.cert_chain_pems[0].write_to_path(str(state / CERT_FILE))
    for pem in cert.cert_chain_pems[1:]:
        pem.write_to_path(str(state / CERT_FILE), append=True)
    _unlink(state / TRUSTSTORE_FILE)
    proc = subprocess.run(
        [keytool, "-importcert", "-noprompt", "-alias", "api-etl-emulator-ca", "-file", str(state / CA_FILE),
         "-keystore", str(state / TRUSTSTORE_FILE), "-storetype", "PKCS12", "-storepass", TRUSTSTORE_PASSWORD],
        capture_output=True, text=True, timeout=60,
    )
    if proc.returncode != 0:
        raise EmulatorError(f"keytool could not build {state / TRUSTSTORE_FILE}: {proc.stderr.strip() or proc.stdout.strip()}")


def find(state_dir: Path | str = DEFAULT_STATE_DIR) -> Emulator | None:
    """The emulator recorded in ``state_dir`` if its process is alive, else None."""
    state = Path(state_dir)
    pid_text = _read(state / PID_FILE).strip()
    port_text = _read(state / PORT_FILE).strip()
    if not (pid_text.isdigit() and port_text.isdigit()):
        return None
    pid, port = int(pid_text), int(port_text)
    if not (_pid_alive(pid) and _is_our_server(pid)):
        return None
    return Emulator(port=port, pid=pid, state_dir=state, tls=_read(state / URL_FILE).startswith("https:"))


def start(
    state_dir: Path | str = DEFAULT_STATE_DIR,
    port: int = 0,
    *,
    timeout: float = 30.0,
    python: str | None = None,
    reuse: bool = False,
    tls: bool = True,
) -> Emulator:
    """Start the server in the background and wait (at most ``timeout`` s) until it listens.

    If ``state_dir`` already records a live server: return it when ``reuse``, else raise.
    """
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    existing = find(state)
    if existing is not None:
        if reuse:
            return existing
        raise EmulatorError(
            f"an emulator is already running for {state} (pid {existing.pid}, {existing.url});"
            f" stop it with `python -m localstack.emulator stop --state-dir {state}`"
        )
    _unlink(state / PORT_FILE, state / PID_FILE, state / URL_FILE)
    if tls:
        make_certificates(state)
    cmd = [
        python or sys.executable, "-m", SERVE_MARKER, "serve",
        "--port", str(port), "--state-dir", str(state), *([] if tls else ["--no-tls"]),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(state / LOG_FILE, "wb") as log:
        popen = subprocess.Popen(
            cmd, cwd=str(REPO_ROOT), env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        port_text = _read(state / PORT_FILE).strip()
        if port_text.isdigit() and _read(state / PID_FILE).strip() == str(popen.pid):
            emulator = Emulator(port=int(port_text), pid=popen.pid, state_dir=state, tls=tls, _popen=popen)
            if _health(emulator.url, emulator.ca_file):
                return emulator
        if popen.poll() is not None:
            break
        time.sleep(0.05)
    if popen.poll() is None:
        _stop_pid(popen.pid, state, 5.0, popen)
    raise EmulatorError(
        f"moto server did not start within {timeout:g} s (exit code {popen.returncode});"
        f" log {state / LOG_FILE}:\n{_read(state / LOG_FILE)[-3000:]}"
    )


def stop(state_dir: Path | str = DEFAULT_STATE_DIR, timeout: float = 10.0) -> bool:
    """Stop the server recorded in ``state_dir``. False when none was running."""
    state = Path(state_dir)
    emulator = find(state)
    if emulator is None:
        _unlink(state / PORT_FILE, state / PID_FILE)
        return False
    return emulator.stop(timeout)


def _stop_pid(pid: int, state: Path, timeout: float, popen: subprocess.Popen | None = None) -> bool:
    """SIGTERM ``pid`` (only if it is our server), wait up to ``timeout`` s, then SIGKILL."""
    if not _pid_alive(pid):
        if popen is not None:
            popen.poll()
        _unlink(state / PORT_FILE, state / PID_FILE, state / URL_FILE)
        return False
    if not _is_our_server(pid):
        raise EmulatorError(f"pid {pid} is not a localstack.emulator server; not signalling it")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None and popen.poll() is not None:
            break
        if popen is None and not _pid_alive(pid):
            break
        time.sleep(0.05)
    else:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if popen is not None:
            try:
                popen.wait(5)
            except subprocess.TimeoutExpired:
                pass
    _unlink(state / PORT_FILE, state / PID_FILE, state / URL_FILE)
    return True


# -- the server process ----------------------------------------------------------------------

def serve(state_dir: Path, port: int = 0, tls: bool = True) -> int:
    """Run moto's server until SIGTERM/SIGINT (the body of ``start``'s background process).

    moto's own ``ThreadedMotoServer`` has no TLS option, so its WSGI app is served here with
    werkzeug's ``make_server`` (as moto does), plus an SSL context when ``tls``.
    """
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    stop_event = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop_event.set())
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(state_dir / CERT_FILE), str(state_dir / KEY_FILE))
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(HOST, port, app, threaded=True, request_handler=MotoRequestHandler, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    bound = server.server_address[1]
    url = f"{'https' if tls else 'http'}://{HOST}:{bound}"
    state_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(state_dir / URL_FILE, url + "\n")
    _write_atomic(state_dir / PID_FILE, f"{os.getpid()}\n")
    _write_atomic(state_dir / PORT_FILE, f"{bound}\n")
    print(f"moto server listening on {url} (pid {os.getpid()})", flush=True)
    try:
        while not stop_event.wait(0.2):
            pass
    finally:
        server.shutdown()
        thread.join(10)
        # Remove the files only if they still describe this process.
        if _read(state_dir / PID_FILE).strip() == str(os.getpid()):
            _unlink(state_dir / PORT_FILE, state_dir / PID_FILE, state_dir / URL_FILE)
        print("moto server stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localstack.emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status", "env", "serve"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR,
                        help="where the port, PID and log files live (default: demo-output/emulator)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for start / stop")
    parser.add_argument("--no-tls", action="store_true",
                        help="plain HTTP (boto3 only: Spark cannot write to SSE-KMS buckets over HTTP)")
    ns = parser.parse_args(argv)
    try:
        if ns.command == "serve":
            return serve(ns.state_dir, ns.port, tls=not ns.no_tls)
        if ns.command == "start":
            emulator = start(ns.state_dir, ns.port, timeout=ns.timeout, reuse=True, tls=not ns.no_tls)
            print(emulator.url)
            return 0
        if ns.command == "stop":
            stopped = stop(ns.state_dir, timeout=ns.timeout)
            print("stopped" if stopped else f"no emulator running for {ns.state_dir}")
            return 0
        emulator = find(ns.state_dir)
        if emulator is None:
            print(f"no emulator running for {ns.state_dir}", file=sys.stderr)
            return 1
        if ns.command == "status":
            print(f"running: {emulator.url} (pid {emulator.pid})")
        else:
            for key, value in emulator.env().items():
                print(f"export {key}={shlex.quote(value)}")
        return 0
    except EmulatorError as exc:
        print(f"localstack.emulator: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
