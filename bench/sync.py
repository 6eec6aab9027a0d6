"""External directory sync: 10,000 users and 500 groups (20 members each) from a private slapd.

    .venv/bin/python -m bench.sync [--users 10000] [--groups 500] [--database-url URL]

Measures a full sync into an empty Keyhall database, then a re-sync after 1% of the users
changed upstream (mail and cn), through the connector's own code path (python-ldap paged
search, plan, bulk writes in one transaction). Reports wall time, CPU time and the peak RSS
of this process (the sync runs in it; slapd is a separate process and not counted).
Targets: full sync < 10 s, re-sync < 3 s, peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.children import die_with_parent
from keyhall.connectors.connector import ExternalDirectory
from keyhall.directory.models import CLI_ACTOR
from keyhall.directory.service import Directory
from keyhall.storage import migrate
from keyhall.storage.store import Store

BASE = "dc=bench,dc=example"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PW = "bench-sync-root"
TARGETS = {"full_s": 10.0, "resync_s": 3.0, "peak_rss_mb": 300.0}


def slapd_config(directory: Path) -> str:
    includes = "\n".join(
        f"include /etc/ldap/schema/{n}.schema" for n in ("core", "cosine", "nis", "inetorgperson")
    )
    return f"""{includes}
pidfile {directory}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit unlimited
loglevel 0

database mdb
suffix "{BASE}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PW}
directory {directory}/db
maxsize 1073741824
dbnosync
index objectClass eq
index uid eq
"""


def dataset(users: int, groups: int, per_group: int) -> str:
    parts = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: bench\no: bench\n",
        f"dn: ou=users,{BASE}\nobjectClass: organizationalUnit\nou: users\n",
        f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for i in range(users):
        parts.append(
            f"dn: uid=user{i:05d},ou=users,{BASE}\nobjectClass: inetOrgPerson\n"
            f"uid: user{i:05d}\ncn: User {i:05d}\ngivenName: User\nsn: N{i:05d}\n"
            f"mail: user{i:05d}@bench.example\n"
        )
    for g in range(groups):
        members = "".join(
            f"member: uid=user{(g * per_group + k) % users:05d},ou=users,{BASE}\n"
            for k in range(per_group)
        )
        parts.append(
            f"dn: cn=group{g:03d},ou=groups,{BASE}\nobjectClass: groupOfNames\n"
            f"cn: group{g:03d}\n{members}"
        )
    return "\n".join(parts)


def changes(users: int, share: float) -> str:
    step = max(1, round(1 / share))
    return "\n".join(
        f"dn: uid=user{i:05d},ou=users,{BASE}\nchangetype: modify\n"
        f"replace: mail\nmail: changed{i:05d}@bench.example\n-\n"
        f"replace: cn\ncn: Changed {i:05d}\n"
        for i in range(0, users, step)
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_slapd(directory: Path, ldif: str) -> tuple[subprocess.Popen[bytes], str]:
    (directory / "db").mkdir(parents=True)
    conf = directory / "slapd.conf"
    conf.write_text(slapd_config(directory))
    # Offline load: no overlay needs to see these entries, and it is far faster than ldapadd.
    subprocess.run(
        ["/usr/sbin/slapadd", "-q", "-f", str(conf), "-b", BASE],
        input=ldif.encode(),
        check=True,
        capture_output=True,
    )
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen(
        ["/usr/sbin/slapd", "-d", "0", "-f", str(conf), "-h", url + "/"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + 20
    while subprocess.run(
        ["ldapwhoami", "-x", "-H", url, "-D", ROOT_DN, "-w", ROOT_PW],
        capture_output=True,
        check=False,
    ).returncode:
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("slapd did not start")
        time.sleep(0.1)
    return process, url


def timed_sync(ext: ExternalDirectory) -> tuple[float, float, dict[str, object]]:
    wall, cpu = time.perf_counter(), time.process_time()
    report = ext.sync(actor=CLI_ACTOR, trigger="bench")
    return time.perf_counter() - wall, time.process_time() - cpu, report.as_dict()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--per-group", type=int, default=20)
    parser.add_argument("--changed", type=float, default=0.01, help="share changed for re-sync")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp dir")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    work = Path(tempfile.mkdtemp(prefix="keyhall-bench-sync-"))
    slapd = None
    try:
        t0 = time.perf_counter()
        slapd, url = start_slapd(work / "slapd", dataset(args.users, args.groups, args.per_group))
        print(f"slapd loaded with {args.users} users, {args.groups} groups in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
        store = Store(args.database_url or f"sqlite:///{work / 'keyhall.db'}")
        migrate.upgrade(store.engine)
        directory = Directory(store)
        ext = ExternalDirectory(directory, os.urandom(32))
        ext.set(
            {
                "url": url,
                "bind_dn": ROOT_DN,
                "bind_password": ROOT_PW,
                "users_base_dn": f"ou=users,{BASE}",
                "groups_base_dn": f"ou=groups,{BASE}",
                "enabled": "true",
            },
            actor=CLI_ACTOR,
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        full_wall, full_cpu, full = timed_sync(ext)
        assert full["status"] == "ok" and full["created"] == args.users, full
        subprocess.run(
            ["ldapmodify", "-x", "-H", url, "-D", ROOT_DN, "-w", ROOT_PW],
            input=changes(args.users, args.changed).encode(),
            check=True,
            capture_output=True,
        )
        re_wall, re_cpu, again = timed_sync(ext)
        expected = len(range(0, args.users, max(1, round(1 / args.changed))))
        assert again["status"] == "ok" and again["updated"] == expected, again
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        store.close()
    finally:
        if slapd is not None:
            slapd.terminate()
            slapd.wait()
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "users": args.users,
        "groups": args.groups,
        "members_per_group": args.per_group,
        "database": "postgresql" if args.database_url.startswith("postgres") else "sqlite",
        "full_s": round(full_wall, 2),
        "full_cpu_s": round(full_cpu, 2),
        "full_memberships": full["memberships_changed"],
        "resync_s": round(re_wall, 2),
        "resync_cpu_s": round(re_cpu, 2),
        "resync_updated": again["updated"],
        "peak_rss_mb": round(peak, 1),
        "rss_before_sync_mb": round(rss_before, 1),
        "loadavg": os.getloadavg(),
    }
    print(
        f"full sync   {result['full_s']:>6} s wall  {result['full_cpu_s']:>6} s CPU  "
        f"({args.users} users, {args.groups} groups, {full['memberships_changed']} memberships)"
        f"   target < {TARGETS['full_s']} s\n"
        f"re-sync     {result['resync_s']:>6} s wall  {result['resync_cpu_s']:>6} s CPU  "
        f"({again['updated']} users changed)   target < {TARGETS['resync_s']} s\n"
        f"peak RSS    {result['peak_rss_mb']:>6} MB (before sync {result['rss_before_sync_mb']} MB)"
        f"   target < {TARGETS['peak_rss_mb']} MB\n"
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "sync.json").write_text(json.dumps(result, indent=2))
    met = all(result[k] < v for k, v in TARGETS.items())
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
