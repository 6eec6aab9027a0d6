"""`keyhall serve` as a real process on loopback ports, and the `keyhall` CLI pointed at it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from tests.support.net import free_port

KEYHALL = str(Path(sys.executable).parent / "keyhall")


def keyhall_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    http_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHALL_")}
    env.update(
        KEYHALL_DATA_DIR=str(data_dir),
        KEYHALL_HTTP_ADDR=f"127.0.0.1:{http_port}",
        KEYHALL_PUBLIC_URL=f"http://127.0.0.1:{http_port}",
        KEYHALL_LDAP_ADDR=f"127.0.0.1:{free_port()}",
        KEYHALL_LOG_LEVEL="info",
        # One HTTP process unless a test asks for more: tests run side by side on few cores.
        KEYHALL_HTTP_WORKERS="1",
    )
    env.update(overrides)
    return env


def run_cli(
    env: Mapping[str, str], *args: str, input: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [KEYHALL, *args], env=dict(env), input=input, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"keyhall {' '.join(args)} exited {result.returncode}: {result.stderr.strip()}"
        )
    return result


class RunningServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.data_dir = Path(env["KEYHALL_DATA_DIR"])
        self.url = env["KEYHALL_PUBLIC_URL"]
        self.http_addr = env["KEYHALL_HTTP_ADDR"]
        ldap = env.get("KEYHALL_LDAP_ADDR", "")
        self.ldap_port = int(ldap.rpartition(":")[2]) if ldap else 0
        self.log_path = self.data_dir.parent / f"serve-{self.http_addr.replace(':', '_')}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [KEYHALL, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"keyhall serve exited early:\n{self.logs()}")
            try:
                if httpx.get(f"http://{self.http_addr}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"keyhall serve not healthy in {timeout}s:\n{self.logs()}")
            time.sleep(0.05)

    def cli(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, *args, input=input, check=check)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int:
        if self.process is None:
            return self.returncode or 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.returncode = self.process.returncode
        self.process = None
        return self.returncode
