"""Keyhall for the LDAP benchmark: a temporary data dir loaded with the dataset, then `serve`.

The 10,000 users and their memberships are inserted in one transaction through the storage
tables (seconds), not with 10,000 CLI calls (each one a process and a migration check). They
carry one argon2id hash made with the instance's own parameters, so a bind costs what it costs
in production.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench import procstat
from bench.children import die_with_parent
from bench.ldap_dataset import BASE_DN, PASSWORD, Dataset
from keyhall.config import Config
from keyhall.directory.models import LOCAL_SOURCE, Role
from keyhall.runtime import open_instance
from keyhall.storage import tables as t

KEYHALL = str(Path(sys.executable).parent / "keyhall")
LDAP_PROCESS = "keyhall.ldap.process"


def seed(data_dir: Path, dataset: Dataset) -> None:
    inst = open_instance(Config(data_dir=data_dir, ldap_base_dn=BASE_DN))
    try:
        password_hash = inst.directory.passwords.hash(PASSWORD)
        now = datetime.now(UTC)
        with inst.store.write() as w:
            w.conn.execute(
                sa.insert(t.users),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "username": u.username,
                        "email": u.email,
                        "email_key": u.email.lower(),
                        "display_name": u.display_name,
                        "given_name": u.given_name,
                        "family_name": u.family_name,
                        # The first user of an instance is its owner, as `create_user` does.
                        "role": (Role.OWNER if u.index == 0 else Role.USER).value,
                        "active": True,
                        "source": LOCAL_SOURCE,
                        "external_id": None,
                        "external_missing": False,
                        "password_hash": password_hash,
                        "created_at": now,
                        "updated_at": now,
                        "version": w.version,
                    }
                    for u in dataset.users()
                ],
            )
            w.conn.execute(
                sa.insert(t.groups),
                [
                    {
                        "id": str(uuid.uuid4()),
                        "name": dataset.group_name(g),
                        "description": "",
                        "source": LOCAL_SOURCE,
                        "external_id": None,
                        "external_missing": False,
                        "created_at": now,
                        "updated_at": now,
                        "version": w.version,
                    }
                    for g in range(dataset.group_count)
                ],
            )
            users = sa.select(t.users.c.username, t.users.c.number)
            user_numbers = dict(w.conn.execute(users).tuples().all())
            groups = sa.select(t.groups.c.name, t.groups.c.number)
            group_numbers = dict(w.conn.execute(groups).tuples().all())
            w.conn.execute(
                sa.insert(t.memberships),
                [
                    {
                        "group_number": group_numbers[dataset.group_name(g)],
                        "user_number": user_numbers[u.username],
                    }
                    for g, members in dataset.members().items()
                    for u in members
                ],
            )
    finally:
        inst.close()


@dataclass
class Keyhall:
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ldap_pid(self) -> int:
        """`keyhall serve` runs the LDAP listener in a child process: issue 4's memory target."""
        return procstat.descendant(self.pid, LDAP_PROCESS) or self.pid

    def service_account(self) -> tuple[str, str]:
        """The service bind DN and secret, as an operator reads them (`keyhall ldap show`)."""
        result = subprocess.run(
            [KEYHALL, "ldap", "show", "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        shown = json.loads(result.stdout)
        return str(shown["bind_dn"]), str(shown["secret"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(data_dir: Path, ldap_port: int, http_port: int, dataset: Dataset) -> Keyhall:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHALL_")}
    env.update(
        KEYHALL_DATA_DIR=str(data_dir),
        KEYHALL_HTTP_ADDR=f"127.0.0.1:{http_port}",
        KEYHALL_PUBLIC_URL=f"http://127.0.0.1:{http_port}",
        KEYHALL_LDAP_ADDR=f"127.0.0.1:{ldap_port}",
        KEYHALL_LDAP_BASE_DN=BASE_DN,
        KEYHALL_LOG_LEVEL="warning",
        # The LDAP bench needs no HTTP capacity; one worker keeps the tree's RSS comparable.
        KEYHALL_HTTP_WORKERS="1",
    )
    seed(data_dir, dataset)
    log_path = data_dir.parent / "keyhall-serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [KEYHALL, "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    server = Keyhall(ldap_port, env, process, log_path)
    try:
        _wait_listening(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_listening(server: Keyhall, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            log = server.log_path.read_text(errors="replace")
            raise RuntimeError(f"keyhall serve exited with {server.process.returncode}: {log}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Keyhall LDAP not listening after {timeout}s") from None
            time.sleep(0.05)
