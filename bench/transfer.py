"""Benchmark `keyhall import`: 100,000 users with {SSHA} hashes and 1,000 groups, from LDIF.

The LDIF is what `slapcat` writes for such a tree (users with inetOrgPerson/posixAccount and
an `{SSHA}` userPassword; groupOfNames groups of 100 members each, so 100,000 memberships).
The import runs as the real CLI in a child process; reported are its wall time and peak
resident memory (from the kernel's accounting of the child), then the same for
`keyhall export --with-hashes`. Targets (issue 7): import < 60 s and < 500 MB.

    .venv/bin/python bench/transfer.py [--users N] [--groups N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = "dc=example,dc=org"
KEYHALL = str(Path(sys.executable).parent / "keyhall")


def ssha(password: str, salt: bytes) -> str:
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - {SSHA} is SHA-1
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def write_ldif(path: Path, users: int, groups: int) -> None:
    per_group = max(1, users // groups)
    with path.open("w") as out:
        out.write(f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\n")
        out.write("dc: example\no: example\n\n")
        for i in range(users):
            uid = f"user{i:06d}"
            out.write(
                f"dn: uid={uid},ou=users,{BASE}\nobjectClass: inetOrgPerson\n"
                f"objectClass: posixAccount\nuid: {uid}\ncn: User {i}\nsn: {i}\n"
                f"givenName: User\nmail: {uid}@example.org\nuidNumber: {10000 + i}\n"
                f"gidNumber: 10000\nhomeDirectory: /home/{uid}\n"
                f"userPassword: {ssha(f'pw-{i}', i.to_bytes(4, 'big'))}\n"
                f"entryUUID: 00000000-0000-4000-8000-{i:012d}\n\n"
            )
        for g in range(groups):
            out.write(f"dn: cn=group{g:04d},ou=groups,{BASE}\nobjectClass: groupOfNames\n")
            out.write(f"cn: group{g:04d}\n")
            for i in range(g * per_group, min(users, (g + 1) * per_group)):
                out.write(f"member: uid=user{i:06d},ou=users,{BASE}\n")
            out.write("\n")


def timed(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Run `keyhall ARGS` alone in a child; its wall time (s), peak RSS (MB) and stdout."""
    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: becomes `keyhall`, so its rusage is keyhall's alone
        os.close(read_fd)
        os.dup2(write_fd, 1)
        os.execve(KEYHALL, [KEYHALL, *args], env)  # noqa: S606 - a fixed program
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        output = pipe.read()
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"keyhall {' '.join(args)} failed")
    return wall, usage.ru_maxrss / 1024, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ldif = Path(tmp) / "tree.ldif"
        write_ldif(ldif, args.users, args.groups)
        ldif_mb = ldif.stat().st_size / 1e6
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYHALL_")}
        env["KEYHALL_DATA_DIR"] = str(Path(tmp) / "data")
        if args.database_url:
            env["KEYHALL_DATABASE_URL"] = args.database_url
        subprocess.run([KEYHALL, "migrate"], env=env, check=True, capture_output=True)
        import_s, import_mb, out = timed(env, "import", str(ldif), "--json")
        counts = json.loads(out)["counts"]
        export_s, export_mb, dump = timed(env, "export", "--with-hashes")
    result = {
        "users": args.users,
        "groups": args.groups,
        "ldif_mb": round(ldif_mb, 1),
        "import_seconds": round(import_s, 2),
        "import_peak_rss_mb": round(import_mb, 1),
        "export_seconds": round(export_s, 2),
        "export_peak_rss_mb": round(export_mb, 1),
        "export_lines": dump.count("\n"),
        "counts": counts,
        "targets": {"import_seconds": 60, "import_peak_rss_mb": 500},
        "cpu_children_s": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
