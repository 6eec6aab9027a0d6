"""OIDC throughput, side by side: Keyhall against node-oidc-provider (issue 3).

Both servers are started here, on loopback, with the same client (confidential,
client_secret_basic, one exact redirect URI), PKCE S256, RS256 ID tokens and opaque access
tokens. Each of `--clients` virtual clients logs in once (its own cookie jar holds the SSO
session), then three scenarios run for `--duration` seconds each (or `--max-ops` operations):

- `auth_code`: a full authorization-code + PKCE flow for the logged-in session
  (GET authorization endpoint -> redirect with a code -> POST token endpoint);
- `refresh`: a refresh-token grant;
- `userinfo`: a userinfo GET with the bearer access token.

One load generator (asyncio + aiohttp, one keep-alive connection per virtual client) drives
both servers, so its cost is the same on each side. Reported per server and scenario:
operations/s, p50/p99 latency, the server's CPU seconds per operation (its process and
children, from /proc), and Keyhall/node ratios. Results also go to bench/results/oidc-*.json.

    .venv/bin/python -m bench.oidc [--duration 10] [--clients 8] [--only keyhall|node]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.oidc_rp import Client, authorize, exchange, prepare, token
from bench.oidc_servers import (
    USERNAME,
    BenchError,
    Server,
    peer_version,
    start_keyhall,
    start_node_peer,
)
from bench.procstat import cpu_seconds, memory

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCENARIOS = ("auth_code", "refresh", "userinfo")


# -- scenarios ---------------------------------------------------------------------------
async def op_auth_code(server: Server, c: Client) -> None:
    code, verifier, _ = await authorize(server, c)
    await exchange(server, c, code, verifier)


async def op_refresh(server: Server, c: Client) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": c.refresh_token}
    tokens = await token(server, c, form)
    # A rotating server hands out the next refresh token; the old one is then spent.
    c.refresh_token = tokens.get("refresh_token", c.refresh_token)


async def op_userinfo(server: Server, c: Client) -> None:
    headers = {"Authorization": f"Bearer {c.access_token}"}
    async with c.http.get(server.endpoints["userinfo"], headers=headers) as r:
        body = await r.read()
        if r.status != 200:
            raise BenchError(f"{server.name}: userinfo -> {r.status}: {body!r}")
    if json.loads(body).get("sub") != USERNAME:
        raise BenchError(f"{server.name}: userinfo for the wrong subject: {body!r}")


OPERATIONS: dict[str, Callable[[Server, Client], Awaitable[None]]] = {
    "auth_code": op_auth_code,
    "refresh": op_refresh,
    "userinfo": op_userinfo,
}


@dataclass
class Result:
    ops: int
    errors: int
    seconds: float
    ops_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms_per_op: float
    client_cpu_ms_per_op: float
    requests_per_op: float
    server_rss_mb: float
    first_error: str = ""


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


async def run_scenario(
    server: Server, clients: list[Client], name: str, duration: float, max_ops: int, warmup: float
) -> Result:
    op = OPERATIONS[name]
    latencies: list[float] = []
    errors: list[str] = []
    started = [0]

    async def worker(c: Client, deadline: float, measure: bool) -> None:
        while time.perf_counter() < deadline and started[0] < max_ops and len(errors) < 50:
            if measure:
                started[0] += 1
            t = time.perf_counter()
            try:
                await op(server, c)
            except (BenchError, aiohttp.ClientError, json.JSONDecodeError) as exc:
                errors.append(str(exc))
                continue
            if measure:
                latencies.append(time.perf_counter() - t)

    # Warm-up: first requests fill caches and pools on both sides; not counted.
    await asyncio.gather(*(worker(c, time.perf_counter() + warmup, False) for c in clients))
    if errors:
        raise BenchError(f"{server.name} {name} failed during warm-up: {errors[0]}")
    hops_before = sum(c.hops for c in clients)
    server_cpu, client_cpu = cpu_seconds(server.proc.pid), time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c, t0 + duration, True) for c in clients))
    seconds = time.perf_counter() - t0
    server_cpu = cpu_seconds(server.proc.pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    ops = len(latencies)
    per_op = max(ops, 1)
    hops = sum(c.hops for c in clients) - hops_before
    requests = {"auth_code": hops / per_op + 1}.get(name, 1.0)
    latencies.sort()
    return Result(
        ops=ops,
        errors=len(errors),
        seconds=round(seconds, 3),
        ops_per_s=round(ops / seconds, 1),
        p50_ms=round(percentile(latencies, 0.50) * 1000, 2),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 2),
        max_ms=round(latencies[-1] * 1000 if latencies else float("nan"), 2),
        server_cpu_ms_per_op=round(server_cpu * 1000 / per_op, 3),
        client_cpu_ms_per_op=round(client_cpu * 1000 / per_op, 3),
        requests_per_op=round(requests, 2),
        server_rss_mb=round(memory(server.proc.pid).rss_mb, 1),
        first_error=errors[0] if errors else "",
    )


# -- the run -----------------------------------------------------------------------------
STARTERS: dict[str, Callable[[Path], Server]] = {"node": start_node_peer, "keyhall": start_keyhall}


async def measure(servers: list[Server], args: argparse.Namespace) -> dict[str, Any]:
    prepared: dict[str, list[Client]] = {}
    report: dict[str, Any] = {"servers": {}, "results": {s: {} for s in args.scenarios}}
    try:
        for server in servers:
            prepared[server.name], checked = await prepare(server, args.clients)
            report["servers"][server.name] = {**checked, "endpoints": server.endpoints}
        runs: dict[str, dict[str, list[Result]]] = {s: {} for s in args.scenarios}
        for r in range(args.rounds):
            for i, scenario in enumerate(args.scenarios):
                # Alternate who goes first, so neither side always runs on a warmer machine.
                for server in servers[:: 1 if (i + r) % 2 == 0 else -1]:
                    print(f"  {scenario:<10} {server.name:<8} ...", end="", flush=True)
                    result = await run_scenario(
                        server, prepared[server.name], scenario, args.duration, args.max_ops,
                        args.warmup,
                    )  # fmt: skip
                    runs[scenario].setdefault(server.name, []).append(result)
                    line = f" {result.ops_per_s:>8.1f} ops/s  p99 {result.p99_ms:.1f} ms"
                    print(line, flush=True)
        for scenario, by_server in runs.items():
            for name, results in by_server.items():
                # On a shared machine one round can be unlucky: report the median round.
                middle = sorted(results, key=lambda x: x.ops_per_s)[(len(results) - 1) // 2]
                report["results"][scenario][name] = asdict(middle)
                if len(results) > 1:
                    report.setdefault("rounds", {}).setdefault(scenario, {})[name] = [
                        asdict(x) for x in results
                    ]
    finally:
        for clients in prepared.values():
            for c in clients:
                await c.http.close()
    return report


def ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    out = {}
    for scenario, by_server in results.items():
        k, n = by_server.get("keyhall"), by_server.get("node")
        if k and n and n["ops_per_s"] and k["server_cpu_ms_per_op"]:
            out[scenario] = {
                "throughput": round(k["ops_per_s"] / n["ops_per_s"], 2),
                "server_cpu_per_op": round(
                    k["server_cpu_ms_per_op"] / max(n["server_cpu_ms_per_op"], 1e-9), 2
                ),
            }
    return out


def print_table(report: dict[str, Any], clients: int) -> None:
    print()
    for name, info in report["servers"].items():
        print(f"{name}: ID token {info['id_token_alg']}, {info['access_token_format']} access "
              f"token, refresh token {info['refresh_token']}, scope {info['scope']!r}")  # fmt: skip
    head = f"{'scenario':<10} {'server':<8} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
    head += f"{'srv CPU ms/op':>14} {'gen CPU ms/op':>14} {'req/op':>7} {'RSS MB':>7} {'errors':>7}"
    print(f"\n{head}")
    for scenario, by_server in report["results"].items():
        for name, r in by_server.items():
            print(
                f"{scenario:<10} {name:<8} {r['ops_per_s']:>9.1f} {r['p50_ms']:>8.2f} "
                f"{r['p99_ms']:>8.2f} {r['server_cpu_ms_per_op']:>14.3f} "
                f"{r['client_cpu_ms_per_op']:>14.3f} {r['requests_per_op']:>7.2f} "
                f"{r['server_rss_mb']:>7.1f} {r['errors']:>7}"
            )
            if r["first_error"]:
                print(f"    first error: {r['first_error'][:300]}")
    if report["ratios"]:
        print(f"\nKeyhall / node-oidc-provider ({clients} concurrent clients; target ≥ 1.00, "
              "Keyhall p99 < 50 ms):")  # fmt: skip
    for scenario, ratio in report["ratios"].items():
        p99 = report["results"][scenario]["keyhall"]["p99_ms"]
        ok = ratio["throughput"] >= 1.0 and p99 < 50
        print(
            f"  {scenario:<10} throughput ×{ratio['throughput']:.2f}  "
            f"server CPU/op ×{ratio['server_cpu_per_op']:.2f}  Keyhall p99 {p99:.1f} ms  "
            f"{'meets target' if ok else 'BELOW TARGET'}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=8, help="concurrent virtual clients")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before")
    parser.add_argument("--max-ops", type=int, default=100_000, help="cap per scenario")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every scenario; report the median round"
    )
    parser.add_argument("--only", choices=sorted(STARTERS), help="run one server only")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--output", type=Path, help="JSON file (default bench/results/...)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [args.only] if args.only else ["node", "keyhall"]
    work = Path(tempfile.mkdtemp(prefix="keyhall-bench-oidc-"))
    servers: list[Server] = []
    load_before = os.getloadavg()
    try:
        for name in names:
            servers.append(STARTERS[name](work))
            print(f"started {name}, pid {servers[-1].proc.pid}", flush=True)
        report = asyncio.run(measure(servers, args))
    except (BenchError, aiohttp.ClientError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        for log in sorted(work.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            print(f"--- {log.name} (last lines)\n" + "\n".join(tail), file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    report["ratios"] = ratios(report["results"])
    report["run"] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "clients": args.clients,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "load_generator": f"aiohttp {aiohttp.__version__}",
        "node_oidc_provider": peer_version(),
    }
    print_table(report, args.clients)
    print(f"\nload average before {report['run']['loadavg_before']}, "
          f"after {report['run']['loadavg_after']} on {os.cpu_count()} CPUs")  # fmt: skip
    output = args.output or RESULTS_DIR / f"oidc-{time.strftime('%Y%m%d-%H%M%S')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
