"""LDAP benchmark: Keyhall beside OpenLDAP slapd, same directory, same client, one run.

    .venv/bin/python -m bench.ldap [--quick] [--servers slapd,keyhall] [--json out.json]

Starts a private slapd (back_mdb, memberof, 10,000 `{SSHA}` users, 100 groups) and a
`keyhall serve` on a temporary data dir with the same users and groups, both on loopback,
then runs four scenarios on each, alternating servers scenario by scenario so background load
hits both alike:

- search: the service account looks up one user by `(|(uid=X)(mail=X))` under ou=users;
- search1: the same with one request at a time per connection (latency without queueing);
- groups: the service account searches ou=groups for `(member=<user DN>)`;
- bind:   repeated simple binds as one user per connection;
- login:  JetBrains Hub's login: a service search `(&(objectClass=inetOrgPerson)(uid=X))`,
          then a bind as the DN found on a new connection (a different user every time).

Searches keep `--depth` requests in flight on each of `--connections` connections; binds are
one at a time per connection (RFC 4511 §4.2.1). Reports throughput, latency percentiles,
server CPU per operation (/proc, the whole process tree), client CPU per operation, server
memory, and Keyhall/slapd ratios against the targets of issue 4. Every server is stopped and
the temporary directory removed at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from subprocess import SubprocessError
from typing import Any

from bench import ldap_keyhall, ldap_slapd, procstat
from bench import ldap_wire as wire
from bench.ldap_dataset import BASE_DN, PASSWORD, SERVICE_DN, BenchUser, Dataset
from bench.ldap_load import Connection, LdapError, Operation, Outcome, connect, drive

USER_ATTRIBUTES = ("uid", "cn", "mail", "displayName", "givenName", "sn", "memberOf", "entryUUID")
SCENARIO_TIMEOUT = 300.0
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Issue 4's targets, as Keyhall/slapd throughput ratios per scenario.
RATIO_TARGETS = {"search": 0.8, "search1": 0.8, "groups": 0.8, "bind": 0.5}
P99_TARGET_MS = 5.0
MEMORY_TARGET_MB = 150.0


@dataclass
class Target:
    name: str
    port: int
    pid: int
    service: tuple[str, str]
    dn_template: str = ""
    memory_pid: int = 0
    """The process issue 4's memory target applies to (Keyhall's LDAP child); 0: `pid`."""
    """A user's DN as this server names it, with `{}` for the username."""

    def user_dn(self, user: BenchUser) -> str:
        return self.dn_template.format(user.username)


@dataclass(frozen=True)
class Plan:
    dataset: Dataset
    counts: dict[str, int]
    connections: int
    depth: int

    def user(self, n: int) -> BenchUser:
        # Stride by a prime coprime with the user count: consecutive operations hit users
        # spread over the whole directory, and any `user_count` operations hit each once.
        return BenchUser((n * 7919) % self.dataset.user_count)


def expect(code: int, dns: list[bytes], entries: int, *, at_least: bool = False) -> str | None:
    if code != 0:
        return f"result code {code}"
    if len(dns) != entries and not (at_least and len(dns) > entries):
        return f"{len(dns)} entries instead of {entries}"
    return None


def user_search(user: BenchUser) -> bytes:
    value = user.username if user.index % 2 else user.email
    return wire.search_op(
        f"ou=users,{BASE_DN}",
        wire.SCOPE_SUB,
        wire.any_of(wire.equal("uid", value), wire.equal("mail", value)),
        USER_ATTRIBUTES,
    )


def hub_search(user: BenchUser) -> bytes:
    return wire.search_op(
        f"ou=users,{BASE_DN}",
        wire.SCOPE_SUB,
        wire.all_of(wire.equal("objectClass", "inetOrgPerson"), wire.equal("uid", user.username)),
        USER_ATTRIBUTES,
    )


# -- scenarios: each returns the sequential workers that together run the operations -------
Scenario = Callable[
    [Target, Plan, int], Coroutine[Any, Any, tuple[list[Operation], list[Connection]]]
]


async def service_connections(target: Target, plan: Plan) -> list[Connection]:
    return [await connect(target.port, target.service) for _ in range(plan.connections)]


async def search_scenario(
    target: Target, plan: Plan, offset: int
) -> tuple[list[Operation], list[Connection]]:
    conns = await service_connections(target, plan)
    # Encoded before the clock starts: the client's CPU is the server's competitor.
    ops = [user_search(user) for user in plan.dataset.users()]

    def worker(conn: Connection) -> Operation:
        async def one(n: int) -> str | None:
            code, dns = await conn.request(ops[plan.user(offset + n).index])
            return expect(code, dns, 1)

        return one

    return [worker(c) for c in conns for _ in range(plan.depth)], conns


async def group_scenario(
    target: Target, plan: Plan, offset: int
) -> tuple[list[Operation], list[Connection]]:
    conns = await service_connections(target, plan)
    groups = f"ou=groups,{BASE_DN}"
    ops = [
        wire.search_op(groups, wire.SCOPE_SUB, wire.equal("member", target.user_dn(u)), ("cn",))
        for u in plan.dataset.users()
    ]
    expected = [len(plan.dataset.groups_of(u)) for u in plan.dataset.users()]

    def worker(conn: Connection) -> Operation:
        async def one(n: int) -> str | None:
            index = plan.user(offset + n).index
            code, dns = await conn.request(ops[index])
            # Keyhall adds built-in groups (every user is in `users`): the dataset's are a floor.
            return expect(code, dns, expected[index], at_least=True)

        return one

    return [worker(c) for c in conns for _ in range(plan.depth)], conns


async def bind_scenario(
    target: Target, plan: Plan, offset: int
) -> tuple[list[Operation], list[Connection]]:
    conns = [await connect(target.port) for _ in range(plan.connections)]

    def worker(conn: Connection, user: BenchUser) -> Operation:
        op = wire.bind_op(target.user_dn(user), PASSWORD)

        async def one(n: int) -> str | None:
            code, _ = await conn.request(op)
            return None if code == 0 else f"result code {code}"

        return one

    # One worker per connection: nothing may be sent while a bind is pending.
    return [worker(c, plan.user(offset + i)) for i, c in enumerate(conns)], conns


async def login_scenario(
    target: Target, plan: Plan, offset: int
) -> tuple[list[Operation], list[Connection]]:
    conns = await service_connections(target, plan)
    ops = [hub_search(user) for user in plan.dataset.users()]

    def worker(conn: Connection) -> Operation:
        async def one(n: int) -> str | None:
            code, dns = await conn.request(ops[plan.user(offset + n).index])
            problem = expect(code, dns, 1)
            if problem is not None:
                return f"search: {problem}"
            user_conn = await connect(target.port)
            try:
                code, _ = await user_conn.request(wire.bind_op(dns[0].decode(), PASSWORD))
            finally:
                user_conn.close()
            return None if code == 0 else f"bind: result code {code}"

        return one

    return [worker(c) for c in conns for _ in range(plan.depth)], conns


SCENARIOS: dict[str, tuple[Scenario, int | None]] = {
    # name: (scenario, requests in flight per connection if not --depth)
    "search": (search_scenario, None),
    # The same searches one at a time per connection: latency without pipelining's queueing.
    "search1": (search_scenario, 1),
    "groups": (group_scenario, None),
    "bind": (bind_scenario, 1),
    "login": (login_scenario, None),
}


async def discover_dn_template(target: Target) -> None:
    """Learn how the server spells a user's DN from a search, as an application would."""
    probe = BenchUser(0)
    conn = await connect(target.port, target.service)
    try:
        code, dns = await conn.request(user_search(probe))
    finally:
        conn.close()
    if code != 0 or len(dns) != 1:
        raise LdapError(
            f"{target.name}: searching {probe.username} gave {code}, {len(dns)} entries"
        )
    dn = dns[0].decode()
    if probe.username not in dn:
        raise LdapError(f"{target.name}: user DN {dn!r} does not name {probe.username}")
    target.dn_template = dn.replace(probe.username, "{}")


async def run_scenario(target: Target, plan: Plan, name: str) -> Outcome:
    count = plan.counts[name]
    scenario, depth = SCENARIOS[name]
    if depth is not None:
        plan = replace(plan, depth=depth)
    outcome = Outcome(name, count)
    try:
        # Warm up on the measured users (a repeat bind is measured in its steady state), except
        # for logins: each measured login must be a user whose password was never checked yet.
        warm = Outcome(name, max(plan.connections * plan.depth, count // 10))
        workers, conns = await scenario(target, plan, count if name == "login" else 0)
        try:
            await drive(warm, workers, time.monotonic() + SCENARIO_TIMEOUT)
        finally:
            for c in conns:
                c.close()
        workers, conns = await scenario(target, plan, 0)
        try:
            cpu = procstat.cpu_seconds(target.pid)
            client = time.process_time()
            await drive(outcome, workers, time.monotonic() + SCENARIO_TIMEOUT)
            outcome.client_cpu = time.process_time() - client
            outcome.server_cpu = procstat.cpu_seconds(target.pid) - cpu
            outcome.rss_mb = procstat.memory(target.memory_pid or target.pid).rss_mb
        finally:
            for c in conns:
                c.close()
        if warm.errors and not outcome.errors:
            outcome.errors, outcome.first_error = warm.errors, f"warm-up: {warm.first_error}"
    except (OSError, LdapError, TimeoutError) as exc:
        outcome.errors += 1
        outcome.first_error = outcome.first_error or f"aborted: {exc!r}"
        outcome.seconds = 0.0
    return outcome


@dataclass(frozen=True)
class Footprint:
    """Memory of the serving process (Keyhall's LDAP child) and of the server's whole tree."""

    server: procstat.Memory
    tree: procstat.Memory
    separate: bool

    @classmethod
    def of(cls, target: Target) -> Footprint:
        pid = target.memory_pid or target.pid
        return cls(procstat.memory(pid), procstat.memory(target.pid), pid != target.pid)


async def run_all(
    targets: Sequence[Target], plan: Plan
) -> tuple[dict[str, list[Outcome]], dict[str, Footprint]]:
    idle: dict[str, Footprint] = {}
    for target in targets:
        await discover_dn_template(target)
        idle[target.name] = Footprint.of(target)
    results: dict[str, list[Outcome]] = {t.name: [] for t in targets}
    for name in SCENARIOS:
        if not plan.counts.get(name):
            continue
        for target in targets:
            outcome = await run_scenario(target, plan, name)
            results[target.name].append(outcome)
            print(f"  {target.name:8} {line(outcome)}", flush=True)
    return results, idle


# -- reporting -----------------------------------------------------------------------------
HEADER = (
    f"{'scenario':8} {'ops':>6} {'ops/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'srv µs/op':>9} {'cli µs/op':>9} {'RSS MB':>6} errors"
)


def line(o: Outcome) -> str:
    per_op = 1e6 / o.count if o.count else 0.0
    errors = f"{o.errors} ({o.first_error})" if o.errors else "0"
    return (
        f"{o.name:8} {o.count:6d} {o.ops_per_second:8.0f} {o.percentile_ms(0.5):7.2f} "
        f"{o.percentile_ms(0.99):7.2f} {o.server_cpu * per_op:9.0f} {o.client_cpu * per_op:9.0f} "
        f"{o.rss_mb:6.0f} {errors}"
    )


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def report(
    results: dict[str, list[Outcome]],
    idle: dict[str, Footprint],
    memory: dict[str, Footprint],
    plan: Plan,
) -> tuple[list[str], dict[str, Any]]:
    lines: list[str] = []
    for name, outcomes in results.items():
        mem = memory[name]
        lines += [
            "",
            f"{name}: RSS {idle[name].server.rss_mb:.0f} MB loaded and idle, "
            f"{mem.server.rss_mb:.0f} MB after the run (peak {mem.server.peak_mb:.0f} MB)"
            + (" in the LDAP process" if mem.separate else ""),
        ]
        if mem.separate:
            lines.append(
                f"{' ' * len(name)}  whole process tree: {idle[name].tree.rss_mb:.0f} MB loaded "
                f"and idle, {mem.tree.rss_mb:.0f} MB after the run "
                f"(peak {mem.tree.peak_mb:.0f} MB); CPU columns count the whole tree"
            )
        lines.append(HEADER)
        lines += [line(o) for o in outcomes]
    verdicts: dict[str, Any] = {}
    if "slapd" in results and "keyhall" in results:
        lines += ["", "Keyhall / slapd:"]
        slapd = {o.name: o for o in results["slapd"]}
        for o in results["keyhall"]:
            base = slapd.get(o.name)
            if base is None or not base.ops_per_second or o.errors or base.errors:
                lines.append(f"  {o.name:8} no ratio (errors or no run)")
                continue
            ratio = o.ops_per_second / base.ops_per_second
            target = RATIO_TARGETS.get(o.name)
            p99 = o.percentile_ms(0.99)
            verdict = "" if target is None else ("met" if ratio >= target else "MISSED")
            lines.append(
                f"  {o.name:8} throughput {ratio:5.2f}x"
                + (f" (target >= {target}x: {verdict})" if target else " (no target)")
                + f"; p99 {p99:.2f} ms vs slapd {base.percentile_ms(0.99):.2f} ms"
                + (f" (target < {P99_TARGET_MS} ms: {'met' if p99 < P99_TARGET_MS else 'MISSED'})")
            )
            verdicts[o.name] = {"ratio": ratio, "target": target, "p99_ms": p99}
        for when, sample in (("loaded", idle), ("after run", memory)):
            rss = sample["keyhall"].server.rss_mb
            verdict = "met" if rss < MEMORY_TARGET_MB else "MISSED"
            lines.append(
                f"  memory   {when}: Keyhall RSS {rss:.0f} MB"
                + (" (LDAP process)" if sample["keyhall"].separate else "")
                + f" vs slapd {sample['slapd'].server.rss_mb:.0f} MB"
                f" (target < {MEMORY_TARGET_MB:.0f} MB: {verdict})"
            )
    data = {
        "plan": {
            "users": plan.dataset.user_count,
            "groups": plan.dataset.group_count,
            "connections": plan.connections,
            "depth": plan.depth,
            "counts": plan.counts,
        },
        "servers": {
            name: {
                "idle_rss_mb": idle[name].server.rss_mb,
                "rss_mb": memory[name].server.rss_mb,
                "peak_rss_mb": memory[name].server.peak_mb,
                "tree_idle_rss_mb": idle[name].tree.rss_mb,
                "tree_rss_mb": memory[name].tree.rss_mb,
                "tree_peak_rss_mb": memory[name].tree.peak_mb,
                "scenarios": {
                    o.name: {
                        "ops": o.count,
                        "ops_per_s": o.ops_per_second,
                        "p50_ms": o.percentile_ms(0.5),
                        "p99_ms": o.percentile_ms(0.99),
                        "server_cpu_s_per_op": o.server_cpu / o.count,
                        "client_cpu_s_per_op": o.client_cpu / o.count,
                        "rss_mb_after": o.rss_mb,
                        "errors": o.errors,
                        "first_error": o.first_error,
                    }
                    for o in outcomes
                },
            }
            for name, outcomes in results.items()
        },
        "ratios": verdicts,
    }
    return lines, data


# -- set-up --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ldap", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--servers", default="slapd,keyhall", help="comma-separated subset")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--depth", type=int, default=4, help="requests in flight per connection")
    parser.add_argument("--searches", type=int, default=20_000)
    parser.add_argument("--binds", type=int, default=10_000)
    parser.add_argument("--logins", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="a tenth of the operations")
    parser.add_argument("--json", type=Path, help="JSON results (default bench/results/...)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    scale = 10 if args.quick else 1
    dataset = Dataset(args.users, args.groups)
    counts = {
        "search": args.searches // scale,
        "search1": args.searches // 2 // scale,
        "groups": args.searches // scale,
        "bind": args.binds // scale,
        # Each login is a different user, and the warm-up uses others: keep within the directory.
        "login": min(args.logins // scale, dataset.user_count * 10 // 11),
    }
    plan = Plan(dataset, counts, args.connections, args.depth)
    servers = args.servers.split(",")
    # SIGTERM unwinds like Ctrl-C, so the `finally` below stops every server it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started: list[ldap_slapd.Slapd | ldap_keyhall.Keyhall] = []
    broken = False
    with tempfile.TemporaryDirectory(prefix="keyhall-ldap-bench-") as tmp:
        try:
            targets: list[Target] = []
            print(f"load average before: {loadavg()} (2 shared cores)", flush=True)
            if "slapd" in servers:
                t0 = time.monotonic()
                slapd = ldap_slapd.start(Path(tmp) / "slapd", free_port(), dataset)
                started.append(slapd)
                print(f"slapd loaded with ldapadd in {time.monotonic() - t0:.1f} s", flush=True)
                service = (SERVICE_DN, ldap_slapd.SERVICE_PASSWORD)
                targets.append(Target("slapd", slapd.port, slapd.pid, service))
            if "keyhall" in servers:
                t0 = time.monotonic()
                try:
                    keyhall = ldap_keyhall.start(
                        Path(tmp) / "keyhall" / "data", free_port(), free_port(), dataset
                    )
                    started.append(keyhall)
                    service = keyhall.service_account()
                except (OSError, RuntimeError, ValueError, KeyError, SubprocessError) as exc:
                    # Still measure the peer; the exit status reports the failure.
                    print(f"Keyhall could not be benchmarked: {exc!r}", flush=True)
                    broken = True
                else:
                    print(f"keyhall seeded and serving in {time.monotonic() - t0:.1f} s")
                    targets.append(
                        Target(
                            "keyhall",
                            keyhall.port,
                            keyhall.pid,
                            service,
                            memory_pid=keyhall.ldap_pid,
                        )
                    )
            print(
                f"{dataset.user_count} users, {dataset.group_count} groups; "
                f"{plan.connections} connections, {plan.depth} searches in flight per connection",
                flush=True,
            )
            results, idle = asyncio.run(run_all(targets, plan))
            memory = {t.name: Footprint.of(t) for t in targets}
        finally:
            for server in started:
                server.stop()
    lines, data = report(results, idle, memory, plan)
    lines.append(f"\nload average after: {loadavg()}")
    print("\n".join(lines))
    output = args.json or RESULTS_DIR / time.strftime("ldap-%Y%m%d-%H%M%S.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=2))
    print(f"results written to {output}")
    failed = broken or any(o.errors for outcomes in results.values() for o in outcomes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
