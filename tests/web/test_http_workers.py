"""`KEYHALL_HTTP_WORKERS=2`: two processes serve the app on one socket; SIGTERM stops them all."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx
from tests.conftest import ServerFactory
from tests.support.oidc_rp import Browser, RelyingParty, add_client, add_user, decode, query
from tests.support.server import KEYHALL, keyhall_env

CB = "https://rp.example/cb"


def _children(pid: int) -> dict[int, str]:
    """Child pid -> command line, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_workers_serve_a_code_flow_and_stop_on_sigterm(keyhall_server: ServerFactory) -> None:
    server = keyhall_server(KEYHALL_HTTP_WORKERS="2")
    assert server.process is not None
    workers = [
        pid for pid, cmd in _children(server.process.pid).items() if "keyhall.web.workers" in cmd
    ]
    assert len(workers) == 1  # the serving process is the first worker

    add_user(server, "alice")
    client = add_client(server, "RP", "--redirect-uri", CB)
    rp = RelyingParty(server, client["client_id"], client["client_secret"])
    # Each run is a new browser on new connections, which either process may accept: every
    # step of a flow must work wherever it lands (the state is in the database).
    for round_ in range(6):
        browser = Browser(server)
        location = browser.follow(browser.get(rp.authorization_url(nonce=f"n{round_}")))
        assert location.status_code in (302, 303), location.text
        assert location.headers["location"].startswith(CB + "?code=")
        assert query(location.headers["location"])["state"] == rp.state
        token = rp.fetch_token(location.headers["location"])
        claims = decode(server, token["id_token"])
        assert claims["sub"] == "alice" and claims["nonce"] == f"n{round_}"
        me = httpx.get(
            f"{server.url}/openid/me",
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )
        assert me.status_code == 200 and me.json()["sub"] == "alice"
        refreshed = rp.token_request(
            grant_type="refresh_token", refresh_token=token["refresh_token"]
        )
        assert refreshed.status_code == 200, refreshed.text

    assert server.stop() == 0
    assert not any(_alive(pid) for pid in workers)
    logs = server.logs()
    assert "http workers started" in logs and "stopped" in logs
    assert "service failed" not in logs


def test_http_address_in_use_fails_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = keyhall_env(
            tmp_path / "data", KEYHALL_HTTP_ADDR=f"127.0.0.1:{port}", KEYHALL_HTTP_WORKERS="2"
        )
        result = subprocess.run(
            [KEYHALL, "serve"], env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr
