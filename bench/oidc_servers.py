"""The two servers under test, each started on loopback by the benchmark that uses it.

Keyhall runs as `keyhall serve` on a fresh data dir with one user and one client made by its
CLI; node-oidc-provider runs bench/peers/oidc-provider/server.mjs (installed by `npm ci` on
first use) with the same client. Both die with the benchmark (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.children import die_with_parent

BENCH_DIR = Path(__file__).resolve().parent
PEER_DIR = BENCH_DIR / "peers" / "oidc-provider"
KEYHALL = BENCH_DIR.parent / ".venv" / "bin" / "keyhall"

USERNAME = "bench"
PASSWORD = "bench-password-" + secrets.token_urlsafe(12)


class BenchError(Exception):
    """A server answered something a correct OIDC provider would not."""


# -- processes ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A server under test: its process and what a relying party needs to know."""

    name: str
    proc: subprocess.Popen[bytes]
    discovery_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    login: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args!r} exited with {proc.returncode} before serving {url}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310
            if r.status == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s")


def start_node_peer(work: Path) -> Server:
    """node-oidc-provider from bench/peers/oidc-provider, installed by `npm ci` on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise BenchError("node-oidc-provider needs Node.js and npm on PATH")
    if not (PEER_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        print("installing node-oidc-provider (npm ci) ...", flush=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True
        )
    port = free_port()
    secret = secrets.token_urlsafe(32)
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": "bench",
        "CLIENT_SECRET": secret,
        "REDIRECT_URI": redirect_uri,
        "NODE_ENV": "production",
    }
    with (work / "node.log").open("wb") as log:
        proc = subprocess.Popen(
            ["node", "server.mjs"],
            cwd=PEER_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    discovery = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    server = Server("node", proc, discovery, "bench", secret, redirect_uri)
    try:
        wait_ready(proc, discovery)
    except BaseException:
        server.stop()
        raise
    return server


def start_keyhall(work: Path) -> Server:
    """`keyhall serve` on a fresh data dir, with one user and one client made by the CLI."""
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{free_port()}/cb"
    env = {
        **os.environ,
        "KEYHALL_DATA_DIR": str(work / "keyhall-data"),
        "KEYHALL_HTTP_ADDR": f"127.0.0.1:{port}",
        "KEYHALL_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KEYHALL_LDAP_ADDR": "",
        "KEYHALL_LOG_LEVEL": "warning",
    }

    def cli(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(KEYHALL), *args], env=env, input=stdin, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise BenchError(f"keyhall {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    cli("user", "add", USERNAME, "--email", "bench@example.com", "--name", "Bench User",
        "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    client = json.loads(cli("client", "add", "bench", "--redirect-uri", redirect_uri, "--json"))
    with (work / "keyhall.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(KEYHALL), "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    base = f"http://127.0.0.1:{port}"
    server = Server(
        "keyhall",
        proc,
        f"{base}/.well-known/openid-configuration",
        client["client_id"],
        client["client_secret"],
        redirect_uri,
        login={"username": USERNAME, "password": PASSWORD},
    )
    try:
        wait_ready(proc, f"{base}/healthz")
        wait_ready(proc, server.discovery_url, timeout=5)
    except BaseException:
        server.stop()
        raise
    return server


def peer_version() -> str:
    with contextlib.suppress(OSError, ValueError):
        meta = PEER_DIR / "node_modules" / "oidc-provider" / "package.json"
        return str(json.loads(meta.read_text())["version"])
    return "unknown"
