"""Benchmark the in-memory directory view at 100,000 users and 1,000 groups.

Reports: time to load the view from the database at start, the process's resident memory
after loading, lookups/s by username and by email, and `authenticate` latency (argon2id with
the default parameters). Targets (issue 2): load < 3 s, RSS < 400 MB, > 200k lookups/s.

    .venv/bin/python bench/directory.py [--users N] [--groups N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from keyhall.directory.passwords import Argon2Params, Passwords
from keyhall.directory.service import Directory
from keyhall.storage import migrate
from keyhall.storage import tables as t
from keyhall.storage.store import Store

PASSWORD = "bench-password-1"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def populate(url: str, users: int, groups: int, members_per_group: int) -> None:
    store = Store(url)
    migrate.upgrade(store.engine)
    now = datetime.now(UTC)
    # Every user gets the same real argon2id hash: the bench measures lookups, not hashing.
    password_hash = Passwords(Argon2Params()).hash(PASSWORD)
    with store.write() as w:
        rows = [
            {
                "id": str(uuid.uuid4()),
                "username": f"user{i:06d}",
                "email": f"User{i:06d}@Example.com",
                "email_key": f"user{i:06d}@example.com",
                "display_name": f"User {i}",
                "given_name": "User",
                "family_name": str(i),
                "role": "owner" if i == 0 else "user",
                "active": True,
                "source": "local",
                "external_id": None,
                "external_missing": False,
                "password_hash": password_hash,
                "created_at": now,
                "updated_at": now,
                "version": w.version,
            }
            for i in range(users)
        ]
        w.conn.execute(sa.insert(t.users), rows)
        w.conn.execute(
            sa.insert(t.groups),
            [
                {
                    "id": str(uuid.uuid4()),
                    "name": f"group{g:04d}",
                    "description": "",
                    "source": "local",
                    "external_id": None,
                    "external_missing": False,
                    "created_at": now,
                    "updated_at": now,
                    "version": w.version,
                }
                for g in range(groups)
            ],
        )
        rng = random.Random(7)
        w.conn.execute(
            sa.insert(t.memberships),
            [
                {"group_number": g + 1, "user_number": n}
                for g in range(groups)
                for n in rng.sample(range(1, users + 1), members_per_group)
            ],
        )
    store.close()


def measure(url: str, auth_samples: int) -> dict[str, float]:
    base = rss_mb()
    store = Store(url)
    directory = Directory(store)
    started = time.perf_counter()
    directory.refresh()
    load_s = time.perf_counter() - started
    view = directory.view
    users = list(view.users.values())
    rss = rss_mb()

    rng = random.Random(1)
    names = [rng.choice(users).username for _ in range(200_000)]
    emails = [rng.choice(users).email.upper() for _ in range(200_000)]
    started = time.perf_counter()
    for name in names:
        view.user_by_username(name)
    by_username = len(names) / (time.perf_counter() - started)
    started = time.perf_counter()
    for email in emails:
        view.user_by_email(email)
    by_email = len(emails) / (time.perf_counter() - started)

    latencies = []
    for i in range(auth_samples):
        login = users[rng.randrange(len(users))]
        started = time.perf_counter()
        result = directory.authenticate(login.username, PASSWORD, via="bench")
        latencies.append((time.perf_counter() - started) * 1000)
        assert result.ok, result
        if i == 0:
            latencies.pop()  # the first call builds the hasher
    store.close()
    return {
        "users": len(view.users),
        "groups": len(view.groups),
        "load_s": round(load_s, 3),
        "rss_mb": round(rss, 1),
        "rss_growth_mb": round(rss - base, 1),
        "lookups_per_s_username": round(by_username),
        "lookups_per_s_email": round(by_email),
        "authenticate_ms_median": round(statistics.median(latencies), 1),
        "authenticate_ms_p95": round(sorted(latencies)[int(len(latencies) * 0.95) - 1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--members-per-group", type=int, default=10)
    parser.add_argument("--auth-samples", type=int, default=40)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.database_url, args.auth_samples)))
        return

    with tempfile.TemporaryDirectory(prefix="keyhall-bench-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/keyhall.db"
        started = time.perf_counter()
        populate(url, args.users, args.groups, args.members_per_group)
        print(
            f"populated {args.users} users, {args.groups} groups "
            f"in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        # Measure in a fresh process so the population step's memory doesn't count.
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure-only",
                "--database-url",
                url,
                "--auth-samples",
                str(args.auth_samples),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    result = json.loads(out)
    targets = {
        "load_s": ("<", 3.0),
        "rss_mb": ("<", 400.0),
        "lookups_per_s_username": (">", 200_000),
        "lookups_per_s_email": (">", 200_000),
    }
    print("directory view benchmark")
    for key, value in result.items():
        mark = ""
        if key in targets:
            op, limit = targets[key]
            ok = value < limit if op == "<" else value > limit
            mark = f"  target {op} {limit:g}: {'ok' if ok else 'MISSED'}"
        print(f"  {key:<28} {value}{mark}")


if __name__ == "__main__":
    main()
